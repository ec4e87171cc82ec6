"""Figures and tables for the notebook (and the CLI's --figures): what a student looks at."""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from training.model import LABELS, NOT_A_DIGIT_CLASS


def label_text(index: int) -> str:
    """A class as people read it: the digit, or "none" for not-a-digit."""
    return "none" if index == NOT_A_DIGIT_CLASS else LABELS[index]


def sample_grid(images: np.ndarray, labels: np.ndarray, count: int = 32,
                title: str = "MNIST training samples") -> Figure:
    cols = 8
    rows = int(np.ceil(count / cols))
    fig = Figure(figsize=(cols * 1.1, rows * 1.3))
    fig.suptitle(title)
    for i in range(min(count, len(images))):
        ax = fig.add_subplot(rows, cols, i + 1)
        ax.imshow(images[i], cmap="gray")
        ax.set_title(str(int(labels[i])), fontsize=10)
        ax.axis("off")
    fig.tight_layout()
    return fig


def learning_curves(history: dict[str, list[float]]) -> Figure:
    fig = Figure(figsize=(11, 4))
    epochs = np.arange(1, len(history["loss"]) + 1)
    for i, (metric, label) in enumerate((("loss", "cross-entropy loss"), ("accuracy", "accuracy"))):
        ax = fig.add_subplot(1, 2, i + 1)
        ax.plot(epochs, history[metric], "o-", label="training (augmented)")
        if f"val_{metric}" in history:
            ax.plot(epochs, history[f"val_{metric}"], "o-", label="validation")
        ax.set_xlabel("epoch")
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
        ax.legend()
    fig.tight_layout()
    return fig


def confusion_matrix(labels: np.ndarray, predictions: np.ndarray, digits: int = 10,
                     classes: int = len(LABELS)) -> np.ndarray:
    """counts[true digit, predicted class] (the last column: answered "not a digit")."""
    counts = np.zeros((digits, classes), dtype=np.int64)
    np.add.at(counts, (labels.astype(np.int64), predictions.astype(np.int64)), 1)
    return counts


def confusion_figure(counts: np.ndarray) -> Figure:
    fig = Figure(figsize=(7, 6))
    ax = fig.add_subplot(1, 1, 1)
    # Log colour scale so the few off-diagonal errors stay visible next to ~1000 hits.
    image = ax.imshow(np.log1p(counts), cmap="Blues")
    for (true, pred), count in np.ndenumerate(counts):
        if count:
            colour = "white" if true == pred else "black"
            ax.text(pred, true, str(count), ha="center", va="center", fontsize=8, color=colour)
    ax.set_xticks(range(counts.shape[1]), [label_text(i) for i in range(counts.shape[1])])
    ax.set_yticks(range(counts.shape[0]))
    ax.set_xlabel("predicted digit")
    ax.set_ylabel("true digit")
    ax.set_title("Confusion matrix on the MNIST test set")
    fig.colorbar(image, ax=ax, label="log(1 + count)")
    fig.tight_layout()
    return fig


def worst_misclassified(labels: np.ndarray, probabilities: np.ndarray,
                        count: int = 24) -> np.ndarray:
    """Indices of wrong predictions, most confidently wrong first."""
    predictions = probabilities.argmax(axis=1)
    wrong = np.flatnonzero(predictions != labels)
    confidence_in_wrong = probabilities[wrong, predictions[wrong]]
    return wrong[np.argsort(-confidence_in_wrong)][:count]


def misclassified_figure(images: np.ndarray, labels: np.ndarray, probabilities: np.ndarray,
                         indices: np.ndarray) -> Figure:
    cols = 8
    rows = max(1, int(np.ceil(len(indices) / cols)))
    fig = Figure(figsize=(cols * 1.3, rows * 1.6))
    fig.suptitle("Most confidently wrong test digits (true → predicted, confidence)")
    for i, index in enumerate(indices):
        predicted = int(probabilities[index].argmax())
        ax = fig.add_subplot(rows, cols, i + 1)
        ax.imshow(images[index], cmap="gray")
        ax.set_title(f"{labels[index]}→{label_text(predicted)} "
                     f"{probabilities[index, predicted]:.2f}",
                     fontsize=9)
        ax.axis("off")
    fig.tight_layout()
    return fig
