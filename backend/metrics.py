"""Prometheus metrics: requests by route and status, latency, and per model version the
requests, latency, confidence, predictions by digit and visitors' corrections, so that a
canary can be watched.

Under gunicorn every worker is a process, so when PROMETHEUS_MULTIPROC_DIR is set (the
gunicorn config sets it) the values live in shared files and /metrics adds up all workers.
"""

from __future__ import annotations

import os

from flask import Flask, current_app
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)

# Every label value comes from a small fixed set: a made-up HTTP method must not become a new
# time series (each is a file-backed entry under gunicorn), so unknown ones count as OTHER.
KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH"})
OTHER_METHOD = "OTHER"

CONFIDENCE_BUCKETS = (0.3, 0.5, 0.7, 0.8, 0.9, 0.95, 0.98, 0.99, 0.995, 0.999, 1.0)
LATENCY_BUCKETS = (0.0005, 0.001, 0.002, 0.003, 0.005, 0.0075, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
                   1.0, 2.5)


class Metrics:
    """One registry per app, so tests can create as many apps as they like."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "mnist_http_requests", "HTTP requests by route, method and status",
            ["route", "method", "status"], registry=self.registry,
        )
        self.latency = Histogram(
            "mnist_http_request_duration_seconds", "Time to answer a request, by route",
            ["route"], buckets=LATENCY_BUCKETS, registry=self.registry,
        )
        # Per version: label values come from the registry's served versions only.
        self.version_requests = Counter(
            "mnist_model_requests", "Requests answered by a model version, by route and status",
            ["route", "version", "status"], registry=self.registry,
        )
        self.version_latency = Histogram(
            "mnist_model_request_duration_seconds", "Time to answer, by route and model version",
            ["route", "version"], buckets=LATENCY_BUCKETS, registry=self.registry,
        )
        self.predictions = Counter(
            "mnist_predictions", "Readings by route, model version and digit (or not_a_digit)",
            ["route", "version", "digit"], registry=self.registry,
        )
        self.confidence = Histogram(
            "mnist_prediction_confidence", "Reported (calibrated) confidence, by model version",
            ["version"], buckets=CONFIDENCE_BUCKETS, registry=self.registry,
        )

        # Visitors' answers: a version that is wrong more often shows more "correction"s.
        self.feedback = Counter(
            "mnist_feedback", "Visitors' answers by model version, reading and the digit given",
            ["version", "kind", "predicted", "corrected"], registry=self.registry,
        )
        self.feedback_undone = Counter(
            "mnist_feedback_undone", "Answers taken back with the page's undo, by version",
            ["version"], registry=self.registry,
        )

    def init_app(self, app: Flask) -> None:
        app.extensions["mnist_metrics"] = self

    def observe_request(self, route: str, method: str, status: int, seconds: float,
                        version: str | None = None) -> None:
        method = method if method in KNOWN_METHODS else OTHER_METHOD
        self.requests.labels(route, method, str(status)).inc()
        self.latency.labels(route).observe(seconds)
        if version is not None:
            self.version_requests.labels(route, version, str(status)).inc()
            self.version_latency.labels(route, version).observe(seconds)

    def observe_prediction(self, route: str, version: str, label: str,
                           confidence: float) -> None:
        self.predictions.labels(route, version, label).inc()
        self.confidence.labels(version).observe(confidence)

    def observe_feedback(self, version: str, predicted: int | None, corrected: int) -> None:
        """Labels from fixed sets: a registry version, 0-9 or not_a_digit, 0-9."""
        kind = "confirmation" if predicted == corrected else "correction"
        shown = "not_a_digit" if predicted is None else str(predicted)
        self.feedback.labels(version, kind, shown, str(corrected)).inc()

    def observe_feedback_undone(self, version: str) -> None:
        self.feedback_undone.labels(version).inc()

    def exposition(self) -> tuple[bytes, str]:
        """The text format for /metrics: every worker's values under gunicorn."""
        if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            from prometheus_client import multiprocess

            registry = CollectorRegistry()
            multiprocess.MultiProcessCollector(registry)
            return generate_latest(registry), CONTENT_TYPE_LATEST
        return generate_latest(self.registry), CONTENT_TYPE_LATEST


def get_metrics() -> Metrics:
    """The current app's metrics (set by Metrics.init_app)."""
    return current_app.extensions["mnist_metrics"]
