"""The model registry: version folders side by side, and one small file saying which serve.

    models/                      MODEL_DIR
      registry.json              {"model": "cnn-mnist",
                                  "production": {"version": "872c…", "weight": 0.9},
                                  "candidate": {"version": "5f1a…", "weight": 0.1},
                                  "history": ["…"]}      earlier productions, newest last
      cnn-mnist/<version>/       model.keras, model.tflite, model.onnx, metadata.json

A version is the content hash of its weights (training/export.py), so a folder never changes
once written: training adds folders, and only registry.json changes what is served. Weights
must add up to 1 (production's may be left out: it takes the rest).

The layout before versions (MODEL_DIR holding metadata.json and the model files directly) is
still read: it serves that one model as production, and `python -m backend.models migrate`
moves it into a version folder.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from dataclasses import dataclass, field, replace
from pathlib import Path

REGISTRY_FILE = "registry.json"
VERSION_PATTERN = re.compile(r"^[0-9a-f]{8,64}$")
NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
HISTORY_LIMIT = 20


class RegistryError(ValueError):
    """registry.json is missing, malformed, or names versions that cannot be served."""


@dataclass(frozen=True)
class Registry:
    model: str
    production: str
    candidate: str | None = None
    candidate_weight: float = 0.0
    history: tuple[str, ...] = field(default_factory=tuple)

    @property
    def weights(self) -> dict[str, float]:
        """Traffic share of each served version (production first)."""
        if self.candidate is None:
            return {self.production: 1.0}
        return {self.production: 1.0 - self.candidate_weight,
                self.candidate: self.candidate_weight}

    @property
    def served(self) -> list[str]:
        return list(self.weights)

    def resolve(self, name: str) -> str | None:
        """A version asked for by hash or by role: "production", "candidate" (None if none)."""
        return {"production": self.production, "candidate": self.candidate}.get(name, name)

    def to_json(self) -> dict:
        weights = self.weights
        return {
            "model": self.model,
            "production": {"version": self.production, "weight": weights[self.production]},
            "candidate": (None if self.candidate is None else
                          {"version": self.candidate, "weight": self.candidate_weight}),
            "history": list(self.history),
        }

    # --- the changes the CLI makes (each returns a new registry) ----------------------------

    def with_candidate(self, version: str, weight: float) -> Registry:
        if version == self.production:
            raise RegistryError(f"{version} is already production")
        _check_weight(weight, "candidate weight")
        return replace(self, candidate=version, candidate_weight=float(weight))

    def without_candidate(self) -> Registry:
        return replace(self, candidate=None, candidate_weight=0.0)

    def promoted(self) -> Registry:
        if self.candidate is None:
            raise RegistryError("there is no candidate to promote")
        history = (*self.history, self.production)[-HISTORY_LIMIT:]
        return Registry(self.model, self.candidate, None, 0.0, history)

    def rolled_back(self) -> Registry:
        """Undo the last promotion: the previous production serves all traffic again."""
        if not self.history:
            raise RegistryError("there is no earlier production version to roll back to")
        return Registry(self.model, self.history[-1], None, 0.0, self.history[:-1])


def _check_weight(weight: object, what: str) -> float:
    if isinstance(weight, bool) or not isinstance(weight, int | float) or not 0 <= weight <= 1:
        raise RegistryError(f"{what} must be a number from 0 to 1, got {weight!r}")
    return float(weight)


def _check_version(version: object, what: str) -> str:
    if not isinstance(version, str) or not VERSION_PATTERN.match(version):
        raise RegistryError(f"{what} must be a version hash (8-64 hex digits), got {version!r}")
    return version


def parse_registry(data: object) -> Registry:
    """A registry from its JSON form, or RegistryError saying what is wrong."""
    if not isinstance(data, dict):
        raise RegistryError("registry.json must hold a JSON object")
    unknown = set(data) - {"model", "production", "candidate", "history"}
    if unknown:
        raise RegistryError(f"registry.json has unknown keys {sorted(unknown)}")
    model = data.get("model")
    if not isinstance(model, str) or not NAME_PATTERN.match(model):
        raise RegistryError(f"registry.json: 'model' must be a model name, got {model!r}")
    production = data.get("production")
    if not isinstance(production, dict) or "version" not in production:
        raise RegistryError("registry.json: 'production' must be {\"version\": …}")
    production_version = _check_version(production["version"], "production version")
    candidate = data.get("candidate")
    candidate_version, candidate_weight = None, 0.0
    if candidate is not None:
        if not isinstance(candidate, dict) or "version" not in candidate \
                or "weight" not in candidate:
            raise RegistryError("registry.json: 'candidate' must be null or "
                                "{\"version\": …, \"weight\": …}")
        candidate_version = _check_version(candidate["version"], "candidate version")
        candidate_weight = _check_weight(candidate["weight"], "candidate weight")
        if candidate_version == production_version:
            raise RegistryError("registry.json: the candidate is the production version")
    production_weight = production.get("weight", 1.0 - candidate_weight)
    production_weight = _check_weight(production_weight, "production weight")
    if abs(production_weight + candidate_weight - 1.0) > 1e-9:
        raise RegistryError(f"registry.json: weights add up to "
                            f"{production_weight + candidate_weight:g}, not 1")
    history = data.get("history", [])
    if not isinstance(history, list):
        raise RegistryError("registry.json: 'history' must be a list of versions")
    history = tuple(_check_version(v, "a history entry") for v in history)
    return Registry(model, production_version, candidate_version, candidate_weight, history)


@dataclass(frozen=True)
class ModelStore:
    """Where the versions of one model live, and which of them serve."""

    root: Path
    registry: Registry
    legacy: bool = False  # the flat layout: root itself is the one version's folder

    def version_dir(self, version: str) -> Path:
        if self.legacy:
            if version != self.registry.production:
                raise RegistryError(f"unknown version {version}: the flat layout has only "
                                    f"{self.registry.production}")
            return self.root
        return self.root / self.registry.model / version

    def available(self) -> list[str]:
        """Every exported version of the model on disk (served or not)."""
        if self.legacy:
            return [self.registry.production]
        folder = self.root / self.registry.model
        if not folder.is_dir():
            return []
        return sorted(p.name for p in folder.iterdir()
                      if VERSION_PATTERN.match(p.name) and (p / "metadata.json").is_file())


def registry_path(root: Path) -> Path:
    return Path(root) / REGISTRY_FILE


def open_store(root: Path) -> ModelStore:
    """The store at MODEL_DIR: registry.json if present, else the flat layout."""
    root = Path(root)
    path = registry_path(root)
    if path.is_file():
        try:
            data = json.loads(path.read_text())
        except (OSError, ValueError) as exc:
            raise RegistryError(f"registry.json is not readable JSON: {exc}") from None
        store = ModelStore(root, parse_registry(data))
        for version in store.registry.served:
            if not (store.version_dir(version) / "metadata.json").is_file():
                raise RegistryError(f"registry.json names version {version}, but "
                                    f"{store.registry.model}/{version}/metadata.json is missing")
        return store
    if (root / "metadata.json").is_file():
        metadata = json.loads((root / "metadata.json").read_text())
        return ModelStore(root, Registry(str(metadata["name"]), str(metadata["version"])),
                          legacy=True)
    raise RegistryError(f"no {REGISTRY_FILE} (and no metadata.json of the flat layout) in "
                        f"the model folder")


def production_dir(root: Path) -> Path:
    """The folder of the version the registry at ``root`` serves as production."""
    store = open_store(root)
    return store.version_dir(store.registry.production)


def write_registry(root: Path, registry: Registry) -> Path:
    """Replace registry.json atomically: a reader sees the old file or the new, never half."""
    path = registry_path(root)
    parse_registry(registry.to_json())  # never write what we would refuse to read
    text = json.dumps(registry.to_json(), indent=2) + "\n"
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".registry-", suffix=".json")
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(text)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path
