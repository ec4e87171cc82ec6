"""How well number mode reads ZIP codes written as a person writes them (tests/zipcodes.py).

Runs the backend's own number pipeline in-process (ink channel, working size, segmentation,
normalisation, the served LiteRT model) on N five-digit numbers made of random MNIST test
digits, and prints the share read exactly, the share with the right number of digits, the
misses by kind, and the same for the very same numbers written with each digit's scan pasted
in its place instead of its pen strokes (segmentation without the pen), and how many of them
the same model reads when it is shown each digit's scan alone (the most that model could read
here: no pen, no segmentation).

    .venv/bin/python -m benchmarks.zipcodes [--count 1000] [--seed 0] [--show 10] [--version V]
"""

from __future__ import annotations

import argparse
import collections
import os
import sys
import time

import numpy as np

from backend.contract import ModelContract, read_contract
from backend.preprocess import ink_from_rgba, normalise_ink
from backend.registry import open_store, production_dir
from backend.runtime import Classifier, load_classifier
from backend.segment import TooManyMarks, segment_digits
from tests.servers import REPO_ROOT
from tests.zipcodes import WrittenNumber, zip_code_set
from training.data import to_model_input
from training.traced import lost_ink, traced_inputs

MAX_DIGITS = 20
FIDELITY_SAMPLE = 1000  # test digits redrawn alone to measure the tracer


def read_number(contract, classifier, rgba: np.ndarray) -> str:
    try:
        segments = segment_digits(ink_from_rgba(rgba), MAX_DIGITS)
    except TooManyMarks:
        return "(too many marks)"
    answers = [contract.answer(classifier.predict(normalise_ink(s.ink))) for s in segments]
    return "".join("?" if a["digit"] is None else str(a["digit"]) for a in answers)


def tracer_fidelity(images: np.ndarray, labels: np.ndarray) -> int:
    """How many of the first FIDELITY_SAMPLE digits lose more than a tenth of their ink when
    traced and redrawn (no model involved)."""
    sample = images[:FIDELITY_SAMPLE]
    redrawn = traced_inputs(sample, seed=0, labels=labels[:FIDELITY_SAMPLE])
    return sum(lost_ink(a, b) > 0.1 for a, b in zip(sample, redrawn, strict=True))


def read_from_scans(contract: ModelContract, classifier: Classifier, images: np.ndarray,
                    labels: np.ndarray, numbers: list[WrittenNumber]) -> int:
    """How many ``numbers`` (WrittenNumber) the model reads exactly from the MNIST scans of
    their digits, each digit read alone: pen, segmentation and preprocessing left out."""
    picked = np.unique(np.concatenate([n.picks for n in numbers]))
    right = {int(i): contract.answer(classifier.predict(scan))["digit"] == int(labels[i])
             for i, scan in zip(picked, to_model_input(images[picked]), strict=True)}
    return sum(all(right[int(i)] for i in n.picks) for n in numbers)


def evaluate(images, labels, count: int, seed: int, version: str | None = None,
             scanned: bool = False) -> dict:
    """Read ``count`` ZIP codes with ``version`` (default: the registry's production), written
    with the pen or (``scanned``) as pasted scans."""
    models = REPO_ROOT / "models"
    version_dir = (open_store(models).version_dir(version) if version
                   else production_dir(models))
    contract = read_contract(version_dir)
    classifier = load_classifier(version_dir, "litert", contract.file_for("litert"))
    drawings = zip_code_set(images, labels, count, seed, scanned=scanned)
    started = time.perf_counter()
    misses = []
    for written in drawings:
        got = read_number(contract, classifier, written.drawing)
        if got != written.number:
            misses.append((written.number, got))
    seconds = time.perf_counter() - started
    kinds = collections.Counter(
        "extra digit" if len(got) > len(truth) else
        "missing digit" if len(got) < len(truth) else "misread digit"
        for truth, got in misses)
    same_length = [(t, g) for t, g in misses if len(t) == len(g)]
    digits = (sum(len(n.number) for n in drawings)
              - sum(len(t) for t, g in misses if len(t) != len(g)))
    wrong_digits = sum(a != b for t, g in same_length for a, b in zip(t, g, strict=True))
    return {"count": count, "exact": count - len(misses), "misses": misses, "kinds": kinds,
            "digits": digits, "wrong_digits": wrong_digits,
            "ms_per_number": 1000 * seconds / count,
            "exact_from_scans": read_from_scans(contract, classifier, images, labels, drawings)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--show", type=int, default=10, help="misses to list")
    parser.add_argument("--version", help="a version in models/ (default: production)")
    args = parser.parse_args()
    npz = os.environ.get("MNIST_NPZ")
    if not npz:
        print("set MNIST_NPZ to a local mnist.npz", file=sys.stderr)
        return 2
    with np.load(npz) as data:
        images, labels = data["x_test"], data["y_test"]
    for scanned, style in ((False, "written with the pen"), (True, "the same numbers as scans")):
        result = evaluate(images, labels, args.count, args.seed, args.version, scanned)
        print(f"ZIP codes {style}, read exactly: {result['exact']} of {result['count']} "
              f"({100 * result['exact'] / result['count']:.1f} %); "
              f"{result['ms_per_number']:.2f} ms per number (segmentation + 5 predictions)")
        print("  misses by kind: " + (", ".join(f"{k} {v}" for k, v in result["kinds"].items())
                                      or "none"))
        print(f"  digits misread in numbers split into the right count: "
              f"{result['wrong_digits']} of {result['digits']} "
              f"({100 * (1 - result['wrong_digits'] / result['digits']):.2f} % read right)")
        for truth, got in result["misses"][: args.show]:
            print(f"    wrote {truth}, read {got}")
    print(f"the same numbers read from their digits' MNIST scans, each digit alone: "
          f"{result['exact_from_scans']} of {result['count']} (the model's own bound: no pen, "
          "no segmentation)")
    lost = tracer_fidelity(images, labels)
    print(f"tracer: {lost} of {min(FIDELITY_SAMPLE, len(images))} test digits drawn alone lose "
          "more than a tenth of their ink (training/traced.py lost_ink)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
