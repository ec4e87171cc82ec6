"""Model versions from the command line: list, canary, promote, roll back.

    python -m backend.versions list
    python -m backend.versions canary <version> --weight 0.1
    python -m backend.versions abort                  # drop the candidate: production only
    python -m backend.versions promote [--eval data.npz ...] [--force]
    python -m backend.versions rollback               # undo the last promotion
    python -m backend.versions migrate                # the flat layout -> a version folder

Every change rewrites registry.json atomically; running backends notice within
REGISTRY_POLL_SECONDS and swap versions in place, without dropping a request. ``promote``
scores production and candidate on each evaluation set (default: $MNIST_NPZ's test set; else
the test accuracy recorded in their metadata) and refuses a candidate that does worse.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
from pathlib import Path

from backend import batch
from backend.config import settings_from_env
from backend.contract import read_contract
from backend.registry import Registry, RegistryError, open_store, write_registry


def describe(root: Path) -> dict:
    store = open_store(root)
    registry = store.registry
    versions = []
    for version in store.available():
        metadata = read_contract(store.version_dir(version)).metadata
        versions.append({
            "version": version,
            "role": ("production" if version == registry.production else
                     "candidate" if version == registry.candidate else
                     "previous" if version in registry.history else "-"),
            "weight": registry.weights.get(version, 0.0),
            "created_at": metadata.get("created_at"),
            "test_accuracy": metadata.get("test_accuracy"),
        })
    return {"model": registry.model, "layout": "flat" if store.legacy else "registry",
            "versions": versions, "history": list(registry.history)}


def evaluation_sets(paths: list[Path] | None) -> list[Path]:
    if paths:
        return paths
    npz = os.environ.get("MNIST_NPZ")
    return [Path(npz)] if npz and Path(npz).is_file() else []


def promotion_check(root: Path, eval_sets: list[Path]) -> tuple[bool, list[str]]:
    """Is the candidate at least as good as production on every evaluation set?"""
    store = open_store(root)
    registry = store.registry
    if registry.candidate is None:
        raise RegistryError("there is no candidate to promote")
    lines, ok = [], True
    if not eval_sets:
        metrics = {v: read_contract(store.version_dir(v)).metadata.get("test_accuracy")
                   for v in (registry.production, registry.candidate)}
        if None in metrics.values():
            return False, ["no evaluation set and no recorded test accuracy to compare"]
        ok = metrics[registry.candidate] >= metrics[registry.production]
        lines.append(f"recorded test accuracy: production {metrics[registry.production]:.4%}, "
                     f"candidate {metrics[registry.candidate]:.4%}")
        return ok, lines
    production = batch.scorer(store, "production")
    candidate = batch.scorer(store, "candidate")
    for path in eval_sets:
        items = batch.load_items(path)
        results = {}
        for name, chosen in (("production", production), ("candidate", candidate)):
            results[name] = batch.summarise(chosen.contract,
                                            batch.score(chosen, items, progress=False))
        a, b = results["production"]["accuracy"], results["candidate"]["accuracy"]
        if a is None or b is None:
            lines.append(f"{path.name}: no labels, not compared")
            continue
        ok = ok and b >= a
        lines.append(f"{path.name}: production {a:.4%}, candidate {b:.4%} "
                     f"({'ok' if b >= a else 'worse'})")
    return ok, lines


def migrate(root: Path) -> Path:
    """Move the flat layout's files into <model>/<version>/ and write registry.json."""
    store = open_store(root)
    if not store.legacy:
        raise RegistryError("already in the registry layout")
    contract = read_contract(root)
    target = root / contract.name / contract.version
    target.mkdir(parents=True, exist_ok=False)
    for name in {*contract.files.values(), "metadata.json"}:
        if (root / name).exists():
            shutil.move(str(root / name), target / name)
    write_registry(root, Registry(contract.name, contract.version))
    return target


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m backend.versions", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", type=Path, help="model folder (default: $MODEL_DIR)")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("list")
    canary = sub.add_parser("canary")
    canary.add_argument("version")
    canary.add_argument("--weight", type=float, default=0.1)
    sub.add_parser("abort")
    promote = sub.add_parser("promote")
    promote.add_argument("--eval", type=Path, action="append",
                         help="evaluation data set (npz, folder or zip); repeatable")
    promote.add_argument("--force", action="store_true",
                         help="promote without evaluating (even if worse)")
    sub.add_parser("rollback")
    sub.add_parser("migrate")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    root = Path(args.models or settings_from_env()["MODEL_DIR"])
    try:
        if args.command == "list":
            print(json.dumps(describe(root), indent=2))
            return 0
        if args.command == "migrate":
            print(f"moved into {migrate(root)}; registry.json written")
            return 0
        store = open_store(root)
        if store.legacy:
            raise RegistryError("the flat layout has one version: run `migrate` first")
        registry = store.registry
        if args.command == "canary":
            if args.version not in store.available():
                raise RegistryError(f"unknown version {args.version}; "
                                    f"available: {store.available()}")
            new = registry.with_candidate(args.version, args.weight)
        elif args.command == "abort":
            new = registry.without_candidate()
        elif args.command == "promote":
            if not args.force:
                ok, lines = promotion_check(root, evaluation_sets(args.eval))
                print("\n".join(lines))
                if not ok:
                    print("refused: the candidate does worse than production "
                          "(--force to promote anyway)", file=sys.stderr)
                    return 1
            new = registry.promoted()
        else:
            new = registry.rolled_back()
        write_registry(root, new)
        print(json.dumps(new.to_json()))
    except (RegistryError, ValueError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
