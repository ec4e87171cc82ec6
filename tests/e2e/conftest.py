"""The real stack for browser tests: gunicorn (backend) behind nginx (frontend), and Chromium."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from tests.servers import REPO_ROOT, free_port, start_gunicorn, start_nginx, stop, wait_for_http

ARTIFACTS = REPO_ROOT / "test-artifacts" / "screenshots"


class Stack:
    """nginx on ``url`` proxying /api/ to a gunicorn that tests may stop and start again."""

    def __init__(self, work: Path, models: Path | None = None) -> None:
        self.work = work
        self.models = models  # a model registry other than the repository's
        self.backend_port = free_port()
        self.nginx_port = free_port()
        self.url = f"http://127.0.0.1:{self.nginx_port}"
        self.backend = None
        self.nginx = None

    def start_backend(self) -> None:
        env = {"MODEL_DIR": str(self.models)} if self.models else None
        self.backend = start_gunicorn(self.backend_port, workers=2, env=env,
                                      log_path=self.work / "gunicorn.log")
        wait_for_http(f"http://127.0.0.1:{self.backend_port}/ready", process=self.backend)

    def stop_backend(self) -> None:
        stop(self.backend)

    def start(self) -> None:
        self.start_backend()
        self.nginx = start_nginx(self.work / "nginx", self.nginx_port,
                                 f"127.0.0.1:{self.backend_port}", self.work / "nginx.log",
                                 model_root=self.models)
        wait_for_http(f"{self.url}/healthz", process=self.nginx)

    def stop(self) -> None:
        for process in (self.nginx, self.backend):
            if process is not None:
                stop(process)


@pytest.fixture(scope="session")
def stack(tmp_path_factory):
    if not shutil.which("nginx"):
        pytest.fail("nginx is not installed: run the tests through `make test`")
    stack = Stack(tmp_path_factory.mktemp("stack"))
    try:
        stack.start()
        yield stack
    finally:
        stack.stop()


@pytest.fixture(scope="session")
def versions_stack(tmp_path_factory):
    """A stack serving two versions: production and a 50% candidate (same weights)."""
    from backend.registry import Registry, write_registry
    from tests.backend.test_versions import CANDIDATE, PRODUCTION, add_version
    from tests.conftest import MODEL_NAME

    models = tmp_path_factory.mktemp("registry")
    for version in (PRODUCTION, CANDIDATE):
        add_version(models, version)
    write_registry(models, Registry(MODEL_NAME, PRODUCTION, CANDIDATE, 0.5))
    stack = Stack(tmp_path_factory.mktemp("versions-stack"), models)
    try:
        stack.start()
        yield stack
    finally:
        stack.stop()


@pytest.fixture
def page_factory(browser, stack, request):
    """New pages on the stack, each recording console errors; screenshots on teardown."""
    contexts, pages = [], []

    def make(*, on=None, **context_options):
        target = on or stack
        context = browser.new_context(**{"viewport": {"width": 1100, "height": 800},
                                         "device_scale_factor": 2, **context_options})
        contexts.append(context)
        page = context.new_page()
        page.console_errors = []
        page.on("console", lambda m: m.type == "error" and page.console_errors.append(m.text))
        page.on("pageerror", lambda e: page.console_errors.append(str(e)))
        page.goto(target.url + "/")
        page.wait_for_selector('[data-testid="prob-9"]')
        pages.append(page)
        return page

    yield make
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.name)
    for index, page in enumerate(pages):
        if not page.is_closed():
            page.screenshot(path=str(ARTIFACTS / f"{name}-{index}.png"), full_page=True)
    for context in contexts:
        context.close()


@pytest.fixture
def page(page_factory):
    return page_factory()
