"""Splitting a drawing of several digits (a ZIP code) into one ink image per digit, left to right.

Strokes are found as 8-connected components of the ink. One digit may be several strokes (the
bar of a 5, the two strokes of a 4 or of a crossed 7): components whose horizontal extents
overlap by at least half of the narrower one are taken as one digit. Specks far smaller than
the digits around them are dropped as noise.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

MERGE_OVERLAP = 0.5  # fraction of the narrower extent that two strokes of one digit share
SPECK_FRACTION = 0.02  # ink mass below this share of the largest digit's is noise


@dataclass(frozen=True)
class Segment:
    box: tuple[int, int, int, int]  # x, y, width, height in the drawing's pixels
    ink: np.ndarray  # the digit's ink alone, cropped to box


def label_components(mask: np.ndarray) -> tuple[np.ndarray, int]:
    """8-connected components of a boolean mask -> (int32 labels, 0 = background; count).

    Works on horizontal runs with a union-find, so the cost follows the number of stroke
    runs rather than pixels (a few thousand for a canvas drawing). This keeps OpenCV/SciPy,
    and a hundred-odd MB, out of the serving image.
    """
    height, width = mask.shape
    padded = np.zeros((height, width + 2), dtype=np.int8)
    padded[:, 1:-1] = mask
    edges = np.diff(padded, axis=1)
    start_rows, starts = np.nonzero(edges == 1)
    _, ends = np.nonzero(edges == -1)  # exclusive; same row order as starts
    parent = list(range(len(starts)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    row_first = np.searchsorted(start_rows, np.arange(height + 1))
    for row in range(1, height):
        above = range(row_first[row - 1], row_first[row])
        j = above.start
        for i in range(row_first[row], row_first[row + 1]):
            # Skip runs above that end before this run's diagonal neighbourhood begins.
            while j < above.stop and ends[j] < starts[i]:
                j += 1
            k = j
            while k < above.stop and starts[k] <= ends[i]:
                root_i, root_k = find(i), find(k)
                if root_i != root_k:
                    parent[root_k] = root_i
                k += 1
    roots = np.array([find(i) for i in range(len(starts))], dtype=np.int64)
    _, run_labels = np.unique(roots, return_inverse=True)
    labels = np.zeros((height, width), dtype=np.int32)
    for row, start, end, label in zip(start_rows, starts, ends, run_labels, strict=True):
        labels[row, start:end] = label + 1
    return labels, int(run_labels.max() + 1) if len(starts) else 0


def _overlap(a: tuple[int, int], b: tuple[int, int]) -> float:
    shared = min(a[1], b[1]) - max(a[0], b[0])
    narrower = min(a[1] - a[0], b[1] - b[0])
    return shared / narrower if narrower > 0 else 0.0


def segment_digits(ink: np.ndarray) -> list[Segment]:
    """Ink (H, W) in 0..1 -> one Segment per digit, left to right (empty if no ink)."""
    labels, count = label_components(ink > 0)
    if count == 0:
        return []
    component_ids = np.arange(1, count + 1)
    columns = np.arange(ink.shape[1])
    extents = []
    for label in component_ids:
        cols = columns[(labels == label).any(axis=0)]
        extents.append((int(cols[0]), int(cols[-1]) + 1))

    groups: list[dict] = []
    for label in sorted(component_ids, key=lambda lab: extents[lab - 1][0]):
        extent = extents[label - 1]
        target = next(
            (g for g in reversed(groups) if _overlap(g["extent"], extent) >= MERGE_OVERLAP), None)
        if target is None:
            groups.append({"labels": [label], "extent": extent})
        else:
            target["labels"].append(label)
            target["extent"] = (min(target["extent"][0], extent[0]),
                                max(target["extent"][1], extent[1]))

    segments, masses = [], []
    for group in groups:
        member = np.isin(labels, group["labels"])
        rows = np.flatnonzero(member.any(axis=1))
        cols = np.flatnonzero(member.any(axis=0))
        y0, y1, x0, x1 = rows[0], rows[-1] + 1, cols[0], cols[-1] + 1
        digit_ink = np.where(member, ink, 0.0)[y0:y1, x0:x1]
        segments.append(Segment((int(x0), int(y0), int(x1 - x0), int(y1 - y0)), digit_ink))
        masses.append(float(digit_ink.sum()))
    largest = max(masses)
    kept = [s for s, m in zip(segments, masses, strict=True) if m >= SPECK_FRACTION * largest]
    return sorted(kept, key=lambda s: s.box[0])
