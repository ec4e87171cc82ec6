"""Pen paths traced from MNIST digits, for drawing them with a real mouse or finger.

The digit is thinned to a one-pixel skeleton (Zhang-Suen), the skeleton is walked into
polylines (from its end points first, then any loops), and the polylines are scaled to the
drawing pad. Drawn with the page's round pen, they give back the digit's shape.
"""

from __future__ import annotations

import numpy as np

NEIGHBOURS = [(-1, 0), (-1, 1), (0, 1), (1, 1), (1, 0), (1, -1), (0, -1), (-1, -1)]  # P2..P9


def thin(mask: np.ndarray) -> np.ndarray:
    """Zhang-Suen thinning of a boolean image to one-pixel-wide lines."""
    image = np.pad(mask.astype(np.uint8), 1)
    changed = True
    while changed:
        changed = False
        for step in (0, 1):
            remove = []
            for y, x in zip(*np.nonzero(image), strict=True):
                p = [image[y + dy, x + dx] for dy, dx in NEIGHBOURS]
                count = sum(p)
                transitions = sum(p[i] == 0 and p[(i + 1) % 8] == 1 for i in range(8))
                if step == 0:
                    ok = p[0] * p[2] * p[4] == 0 and p[2] * p[4] * p[6] == 0
                else:
                    ok = p[0] * p[2] * p[6] == 0 and p[0] * p[4] * p[6] == 0
                if 2 <= count <= 6 and transitions == 1 and ok:
                    remove.append((y, x))
            for y, x in remove:
                image[y, x] = 0
            changed = changed or bool(remove)
    return image[1:-1, 1:-1].astype(bool)


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
    skeleton = thin(image > 100)
    paths = trace(skeleton)
    rows, cols = np.nonzero(skeleton)
    height = rows.max() - rows.min() + 1
    left, top, width, box_height = box
    scale = 0.7 * box_height / height
    centre_y = (rows.max() + rows.min()) / 2
    centre_x = (cols.max() + cols.min()) / 2
    return [[(left + width / 2 + (x - centre_x) * scale,
              top + box_height / 2 + (y - centre_y) * scale) for y, x in path] for path in paths]
