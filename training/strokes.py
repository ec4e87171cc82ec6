"""Pen paths traced from MNIST digits, for drawing them with a real mouse or finger.

The digit is enlarged UPSCALE times (a smooth interpolation, so that the ink's outline is no
longer a staircase of 28 px squares) and cut out at the ink level that keeps its pieces and
loops (ink_mask), with loops a bold pen filled in opened again (told which digit it is, the
tracer knows how many loops its writer drew, LOOPS); the mask is thinned to a one-pixel
skeleton (Zhang-Suen, scikit-image's skeletonize), whose ends are put right (clean_ends: spurs
off, each end drawn out to where the ink ends); the skeleton is walked into polylines (from its
end points first, then any loops), simplified and scaled to the drawing pad. Drawn with the
page's round pen, they give back the digit's shape. Thinned at 28 px, as first done here, a
bold stroke's skeleton bends away from the stroke and loses its ends: a bold 2 came out without
its base, a 9 without its loop.
"""

from __future__ import annotations

import cv2
import numpy as np
from skimage.morphology import skeletonize

# Of 255: ink levels tried per digit. The lowest keep a faint 1 px diagonal stroke in one
# piece once the enlargement has spread it.
THRESHOLDS = (10, 20, 40, 60, 80, 100, 130, 160, 190, 220)
MIN_AREA = 1.0  # in 28 px units: smaller pieces of ink or of paper are noise
# Ink deeper than this many stroke half-widths is a filled-in loop (open_filled_loops); the
# corner or junction of strokes reaches about 2.5.
FILLED_LOOP = 3.0
MAX_LOOPS = 2  # no digit has more (an 8): more holes than that are gaps in a scan, not loops
# The loops a writer's pen draws in each digit, where every hand agrees (a 2 or a 4 may have
# one or none). Used only to choose among the ink levels the scan offers and to open a blob
# the scan filled in (open_blobs), never to add a loop where the ink has no room for one.
LOOPS = {0: 1, 1: 0, 3: 0, 5: 0, 6: 1, 7: 0, 8: 2, 9: 1}
# A 2 or a 4 is drawn with a loop or without (a closed 4, a 2 curled at its base): the tracer
# draws the loops its scan shows at half ink. The faint ink a low level adds closes the narrow
# gap at the top of many a 4, which then reads as a 9.
EITHER_LOOPS = (2, 4)
HALF_INK = 128
# Ink deeper than this many stroke half-widths is a blob a digit's loop fills (open_blobs): a
# pen around its edge leaves a hole as wide as the rest of the digit's strokes. Where strokes
# cross or turn, ink reaches about 1.1 (a corner) and 1.4 (a cross), but up to 2.5 where a
# scan's ink pools, so this is used only where the digit is known to have a loop it lacks.
BLOB = 2.0
UPSCALE = 4  # skeletons are traced on 112x112 enlargements of the 28x28 digits
MIN_PIXELS = MIN_AREA * UPSCALE * UPSCALE  # MIN_AREA at the traced size
# Side branches reaching less far than this many stroke half-widths are artefacts of thinning,
# not strokes (clean_ends).
SPUR_REACH = 1.5
SIMPLIFY = 0.2  # in 28 px units: how far a simplified path may stray from the skeleton
NEIGHBOURS = [(-1, 0), (-1, 1), (0, 1), (1, 1), (1, 0), (1, -1), (0, -1), (-1, -1)]

Path = list[tuple[int, int]]


def thin(mask: np.ndarray) -> np.ndarray:
    """A boolean ink mask thinned to one-pixel-wide lines."""
    return skeletonize(mask)


def _piece_areas(mask: np.ndarray) -> np.ndarray:
    """The pixel areas of a boolean mask's 8-connected pieces of ink, specks included."""
    stats = cv2.connectedComponentsWithStats(mask.astype(np.uint8), connectivity=8)[2]
    return stats[1:, cv2.CC_STAT_AREA]


def holes(mask: np.ndarray) -> int:
    """How many loops a boolean ink mask closes, ignoring pinholes under MIN_AREA."""
    count, labels, stats, _ = cv2.connectedComponentsWithStats((~mask).astype(np.uint8),
                                                               connectivity=4)
    border = np.unique(np.concatenate([labels[0], labels[-1], labels[:, 0], labels[:, -1]]))
    enclosed = np.setdiff1d(np.arange(1, count), border)
    return int(np.sum(stats[enclosed, cv2.CC_STAT_AREA] >= MIN_PIXELS))


def topology(mask: np.ndarray) -> tuple[int, int]:
    """(pieces, holes) of a boolean ink mask, ignoring specks and pinholes under MIN_AREA."""
    return int(np.sum(_piece_areas(mask) >= MIN_PIXELS)), holes(mask)


def fragments(mask: np.ndarray) -> int:
    """How many bits of ink a boolean mask is in, specks included: at an ink level that breaks
    a faint stroke, its bits under MIN_AREA are parts of the stroke, not noise."""
    return len(_piece_areas(mask))


def ink_mask(image: np.ndarray, label: int | None = None) -> np.ndarray:
    """uint8 (28, 28) digit -> boolean mask of its pen's path at UPSCALE times the size.

    One threshold does not fit every digit: at a low one a bold 8 or 6 has its loops filled in,
    at a high one a faint stroke breaks into dots. So each digit gets, of THRESHOLDS, one that
    leaves it in the fewest bits (fragments: a stroke broken into one piece and specks is
    broken), then with the most loops (up to MAX_LOOPS, or as many as the ``label``'s digit
    has, LOOPS, or as its scan shows at half ink, EITHER_LOOPS), then the highest: the
    thinnest outline that keeps the digit's shape, which is where a pen went. A loop the scan
    filled in solid at every threshold is opened again (open_filled_loops, and open_blobs for
    a digit with known loops).
    """
    size = (image.shape[1] * UPSCALE, image.shape[0] * UPSCALE)
    enlarged = cv2.resize(image, size, interpolation=cv2.INTER_CUBIC)
    most_loops = (min(holes(enlarged > HALF_INK), MAX_LOOPS) if label in EITHER_LOOPS
                  else LOOPS.get(label, MAX_LOOPS))
    best, best_key = np.zeros(enlarged.shape, bool), None  # no ink at any level: none
    for threshold in THRESHOLDS:
        mask = enlarged > threshold
        areas = _piece_areas(mask)  # one labelling gives the pieces and the fragments
        key = (-len(areas), min(holes(mask), most_loops), threshold)
        if np.any(areas >= MIN_PIXELS) and (best_key is None or key > best_key):
            best, best_key = mask, key
    best = open_filled_loops(best)
    return open_blobs(best, most_loops) if label in LOOPS else best


def _depth_and_half_width(mask: np.ndarray) -> tuple[np.ndarray, float]:
    """Each ink pixel's distance to the paper, and the stroke's half-width: the median depth
    along the ink's ridges (the pixels deepest among their neighbours), the middle of every
    stroke, where a blob's few centre pixels do not count. 0 without ink."""
    depth = cv2.distanceTransform(mask.astype(np.uint8), cv2.DIST_L2, 5)
    ridge = mask & (depth >= cv2.dilate(depth, np.ones((3, 3), np.uint8)))
    return depth, float(np.median(depth[ridge])) if ridge.any() else 0.0


def open_filled_loops(mask: np.ndarray) -> np.ndarray:
    """The mask with the core of every blob cut out: ink farther than FILLED_LOOP times the
    stroke's half-width from the paper is no stroke (a stroke is never that wide) but a loop a
    broad pen filled in, as in a bold 9 or 6. Cut out, it thins to the loop a visitor draws.
    """
    depth, half_width = _depth_and_half_width(mask)
    if not half_width:
        return mask
    return mask & ~(depth > FILLED_LOOP * half_width)


def open_blobs(mask: np.ndarray, loops: int) -> np.ndarray:
    """A digit known to have ``loops`` loops but with fewer holes gets its deepest blobs
    (ink deeper than BLOB stroke half-widths) hollowed out, one per missing loop, leaving a
    ring as wide as its strokes: a bold 9 or 8 whose loop the scan filled in, too shallow for
    open_filled_loops. A digit with no blob that deep keeps its shape."""
    depth, half_width = _depth_and_half_width(mask)
    if not half_width:
        return mask
    for _ in range(loops - holes(mask)):
        core = (depth > BLOB * half_width).astype(np.uint8)
        if not core.any():
            break
        _, labels = cv2.connectedComponents(core, connectivity=8)
        deepest = np.unravel_index(np.argmax(depth * core), depth.shape)
        mask = mask & (labels != labels[deepest])
        depth = cv2.distanceTransform(mask.astype(np.uint8), cv2.DIST_L2, 5)
    return mask


def skeleton(image: np.ndarray, label: int | None = None) -> np.ndarray:
    """uint8 (28, 28) digit (of ``label``, if known) -> its pen path at UPSCALE times the size:
    the ink mask thinned, with its ends put right (clean_ends)."""
    mask = ink_mask(image, label)
    return clean_ends(thin(mask), mask)


def _neighbours(point: tuple[int, int], pixels: set) -> list[tuple[int, int]]:
    y, x = point
    return [(y + dy, x + dx) for dy, dx in NEIGHBOURS if (y + dy, x + dx) in pixels]


def _walk(end: tuple[int, int], pixels: set, limit: int) -> tuple[list, tuple | None]:
    """From an end point along the line, up to ``limit`` pixels: (the pixels walked, the
    junction it stopped at, if any)."""
    walked, seen = [end], {end}
    while len(walked) < limit:
        onward = [q for q in _neighbours(walked[-1], pixels) if q not in seen]
        if len(onward) != 1:
            return walked, None
        if len(_neighbours(onward[0], pixels)) > 2:
            return walked, onward[0]
        walked.append(onward[0])
        seen.add(onward[0])
    return walked, None


def _reach(end: tuple[int, int], direction: np.ndarray, mask: np.ndarray) -> int:
    """How many pixels the ink goes on from ``end`` in ``direction``."""
    reach = 0
    while True:
        y, x = np.round(np.add(end, direction * (reach + 1))).astype(int)
        if not (0 <= y < mask.shape[0] and 0 <= x < mask.shape[1] and mask[y, x]):
            return reach
        reach += 1


def clean_ends(skeleton: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """The skeleton's ends put right: thinning eats every stroke's end by about half the
    stroke's width, so each end is drawn on, the way the line was heading, to where the ink
    ends; and it leaves spurs at a bold stroke's corners, so a side branch whose whole reach
    stays within SPUR_REACH times the stroke's half-width at its junction is removed."""
    pixels = {(int(y), int(x)) for y, x in zip(*np.nonzero(skeleton), strict=True)}
    radius = cv2.distanceTransform(mask.astype(np.uint8), cv2.DIST_L2, 5)
    extensions = []
    for end in [p for p in pixels if len(_neighbours(p, pixels)) == 1]:
        walked, junction = _walk(end, pixels, limit=len(pixels))
        heading = walked[min(len(walked), 2 * UPSCALE) - 1]
        direction = np.subtract(end, heading, dtype=np.float64)
        length = np.hypot(*direction)
        reach = _reach(end, direction / length, mask) if length else 0
        if junction is not None and len(walked) + reach <= SPUR_REACH * radius[junction]:
            pixels.difference_update(walked)
        elif reach:
            tip = np.round(np.add(end, direction / length * reach)).astype(int)
            extensions.append(((end[1], end[0]), (int(tip[1]), int(tip[0]))))
    out = np.zeros(skeleton.shape, np.uint8)
    for y, x in pixels:
        out[y, x] = 1
    for start, tip in extensions:
        cv2.line(out, start, tip, 1, 1, cv2.LINE_8)
    return out.astype(bool)


def trace(skeleton: np.ndarray) -> list[Path]:
    """Walk a skeleton into polylines of (row, col) points."""
    remaining = {(int(y), int(x)) for y, x in zip(*np.nonzero(skeleton), strict=True)}
    paths = []
    while remaining:
        ends = [p for p in remaining if len(_neighbours(p, remaining)) == 1]
        start = min(ends) if ends else min(remaining)
        path = [start]
        remaining.discard(start)
        while True:
            options = _neighbours(path[-1], remaining)
            if not options:
                break
            # Prefer 4-neighbours (straight steps) so the walk does not skip a corner.
            options.sort(key=lambda q: abs(q[0] - path[-1][0]) + abs(q[1] - path[-1][1]))
            path.append(options[0])
            remaining.discard(options[0])
        if len(path) >= 2:
            paths.append(path)
    return paths


def simplify(path: Path, tolerance: float) -> np.ndarray:
    """(N, 2) float (row, col) points of ``path`` with the staircase steps of the skeleton
    straightened (Douglas-Peucker: no point strays more than ``tolerance`` px)."""
    points = np.asarray(path, np.float32).reshape(-1, 1, 2)
    return cv2.approxPolyDP(points, tolerance, False).reshape(-1, 2).astype(np.float64)


def digit_strokes(image: np.ndarray, box: tuple[float, float, float, float],
                  label: int | None = None) -> list[list[tuple[float, float]]]:
    """Strokes (in page coordinates) that draw the 28x28 ``image`` (of the digit ``label``,
    if known) inside ``box``.

    box = (left, top, width, height) of the area to draw in; the digit keeps its aspect ratio
    and fills 70% of the box's height.
    """
    return skeleton_strokes(skeleton(image, label), box)


def skeleton_strokes(pen_path: np.ndarray, box: tuple[float, float, float, float]
                     ) -> list[list[tuple[float, float]]]:
    """digit_strokes for an already thinned digit (``skeleton``)."""
    paths = [simplify(line, SIMPLIFY * UPSCALE) for line in trace(pen_path)]
    rows, cols = np.nonzero(pen_path)
    height = rows.max() - rows.min() + 1
    left, top, width, box_height = box
    scale = 0.7 * box_height / height
    centre_y = (rows.max() + rows.min()) / 2
    centre_x = (cols.max() + cols.min()) / 2
    return [[(left + width / 2 + (x - centre_x) * scale,
              top + box_height / 2 + (y - centre_y) * scale) for y, x in path] for path in paths]
