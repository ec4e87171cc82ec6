"""The model contract, read from a version's metadata.json: the one description of a model.

Training writes metadata.json; every tier reads it instead of restating it: which files hold
the model, what input it takes, and what its outputs mean. The backend refuses a model whose
input does not match its own preprocessing (backend/preprocess.py), so a model trained for
another frame size can never be served by mistake.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from backend.preprocess import BOX, CENTRE, FRAME

METADATA_FILE = "metadata.json"
RUNTIME_FILES = {"litert": "litert", "keras": "keras"}  # MODEL_RUNTIME -> key in "files"


class ContractError(ValueError):
    """A version's metadata is missing, unreadable, or describes a model we cannot serve."""


@dataclass(frozen=True)
class ModelContract:
    name: str
    version: str
    labels: tuple[str, ...]
    files: dict[str, str]
    metadata: dict

    @property
    def identity(self) -> dict[str, str]:
        return {"name": self.name, "version": self.version}

    def file_for(self, runtime: str) -> str:
        key = RUNTIME_FILES[runtime]
        if key not in self.files:
            raise ContractError(f"version {self.version} has no {key!r} file in metadata.files")
        return self.files[key]

    def answer(self, probabilities: np.ndarray) -> dict:
        """The model's output as the API reports it: a digit, or null with the reason.

        A label that is a digit ("0".."9") is read as that digit; any other label (such as
        "not_a_digit") means the model could not read a digit, and the label is the reason.
        """
        best = int(np.argmax(probabilities))
        label = self.labels[best]
        answer: dict = {"digit": int(label) if label.isdigit() else None}
        if answer["digit"] is None:
            answer["reason"] = label
        answer["confidence"] = round(float(probabilities[best]), 6)
        answer["probabilities"] = [round(float(p), 6) for p in probabilities]
        return answer


def read_contract(version_dir: Path) -> ModelContract:
    """Parse and check ``version_dir``/metadata.json."""
    path = version_dir / METADATA_FILE
    try:
        metadata = json.loads(path.read_text())
    except FileNotFoundError:
        raise ContractError(f"{version_dir.name}: no {METADATA_FILE}") from None
    except (OSError, ValueError) as exc:
        raise ContractError(f"{version_dir.name}: {METADATA_FILE} is not readable JSON: "
                            f"{type(exc).__name__}") from None
    try:
        contract = ModelContract(
            name=str(metadata["name"]),
            version=str(metadata["version"]),
            labels=tuple(str(label) for label in metadata["labels"]),
            files={str(k): str(v) for k, v in metadata["files"].items()},
            metadata=metadata,
        )
        shape = list(metadata["input"]["shape"])
        output_shape = list(metadata["output"]["shape"])
        dtype = metadata["input"]["dtype"]
    except (KeyError, TypeError, AttributeError) as exc:
        raise ContractError(f"{version_dir.name}: {METADATA_FILE} lacks {exc}") from None
    check_input(contract, shape, dtype, metadata["input"])
    if output_shape != [len(contract.labels)]:
        raise ContractError(f"{contract.version}: output shape {output_shape} does not match "
                            f"its {len(contract.labels)} labels")
    if not any(label.isdigit() for label in contract.labels):
        raise ContractError(f"{contract.version}: no digit among its labels")
    return contract


def check_input(contract: ModelContract, shape: list, dtype: str, spec: dict) -> None:
    """The model's input must be what backend/preprocess.py produces."""
    if shape != [FRAME, FRAME, 1] or dtype != "float32":
        raise ContractError(f"{contract.version}: input {shape} {dtype}, but preprocessing "
                            f"makes [{FRAME}, {FRAME}, 1] float32")
    # Models exported before these fields existed used the same values.
    for key, ours in (("box", BOX), ("centre_of_mass", CENTRE)):
        if key in spec and float(spec[key]) != float(ours):
            raise ContractError(f"{contract.version}: input {key} {spec[key]}, but "
                                f"preprocessing uses {ours}")
