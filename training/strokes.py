"""Pen paths traced from MNIST digits, for drawing them with a real mouse or finger.

The digit is thinned to a one-pixel skeleton (Zhang-Suen), the skeleton is walked into
polylines (from its end points first, then any loops), and the polylines are scaled to the
drawing pad. Drawn with the page's round pen, they give back the digit's shape.
"""

from __future__ import annotations

import numpy as np

INK_THRESHOLD = 100  # of 255: the pixels a pen would have covered
NEIGHBOURS = [(-1, 0), (-1, 1), (0, 1), (1, 1), (1, 0), (1, -1), (0, -1), (-1, -1)]  # P2..P9


def thin_batch(masks: np.ndarray) -> np.ndarray:
    """Zhang-Suen thinning of boolean images (N, H, W) to one-pixel-wide lines.

    Each sub-iteration decides every pixel from the image as it was before it (the algorithm's
    parallel form), so whole batches step together in numpy: training traces thousands of
    digits, which a per-pixel loop would take minutes for.
    """
    image = np.pad(masks.astype(np.uint8), ((0, 0), (1, 1), (1, 1)))
    height, width = masks.shape[1:]

    def neighbour(dy: int, dx: int) -> np.ndarray:
        return image[:, 1 + dy : 1 + dy + height, 1 + dx : 1 + dx + width]

    while True:
        changed = False
        for step in (0, 1):
            p = [neighbour(dy, dx) for dy, dx in NEIGHBOURS]
            count = sum(q.astype(np.int16) for q in p)
            transitions = sum(((p[i] == 0) & (p[(i + 1) % 8] == 1)).astype(np.int16)
                              for i in range(8))
            if step == 0:
                ok = (p[0] * p[2] * p[4] == 0) & (p[2] * p[4] * p[6] == 0)
            else:
                ok = (p[0] * p[2] * p[6] == 0) & (p[0] * p[4] * p[6] == 0)
            centre = image[:, 1:-1, 1:-1]
            remove = (centre == 1) & (count >= 2) & (count <= 6) & (transitions == 1) & ok
            if remove.any():
                centre[remove] = 0
                changed = True
        if not changed:
            return image[:, 1:-1, 1:-1].astype(bool)


def thin(mask: np.ndarray) -> np.ndarray:
    """Zhang-Suen thinning of one boolean image."""
    return thin_batch(mask[np.newaxis])[0]


def trace(skeleton: np.ndarray) -> list[list[tuple[int, int]]]:
    """Walk a skeleton into polylines of (row, col) points."""
    remaining = {(int(y), int(x)) for y, x in zip(*np.nonzero(skeleton), strict=True)}

    def neighbours(point):
        y, x = point
        return [(y + dy, x + dx) for dy, dx in NEIGHBOURS if (y + dy, x + dx) in remaining]

    paths = []
    while remaining:
        ends = [p for p in remaining if len(neighbours(p)) == 1]
        start = min(ends) if ends else min(remaining)
        path = [start]
        remaining.discard(start)
        while True:
            options = neighbours(path[-1])
            if not options:
                break
            # Prefer 4-neighbours (straight steps) so the walk does not skip a corner.
            options.sort(key=lambda q: abs(q[0] - path[-1][0]) + abs(q[1] - path[-1][1]))
            path.append(options[0])
            remaining.discard(options[0])
        if len(path) >= 2:
            paths.append(path)
    return paths


def digit_strokes(image: np.ndarray, box: tuple[float, float, float, float]
                  ) -> list[list[tuple[float, float]]]:
    """Strokes (in page coordinates) that draw the 28x28 ``image`` inside ``box``.

    box = (left, top, width, height) of the area to draw in; the digit keeps its aspect ratio
    and fills 70% of the box's height.
    """
    return skeleton_strokes(thin(image > INK_THRESHOLD), box)


def skeleton_strokes(skeleton: np.ndarray, box: tuple[float, float, float, float]
                     ) -> list[list[tuple[float, float]]]:
    """digit_strokes for an already thinned digit (thin_batch)."""
    paths = trace(skeleton)
    rows, cols = np.nonzero(skeleton)
    height = rows.max() - rows.min() + 1
    left, top, width, box_height = box
    scale = 0.7 * box_height / height
    centre_y = (rows.max() + rows.min()) / 2
    centre_x = (cols.max() + cols.min()) / 2
    return [[(left + width / 2 + (x - centre_x) * scale,
              top + box_height / 2 + (y - centre_y) * scale) for y, x in path] for path in paths]
