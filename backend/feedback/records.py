"""One visitor's answer to a reading, as the API, the review tools and training see it.

Free of any database library, so a deployment without feedback (FEEDBACK_DATABASE_URL=off,
the Lambda function) imports no database driver.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import numpy as np

FRAME = 28  # the model's input side (the stored image is what the model saw)
IMAGE_BYTES = FRAME * FRAME
STATUSES = ("new", "accepted", "rejected")


@dataclass(frozen=True)
class Correction:
    id: str
    model_version: str
    predicted: int | None
    corrected: int
    mode: str
    image: bytes = field(repr=False)  # IMAGE_BYTES, row-major
    created_at: datetime | None = None
    status: str = "new"

    @property
    def is_confirmation(self) -> bool:
        """The visitor said the reading was right."""
        return self.predicted == self.corrected

    @property
    def pixels(self) -> np.ndarray:
        return np.frombuffer(self.image, dtype=np.uint8).reshape(FRAME, FRAME)

    def same_content(self, other: Correction) -> bool:
        """What the client sent is the same (a retry), whatever the server added."""
        return (self.model_version, self.predicted, self.corrected, self.mode, self.image) == (
            other.model_version, other.predicted, other.corrected, other.mode, other.image)

    def to_json(self) -> dict:
        return {"id": self.id, "model_version": self.model_version,
                "predicted": self.predicted, "corrected": self.corrected, "mode": self.mode,
                "status": self.status,
                "created_at": self.created_at.isoformat() if self.created_at else None}
