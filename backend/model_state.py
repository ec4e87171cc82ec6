"""The served versions: loaded from the registry once per worker, routed per request, and
swapped in place when registry.json changes (no restart, no dropped request).

Each worker checks registry.json's identity (inode, size, mtime) at most every
REGISTRY_POLL_SECONDS, on a request. A changed registry is loaded in full (versions already in
memory are reused) and warmed up before it replaces the old set in one assignment; requests in
flight keep the set they started with. A registry that fails to load leaves the old set
serving and is reported by /models. At start-up there is no old set: the service stays
not-ready with the error, never half-loaded.
"""

from __future__ import annotations

import hashlib
import logging
import os
import random
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from flask import Flask, current_app

from backend.contract import ContractError, ModelContract, read_contract
from backend.preprocess import FRAME
from backend.registry import Registry, open_store, registry_path
from backend.runtime import Classifier, check_runtime, load_classifier

log = logging.getLogger(__name__)


class UnknownVersion(LookupError):
    """A request pinned a version that is not being served."""


@dataclass(frozen=True)
class ServedVersion:
    contract: ModelContract
    classifier: Classifier
    role: str  # "production" or "candidate"
    weight: float

    @property
    def version(self) -> str:
        return self.contract.version


@dataclass(frozen=True)
class ServedSet:
    """What one registry file serves: production first, then the candidate if any."""

    registry: Registry
    versions: dict[str, ServedVersion]
    stamp: tuple | None  # the registry file's identity when it was read

    @property
    def production(self) -> ServedVersion:
        return self.versions[self.registry.production]

    def route(self, client_id: str | None) -> ServedVersion:
        """Pick by weight; the same client id always lands on the same version.

        The candidate takes the lowest slice of [0, 1), so raising its weight keeps the
        clients it already had and only adds new ones.
        """
        point = _client_point(client_id) if client_id else random.random()
        if self.registry.candidate is not None and point < self.registry.candidate_weight:
            return self.versions[self.registry.candidate]
        return self.production

    def pinned(self, name: str) -> ServedVersion:
        """A version asked for by hash or by role ("production", "candidate")."""
        found = self.versions.get(self.registry.resolve(name))
        if found is None:
            raise UnknownVersion(name)
        return found


def _client_point(client_id: str) -> float:
    digest = hashlib.sha256(client_id.encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def _stamp(path: Path) -> tuple | None:
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    return (st.st_ino, st.st_size, st.st_mtime_ns)


class ModelState:
    """The served set; ``ready`` only after every served version loaded and was warmed up."""

    def __init__(self, model_dir: Path, runtime: str, poll_seconds: float = 2.0) -> None:
        self.model_dir = Path(model_dir)
        self.runtime = check_runtime(runtime)
        self.poll_seconds = poll_seconds
        self.served: ServedSet | None = None
        self.error: str | None = None  # for the log; may hold file paths
        self.error_kind: str | None = None  # for clients: the exception's class only
        self.reload_error: str | None = None  # the last failed reload (the old set serves)
        self.reload_error_kind: str | None = None  # ... as /models tells clients
        self.load_seconds: float | None = None
        self._next_check = 0.0
        self._reload_lock = threading.Lock()
        self._ready = threading.Event()

    @property
    def ready(self) -> bool:
        return self._ready.is_set()

    @property
    def identity(self) -> dict:
        """The production version's name and version."""
        return self.served.production.contract.identity if self.served else {}

    # --- loading --------------------------------------------------------------------------

    def _load_set(self, reuse: ServedSet | None) -> ServedSet:
        stamp = _stamp(registry_path(self.model_dir))
        store = open_store(self.model_dir)
        registry = store.registry
        versions = {}
        for version, weight in registry.weights.items():
            role = "production" if version == registry.production else "candidate"
            old = reuse.versions.get(version) if reuse else None
            if old is not None:
                versions[version] = ServedVersion(old.contract, old.classifier, role, weight)
                continue
            version_dir = store.version_dir(version)
            contract = read_contract(version_dir)
            if contract.version != version or contract.name != registry.model:
                raise ContractError(f"{registry.model}/{version} holds the metadata of "
                                    f"{contract.name} {contract.version}")
            classifier = load_classifier(version_dir, self.runtime,
                                         contract.file_for(self.runtime))
            probabilities = classifier.predict(np.zeros((FRAME, FRAME), dtype=np.float32))
            if probabilities.shape != (len(contract.labels),):
                raise ContractError(f"{version}: the model returned shape "
                                    f"{probabilities.shape}, its metadata promises "
                                    f"({len(contract.labels)},)")
            versions[version] = ServedVersion(contract, classifier, role, weight)
        return ServedSet(registry, versions, stamp)

    def load(self) -> None:
        """Load every served version; a failure is kept in ``error`` (and /ready says so)."""
        started = time.perf_counter()
        try:
            served = self._load_set(None)
        except Exception as exc:  # any failure must surface in /ready, not kill the worker
            self.error = f"{type(exc).__name__}: {exc}"
            self.error_kind = type(exc).__name__
            log.exception("loading the models from %s failed", self.model_dir)
            return
        self.served = served
        self.load_seconds = time.perf_counter() - started
        self._next_check = time.monotonic() + self.poll_seconds
        self._ready.set()
        log.info("serving %s (%s runtime, %.2f s)", _describe(served), self.runtime,
                 self.load_seconds)

    def refresh(self, force: bool = False) -> bool:
        """Reload if registry.json changed since it was read; True if a new set serves."""
        now = time.monotonic()
        if self.served is None or (not force and now < self._next_check):
            return False
        if not self._reload_lock.acquire(blocking=False):
            return False  # another thread is reloading; keep serving the current set
        try:
            self._next_check = now + self.poll_seconds
            current = self.served
            if _stamp(registry_path(self.model_dir)) == current.stamp:
                return False
            try:
                served = self._load_set(current)
            except Exception as exc:
                message = f"{type(exc).__name__}: {exc}"
                if message != self.reload_error:
                    log.error("registry changed but cannot be served (%s); still serving %s",
                              message, _describe(current))
                self.reload_error, self.reload_error_kind = message, type(exc).__name__
                return False
            self.served, self.reload_error, self.reload_error_kind = served, None, None
            log.info("registry reloaded: serving %s", _describe(served))
            return True
        finally:
            self._reload_lock.release()

    # --- per request ----------------------------------------------------------------------

    def choose(self, client_id: str | None, pin: str | None) -> ServedVersion:
        served = self.served
        return served.pinned(pin) if pin else served.route(client_id)

    def init_app(self, app: Flask) -> None:
        app.extensions["mnist_model"] = self

    def load_in_background(self) -> threading.Thread:
        thread = threading.Thread(target=self.load, name="model-loader", daemon=True)
        thread.start()
        return thread


def _describe(served: ServedSet) -> str:
    return ", ".join(f"{v.contract.name} {v.version} ({v.role} {v.weight:.0%})"
                     for v in served.versions.values())


def get_model_state() -> ModelState:
    """The current app's model state (set by ModelState.init_app)."""
    return current_app.extensions["mnist_model"]

