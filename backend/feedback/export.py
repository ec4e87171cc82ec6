"""Corrections -> an npz with MNIST's four arrays plus provenance, for the next training run.

    x_train, y_train    corrections to learn from (uint8 28x28, labels 0-9)
    x_test, y_test      corrections held out: the next model is scored on them, never taught
    ids_*, versions_*, predicted_* (-1: read as not a digit), created_* (ISO 8601, UTC), source

Which side a correction lands on depends on its id alone, so a held-out correction stays
held out in every later export (no leak from one training run to the next).
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from backend.feedback.records import FRAME, Correction

NOT_A_DIGIT = -1


def held_out(correction_id: str, fraction: float) -> bool:
    digest = hashlib.sha256(correction_id.encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 < fraction


def export_npz(corrections: list[Correction], path: Path, holdout: float = 0.2) -> dict:
    """Write the npz; returns the counts per side."""
    if not 0.0 <= holdout < 1.0:
        raise ValueError(f"holdout must be in [0, 1), got {holdout}")
    sides = {"train": [], "test": []}
    for correction in corrections:
        sides["test" if held_out(correction.id, holdout) else "train"].append(correction)
    arrays = {"source": np.array(f"mnist-webapp feedback export "
                                 f"{datetime.now(UTC).isoformat(timespec='seconds')}")}
    for side, items in sides.items():
        arrays[f"x_{side}"] = (np.stack([c.pixels for c in items]) if items
                               else np.zeros((0, FRAME, FRAME), np.uint8))
        arrays[f"y_{side}"] = np.array([c.corrected for c in items], dtype=np.uint8)
        arrays[f"ids_{side}"] = np.array([c.id for c in items], dtype="U36")
        arrays[f"versions_{side}"] = np.array([c.model_version for c in items], dtype="U64")
        arrays[f"predicted_{side}"] = np.array(
            [NOT_A_DIGIT if c.predicted is None else c.predicted for c in items], dtype=np.int8)
        arrays[f"created_{side}"] = np.array(
            [c.created_at.isoformat(timespec="seconds") if c.created_at else "" for c in items],
            dtype="U32")
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as handle:
        np.savez_compressed(handle, **arrays)
    return {side: len(items) for side, items in sides.items()}
