"""Headless training run: ``python -m training --epochs 15 --data mnist.npz``.

It does what the notebook does, step for step, without the pictures (unless --figures).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from training.corrections import corrections_report, load_corrections
from training.data import DATA_ENV_VAR, DatasetError, load_mnist
from training.evaluation import report, summary_lines
from training.export import ExportError, ParityError, export_model
from training.model import build_model, with_temperature
from training.report import (
    confusion_figure,
    confusion_matrix,
    learning_curves,
    misclassified_figure,
    sample_grid,
    worst_misclassified,
)
from training.train import TrainConfig, evaluate, train

DEFAULT_OUT = Path("models")  # the registry: the export lands in models/<name>/<version>/


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    defaults = TrainConfig()
    parser = argparse.ArgumentParser(prog="python -m training", description=__doc__)
    parser.add_argument("--epochs", type=int, default=defaults.epochs)
    parser.add_argument("--data",
                        help=f"MNIST .npz (default: ${DATA_ENV_VAR}, else the keras download)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT,
                        help="model registry folder (default: models)")
    parser.add_argument("--limit", type=int, help="use only the first N train and test images")
    parser.add_argument("--batch-size", type=int, default=defaults.batch_size)
    parser.add_argument("--seed", type=int, default=defaults.seed)
    parser.add_argument("--corrections", type=Path,
                        help="visitors' corrections (python -m backend.feedback export)")
    parser.add_argument("--corrections-weight", type=int, default=defaults.corrections_weight,
                        help="how many times each taught correction counts")
    parser.add_argument("--traced", type=int, default=defaults.traced,
                        help="training digits redrawn with the page's pen (training/traced.py)")
    parser.add_argument("--figures", type=Path,
                        help="also save the notebook's figures as PNGs here")
    args = parser.parse_args(argv)
    if args.epochs < 1:
        parser.error("--epochs must be at least 1")
    if args.limit is not None and args.limit < 10:
        parser.error("--limit must be at least 10")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    started = time.perf_counter()
    try:
        data = load_mnist(args.data).limited(args.limit)
    except DatasetError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"data: {data.source}: {len(data.x_train)} train, {len(data.x_test)} test images")
    corrections = None
    if args.corrections:
        try:
            corrections = load_corrections(args.corrections)
        except DatasetError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        print(f"corrections: {len(corrections.taught[1])} taught "
              f"(x{args.corrections_weight}), {len(corrections.held_out[1])} held out")

    config = TrainConfig(epochs=args.epochs, batch_size=args.batch_size, seed=args.seed,
                         traced=args.traced,
                         corrections_weight=args.corrections_weight)
    model = build_model()
    result = train(model, data, config, verbose=2, corrections=corrections)
    calibrated = with_temperature(model, result.temperature)
    test = evaluate(calibrated, data.x_test, data.y_test)
    evaluation = report(model, data.x_test, data.y_test, result.temperature)
    if corrections:
        evaluation["corrections"] = corrections_report(calibrated, corrections,
                                                       config.corrections_weight)
    print(f"training {result.seconds:.0f} s, temperature {result.temperature:.3f}")
    print("\n".join(summary_lines(evaluation)))

    try:
        metadata = export_model(result, data, args.out, test=test, evaluation=evaluation,
                                corrections=corrections)
    except (ParityError, ExportError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"exported {metadata['name']} {metadata['version']} to "
          f"{args.out / metadata['name'] / metadata['version']}: "
          f"parity {json.dumps(metadata['parity']['max_abs_prob_delta'])}")

    if args.figures:
        save_figures(args.figures, data, result.history, test)
    print(f"total wall time {time.perf_counter() - started:.0f} s")
    return 0


def save_figures(folder: Path, data, history, evaluation) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    worst = worst_misclassified(data.y_test, evaluation.probabilities)
    figures = {
        "samples.png": sample_grid(data.x_train, data.y_train),
        "learning_curves.png": learning_curves(history),
        "confusion_matrix.png": confusion_figure(
            confusion_matrix(data.y_test, evaluation.predictions)),
        "misclassified.png": misclassified_figure(data.x_test, data.y_test,
                                                  evaluation.probabilities, worst),
    }
    for name, figure in figures.items():
        figure.savefig(folder / name, dpi=100)
    print(f"figures saved to {folder}")
