"""Batch evaluation, the batch transform of this project: score a model version on a whole
data set, or two versions side by side.

    python -m backend.batch evaluate --data mnist.npz [--version candidate] [--out DIR]
    python -m backend.batch compare production candidate --data drawings.zip --out DIR

Data: an npz of 28x28 uint8 images (x_test/y_test as keras's mnist.npz, or x/y, or
images/labels), or a folder or zip of PNG/JPEG files, read through the serving path (the
backend's decoding and preprocessing). A file's label is its folder's name or its name's first
character when that is a digit (``7/a.png``, ``7_a.png``); files without one are scored only.
A file that cannot be read is reported in its row and does not stop the run.

Writes results.csv (one row per item) and summary.json (accuracy, per-class accuracy,
confusion matrix, latency); compare also writes comparison.json and report.html with the
items where the versions disagree, as thumbnails.
"""

from __future__ import annotations

import argparse
import base64
import csv
import io
import json
import sys
import time
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from backend.config import DEFAULT_MAX_IMAGE_SIDE, settings_from_env
from backend.contract import ModelContract, read_contract
from backend.errors import ApiError
from backend.images import decode_ink
from backend.preprocess import FRAME, EmptyDrawing, normalise_ink
from backend.registry import ModelStore, RegistryError, open_store
from backend.runtime import Classifier, load_classifier

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")
NPZ_KEYS = (("x_test", "y_test"), ("x", "y"), ("images", "labels"))


@dataclass(frozen=True)
class Item:
    source: str
    label: int | None
    inputs: np.ndarray | None  # (28, 28) float32, or None when the file could not be read
    error: str | None = None


# --- data sets ------------------------------------------------------------------------------

def load_items(path: Path, limit: int | None = None,
               max_side: int = DEFAULT_MAX_IMAGE_SIDE) -> list[Item]:
    path = Path(path)
    if path.suffix == ".npz":
        items = list(_npz_items(path))
    elif path.is_dir():
        files = sorted(p for p in path.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)
        items = [_file_item(str(p.relative_to(path)), p.read_bytes(), max_side) for p in files]
    elif zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as archive:
            names = sorted(n for n in archive.namelist()
                           if Path(n).suffix.lower() in IMAGE_SUFFIXES)
            items = [_file_item(n, archive.read(n), max_side) for n in names]
    else:
        raise ValueError(f"{path}: not an .npz, a folder or a zip of images")
    return items[:limit] if limit else items


def _npz_items(path: Path) -> Iterator[Item]:
    with np.load(path, allow_pickle=False) as npz:
        for x_key, y_key in NPZ_KEYS:
            if x_key in npz.files:
                images = npz[x_key]
                labels = npz[y_key] if y_key in npz.files else None
                break
        else:
            raise ValueError(f"{path}: expected arrays {NPZ_KEYS}, found {sorted(npz.files)}")
    if images.ndim != 3 or images.shape[1:] != (FRAME, FRAME):
        raise ValueError(f"{path}: images of shape {images.shape}, expected (N, 28, 28)")
    scale = 255.0 if images.dtype == np.uint8 else 1.0
    for index, image in enumerate(images):
        label = int(labels[index]) if labels is not None else None
        yield Item(f"{path.name}[{index}]", label, (image / scale).astype(np.float32))


def label_from_name(name: str) -> int | None:
    parts = Path(name).parts
    if len(parts) > 1 and parts[-2].isdigit() and len(parts[-2]) == 1:
        return int(parts[-2])
    stem = Path(name).name
    return int(stem[0]) if stem[:1].isdigit() and stem[1:2] in ("_", "-", ".") else None


def _file_item(name: str, data: bytes, max_side: int) -> Item:
    label = label_from_name(name)
    try:
        return Item(name, label, normalise_ink(decode_ink(data, max_side)))
    except ApiError as exc:
        return Item(name, label, None, f"{exc.code}: {exc.message}")
    except EmptyDrawing as exc:
        return Item(name, label, None, f"empty_drawing: {exc}")


# --- scoring --------------------------------------------------------------------------------

@dataclass(frozen=True)
class Scorer:
    contract: ModelContract
    classifier: Classifier


def scorer(store: ModelStore, name: str, runtime: str = "litert") -> Scorer:
    """A version by hash or role ("production", "candidate") of the registry."""
    version = store.registry.resolve(name)
    if version is None:
        raise RegistryError("the registry has no candidate")
    if version not in store.available():
        raise RegistryError(f"unknown version {name!r}; available: {store.available()}")
    folder = store.version_dir(version)
    contract = read_contract(folder)
    return Scorer(contract, load_classifier(folder, runtime, contract.file_for(runtime)))


def score(scorer_: Scorer, items: list[Item], progress: bool = True) -> list[dict]:
    from tqdm import tqdm

    rows = []
    for index, item in enumerate(tqdm(items, desc=scorer_.contract.version, unit="img",
                                      disable=not progress, file=sys.stderr)):
        row = {"index": index, "source": item.source, "label": item.label}
        if item.inputs is None:
            rows.append({**row, "prediction": None, "digit": None, "confidence": None,
                         "correct": None, "latency_ms": None, "error": item.error})
            continue
        started = time.perf_counter()
        probabilities = scorer_.classifier.predict(item.inputs)
        latency = (time.perf_counter() - started) * 1000
        answer = scorer_.contract.answer(probabilities)
        prediction = answer.get("reason") or str(answer["digit"])
        rows.append({**row, "prediction": prediction, "digit": answer["digit"],
                     "confidence": answer["confidence"],
                     "correct": None if item.label is None else answer["digit"] == item.label,
                     "latency_ms": round(latency, 4), "error": None})
    return rows


def summarise(contract: ModelContract, rows: list[dict]) -> dict:
    scored = [r for r in rows if r["error"] is None]
    labelled = [r for r in scored if r["label"] is not None]
    labels = list(contract.labels)
    confusion = np.zeros((10, len(labels)), np.int64)  # true digit x predicted label
    for r in labelled:
        if 0 <= r["label"] <= 9:
            confusion[r["label"], labels.index(r["prediction"])] += 1
    per_class = {str(d): (round(float(confusion[d, labels.index(str(d))] / confusion[d].sum()), 6)
                          if confusion[d].sum() else None) for d in range(10)}
    latencies = np.array([r["latency_ms"] for r in scored]) if scored else np.zeros(1)
    return {
        "model": contract.identity,
        "items": len(rows),
        "unreadable": len(rows) - len(scored),
        "labelled": len(labelled),
        "accuracy": (round(sum(bool(r["correct"]) for r in labelled) / len(labelled), 6)
                     if labelled else None),
        "not_a_digit": sum(r["digit"] is None for r in scored),
        "per_class_accuracy": per_class,
        "confusion": {"rows": "true digit 0-9", "columns": labels, "counts": confusion.tolist()},
        "latency_ms": {"mean": round(float(latencies.mean()), 4),
                       "p50": round(float(np.percentile(latencies, 50)), 4),
                       "p99": round(float(np.percentile(latencies, 99)), 4)},
    }


def write_results(out: Path, rows: list[dict], summary: dict, prefix: str = "") -> None:
    out.mkdir(parents=True, exist_ok=True)
    with open(out / f"{prefix}results.csv", "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]) if rows else ["index"])
        writer.writeheader()
        writer.writerows(rows)
    (out / f"{prefix}summary.json").write_text(json.dumps(summary, indent=2) + "\n")


# --- comparison -----------------------------------------------------------------------------

def thumbnail(inputs: np.ndarray, scale: int = 3) -> str:
    image = Image.fromarray(np.round(inputs * 255).astype(np.uint8)).resize(
        (FRAME * scale, FRAME * scale), Image.NEAREST)
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


def compare(items: list[Item], a: Scorer, b: Scorer, out: Path, progress: bool = True) -> dict:
    rows_a, rows_b = score(a, items, progress), score(b, items, progress)
    summary_a, summary_b = summarise(a.contract, rows_a), summarise(b.contract, rows_b)
    write_results(out, rows_a, summary_a, "a-")
    write_results(out, rows_b, summary_b, "b-")
    disagreements = [i for i, (ra, rb) in enumerate(zip(rows_a, rows_b, strict=True))
                     if ra["error"] is None and ra["prediction"] != rb["prediction"]]
    comparison = {"a": summary_a, "b": summary_b, "disagreements": len(disagreements),
                  "disagreeing_items": [items[i].source for i in disagreements]}
    (out / "comparison.json").write_text(json.dumps(comparison, indent=2) + "\n")
    (out / "report.html").write_text(_report_html(items, rows_a, rows_b, summary_a, summary_b,
                                                  disagreements))
    return comparison


def _report_html(items, rows_a, rows_b, summary_a, summary_b, disagreements) -> str:
    from html import escape

    def cell(summary: dict) -> str:
        acc = summary["accuracy"]
        return (f"<td>{escape(summary['model']['version'])}</td>"
                f"<td>{'–' if acc is None else f'{acc:.2%}'}</td>"
                f"<td>{summary['not_a_digit']}</td><td>{summary['latency_ms']['p50']}</td>")

    rows = "".join(
        f"<tr><td><img src='{thumbnail(items[i].inputs)}' alt=''></td>"
        f"<td>{escape(items[i].source)}</td><td>{'' if items[i].label is None else items[i].label}"
        f"</td><td>{escape(rows_a[i]['prediction'])} ({rows_a[i]['confidence']:.2f})</td>"
        f"<td>{escape(rows_b[i]['prediction'])} ({rows_b[i]['confidence']:.2f})</td></tr>"
        for i in disagreements[:500])
    return f"""<!doctype html><html lang="en"><meta charset="utf-8">
<title>Comparison of two model versions</title>
<style>body{{font-family:system-ui,sans-serif;margin:2rem}}td,th{{padding:.2rem .6rem;
text-align:left}}img{{image-rendering:pixelated;background:#000}}</style>
<h1>Two versions, one data set</h1>
<table><tr><th></th><th>version</th><th>accuracy</th><th>not a digit</th><th>p50 ms</th></tr>
<tr><th>A</th>{cell(summary_a)}</tr><tr><th>B</th>{cell(summary_b)}</tr></table>
<h2>{len(disagreements)} items read differently</h2>
<table><tr><th></th><th>item</th><th>label</th><th>A</th><th>B</th></tr>{rows}</table>
</html>
"""


# --- command line ---------------------------------------------------------------------------

def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m backend.batch", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", type=Path, help="model folder (default: $MODEL_DIR)")
    sub = parser.add_subparsers(dest="command", required=True)
    for name in ("evaluate", "compare"):
        command = sub.add_parser(name)
        if name == "evaluate":
            command.add_argument("--version", default="production")
        else:
            command.add_argument("a", help="version hash, production or candidate")
            command.add_argument("b")
        command.add_argument("--data", type=Path, required=True)
        command.add_argument("--out", type=Path, default=Path("batch-results"))
        command.add_argument("--limit", type=int)
        command.add_argument("--quiet", action="store_true", help="no progress bar")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    models = args.models or settings_from_env()["MODEL_DIR"]
    try:
        store = open_store(models)
        items = load_items(args.data, args.limit)
        if args.command == "evaluate":
            chosen = scorer(store, args.version)
            rows = score(chosen, items, not args.quiet)
            summary = summarise(chosen.contract, rows)
            write_results(args.out, rows, summary)
            print(json.dumps({k: summary[k] for k in ("model", "items", "unreadable",
                                                        "accuracy", "not_a_digit",
                                                        "latency_ms")}))
        else:
            result = compare(items, scorer(store, args.a), scorer(store, args.b), args.out,
                             not args.quiet)
            print(f"A {result['a']['model']['version']}: accuracy {result['a']['accuracy']}; "
                  f"B {result['b']['model']['version']}: accuracy {result['b']['accuracy']}; "
                  f"{result['disagreements']} disagreements; report: {args.out / 'report.html'}")
    except (RegistryError, ValueError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
