"""Splitting a drawing of several digits (a ZIP code) into one ink image per digit, left to right.

Budget first: one O(pixels) pass of OpenCV's connected components (with their boxes and ink
mass), then specks are dropped, and a drawing with more marks than MAX_DIGITS digits can be
made of is refused before any per-mark work. Everything after that works on the marks'
boxes, never on the full image again, except one crop per digit.

Grouping, on the boxes alone:
- The reference height is the tallest mark's. Marks shorter than MINOR_HEIGHT of it (the bar
  of a 5, the cross of a 7, a dot) are parts: a part over a digit's columns joins that digit.
- Taller marks are digits, or strokes of one (the two halves of a 4): marks whose columns
  overlap by at least MERGE_OVERLAP of the narrower one are one digit.
- Parts over no digit's columns are gathered into clusters of neighbours. A cluster at least
  FLAT_HEIGHT of the reference high and MINOR_HEIGHT of it long is a digit of its own (a wide
  flat 5 or 2, a digit drawn in dots); a smaller one joins the nearest digit within NEAR_GAP,
  and farther away it is noise.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

SPECK_FRACTION = 0.03  # ink mass below this share of the largest mark's is noise
MINOR_HEIGHT = 0.45  # marks shorter than this share of the tallest are parts, not digits
MERGE_OVERLAP = 0.5  # fraction of the narrower extent that two strokes of one digit share
NEAR_GAP = 0.25  # how far (share of the tallest mark's height) a part may sit from its digit
FLAT_HEIGHT = 0.3  # a flat digit is at least this high (share of the tallest): a dash is not
CLUSTER_GAP = 0.1  # parts this close (share of the tallest) are pieces of one thing
STROKES_PER_DIGIT = 3  # the most separate marks one digit is written with


class TooManyMarks(ValueError):
    """More separate marks than the allowed number of digits can be written with."""

    def __init__(self, marks: int, max_digits: int) -> None:
        super().__init__(f"found {marks} separate marks; at most {max_digits} digits are read")
        self.marks = marks


@dataclass(frozen=True)
class Segment:
    box: tuple[int, int, int, int]  # x, y, width, height in the drawing's pixels
    ink: np.ndarray  # the digit's ink alone, cropped to box


@dataclass
class _Group:
    labels: list[int]
    left: int
    right: int  # exclusive
    top: int
    bottom: int  # exclusive

    @classmethod
    def of(cls, label: int, box: np.ndarray) -> _Group:
        """A group of one mark with its (x, y, w, h) box."""
        x, y, w, h = (int(v) for v in box)
        return cls([label], x, x + w, y, y + h)

    def add(self, label: int, box: np.ndarray) -> None:
        self.absorb(_Group.of(label, box))

    def absorb(self, other: _Group) -> None:
        self.labels += other.labels
        self.left, self.right = min(self.left, other.left), max(self.right, other.right)
        self.top, self.bottom = min(self.top, other.top), max(self.bottom, other.bottom)


def _overlap(a: tuple[int, int], b: tuple[int, int]) -> float:
    shared = min(a[1], b[1]) - max(a[0], b[0])
    narrower = min(a[1] - a[0], b[1] - b[0])
    return shared / narrower if narrower > 0 else 0.0


def _gap(a: tuple[int, int], b: tuple[int, int]) -> int:
    return max(a[0], b[0]) - min(a[1], b[1])  # < 0 when the extents overlap


def marks(ink: np.ndarray, max_digits: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The drawing's marks that are not specks: (labels image, kept label ids, their boxes).

    Raises TooManyMarks as soon as the count makes ``max_digits`` digits impossible.
    """
    mask = (ink > 0).astype(np.uint8)
    count, labels, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8,
                                                               ltype=cv2.CV_32S)
    if count <= 1:
        return labels, np.empty(0, np.int64), np.empty((0, 4), np.int32)
    mass = np.bincount(labels.ravel(), weights=ink.ravel(), minlength=count)[1:]
    kept = np.flatnonzero(mass >= SPECK_FRACTION * mass.max()) + 1
    if len(kept) > max_digits * STROKES_PER_DIGIT:
        raise TooManyMarks(len(kept), max_digits)
    return labels, kept, stats[kept, :4]


def _clusters(parts: list[int], boxes: np.ndarray, kept: np.ndarray, gap: float
              ) -> list[_Group]:
    """Parts (indices into boxes) gathered left to right into groups of neighbours whose
    columns lie within ``gap`` px of each other."""
    clusters: list[_Group] = []
    for i in sorted(parts, key=lambda i: int(boxes[i, 0])):
        if clusters and int(boxes[i, 0]) <= clusters[-1].right + gap:
            clusters[-1].add(int(kept[i]), boxes[i])
        else:
            clusters.append(_Group.of(int(kept[i]), boxes[i]))
    return clusters


def group_marks(kept: np.ndarray, boxes: np.ndarray) -> list[_Group]:
    """Marks (label ids and x, y, w, h boxes) -> digits, left to right (see the module doc)."""
    reference = int(boxes[:, 3].max())
    is_part = boxes[:, 3] < MINOR_HEIGHT * reference
    digits: list[_Group] = []
    for i in np.argsort(boxes[:, 0], kind="stable"):
        if is_part[i]:
            continue
        x, _, w, _ = (int(v) for v in boxes[i])
        target = next((g for g in reversed(digits)
                       if _overlap((g.left, g.right), (x, x + w)) >= MERGE_OVERLAP), None)
        if target is None:
            digits.append(_Group.of(int(kept[i]), boxes[i]))
        else:
            target.add(int(kept[i]), boxes[i])

    def nearest(extent: tuple[int, int]) -> tuple[_Group | None, int]:
        best = min(digits, key=lambda g: (_gap((g.left, g.right), extent),
                                          -_overlap((g.left, g.right), extent)), default=None)
        return best, (_gap((best.left, best.right), extent) if best else 0)

    loose = []
    for i in np.flatnonzero(is_part):
        x, _, w, _ = (int(v) for v in boxes[i])
        best, gap = nearest((x, x + w))
        if best is not None and gap < 0:  # over the digit's columns
            best.add(int(kept[i]), boxes[i])
        else:
            loose.append(int(i))
    found = []
    for cluster in _clusters(loose, boxes, kept, CLUSTER_GAP * reference):
        height, width = cluster.bottom - cluster.top, cluster.right - cluster.left
        if height >= FLAT_HEIGHT * reference and max(height, width) >= MINOR_HEIGHT * reference:
            found.append(cluster)
            continue
        best, gap = nearest((cluster.left, cluster.right))
        if best is not None and gap <= NEAR_GAP * reference:
            best.absorb(cluster)
    return sorted(digits + found, key=lambda g: g.left)


def segment_digits(ink: np.ndarray, max_digits: int) -> list[Segment]:
    """Ink (H, W) in 0..1 -> one Segment per digit, left to right (empty if no ink).

    Raises TooManyMarks when the drawing has more marks than ``max_digits`` digits.
    """
    labels, kept, boxes = marks(ink, max_digits)
    if len(kept) == 0:
        return []
    segments = []
    for group in group_marks(kept, boxes):
        window = (slice(group.top, group.bottom), slice(group.left, group.right))
        member = np.isin(labels[window], group.labels)
        segments.append(Segment(
            (group.left, group.top, group.right - group.left, group.bottom - group.top),
            np.where(member, ink[window], np.float32(0))))
    return segments
