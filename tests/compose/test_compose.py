"""`docker compose up` on a real engine: build, health, the API through nginx, privacy of the
backend and the database, feedback stored in PostgreSQL across restarts, a browser smoke
test, a backend crash and its recovery; torn down even on failure.

Skipped (with the reason), never passed, when no Docker engine answers.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest
from playwright.sync_api import expect

from backend import versions
from backend.registry import Registry, open_store, write_registry
from tests.backend.test_versions import CANDIDATE, add_version
from tests.conftest import MODEL_DIR, MODEL_NAME, REPO_ROOT
from tests.e2e.pointer import draw_digit, first_of_each_digit
from tests.servers import fetch, free_port, post

pytestmark = [pytest.mark.slow, pytest.mark.compose]

# LiteRT and numpy ~330 MB; OpenCV (connected components for number mode, as the design card
# asks) brings ~160 MB of codecs and BLAS of its own: 533 MB; the feedback store's SQLAlchemy,
# Alembic and psycopg (with libpq) ~35 MB more: measured 568 MB in all.
IMAGE_LIMIT_MB = 600
HEALTH_TIMEOUT = 240


def engine_problem() -> str | None:
    if not shutil.which("docker"):
        return "no docker client installed"
    info = subprocess.run(["docker", "info"], capture_output=True, text=True)
    if info.returncode != 0:
        return f"no Docker engine answers: {info.stderr.strip().splitlines()[-1:]}"
    return None


def compose_command() -> list[str]:
    plugin = subprocess.run(["docker", "compose", "version"], capture_output=True)
    if plugin.returncode == 0:
        return ["docker", "compose"]
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    pytest.skip("neither `docker compose` nor docker-compose is installed")


def shared_folder(name: str) -> Path:
    """A fresh folder the containers' users can read (pytest's tmp_path is root-only)."""
    folder = REPO_ROOT / "test-artifacts" / f"{name}-{os.getpid()}"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    for path in (folder.parent, folder):
        path.chmod(0o755)
    return folder


def two_version_registry() -> Path:
    """The committed production version plus a candidate copy of it (another version hash)."""
    models = shared_folder("compose-models")
    registry = open_store(REPO_ROOT / "models").registry
    target = models / registry.model / registry.production
    shutil.copytree(MODEL_DIR, target)
    add_version(models, CANDIDATE)
    write_registry(models, Registry(registry.model, registry.production))
    return models


class ComposeStack:
    def __init__(self, project: str, port: int, models: Path) -> None:
        self.project = project
        self.port = port
        self.models = models
        self.url = f"http://127.0.0.1:{port}"
        self.env = {**os.environ, "FRONTEND_PORT": str(port), "COMPOSE_PROJECT_NAME": project,
                    "MODELS_DIR": str(models)}
        self.command = [*compose_command(), "-p", project]

    def compose(self, *args: str, timeout: int = 1200) -> str:
        result = subprocess.run([*self.command, *args], cwd=REPO_ROOT, env=self.env,
                                capture_output=True, text=True, timeout=timeout)
        if result.returncode != 0:
            raise RuntimeError(f"compose {' '.join(args)} failed:\n{result.stdout}\n"
                               f"{result.stderr}")
        return result.stdout

    def container(self, service: str) -> str:
        return self.compose("ps", "-q", service).strip()

    def inspect(self, service: str) -> dict:
        output = subprocess.run(["docker", "inspect", self.container(service)],
                                capture_output=True, text=True, check=True).stdout
        return json.loads(output)[0]

    def health(self, service: str) -> str:
        return self.inspect(service)["State"].get("Health", {}).get("Status", "none")

    def wait_healthy(self, *services: str, timeout: float = HEALTH_TIMEOUT) -> None:
        deadline = time.monotonic() + timeout
        while True:
            states = {s: self.health(s) for s in services}
            if all(state == "healthy" for state in states.values()):
                return
            if time.monotonic() > deadline:
                logs = self.compose("logs", "--tail", "40")
                raise TimeoutError(f"not healthy after {timeout} s: {states}\n{logs}")
            time.sleep(2)

    def exec(self, service: str, *command: str) -> subprocess.CompletedProcess:
        return subprocess.run(["docker", "exec", self.container(service), *command],
                              capture_output=True, text=True)


@pytest.fixture(scope="module")
def compose_stack():
    problem = engine_problem()
    if problem:
        pytest.skip(f"compose suite not run: {problem}")
    stack = ComposeStack(f"mnisttest{os.getpid()}", free_port(), two_version_registry())
    try:
        stack.compose("build")
        stack.compose("up", "-d")
        stack.wait_healthy("db", "backend", "frontend")
        yield stack
    finally:
        try:
            stack.compose("down", "--volumes", "--remove-orphans", "--timeout", "5")
        except Exception as error:  # teardown must not hide the test's own failure
            print(f"compose down failed: {error}")
        shutil.rmtree(stack.models, ignore_errors=True)


def post_json(url: str, payload: dict) -> tuple[int, dict]:
    return post(url, json.dumps(payload).encode(), "application/json")


def image_megabytes(image: str) -> float:
    size = subprocess.run(["docker", "image", "inspect", "-f", "{{.Size}}", image],
                          capture_output=True, text=True, check=True).stdout
    return int(size) / 1e6


def test_backend_image_is_small_and_has_no_tensorflow(compose_stack, capsys):
    sizes = {s: image_megabytes(f"mnist-webapp/{s}:local") for s in ("backend", "frontend")}
    with capsys.disabled():  # shown in the test log whatever the capture mode
        print(f"\nimage sizes: backend {sizes['backend']:.0f} MB, "
              f"frontend {sizes['frontend']:.0f} MB (backend limit {IMAGE_LIMIT_MB} MB)")
    assert sizes["backend"] <= IMAGE_LIMIT_MB
    probe = compose_stack.exec("backend", "python", "-c", "import tensorflow")
    assert probe.returncode != 0 and "No module named 'tensorflow'" in probe.stderr


def test_predict_through_the_published_frontend(compose_stack, digit_data_url, digit_png):
    status, body = post_json(f"{compose_stack.url}/api/predict", {"image": digit_data_url})
    assert status == 200
    assert body["digit"] == digit_png[1]
    assert body["model"]["name"] == MODEL_NAME


def test_only_the_frontend_is_published(compose_stack):
    for private in ("backend", "db"):
        assert compose_stack.inspect(private)["HostConfig"]["PortBindings"] in (None, {})
    frontend_ports = compose_stack.inspect("frontend")["HostConfig"]["PortBindings"]
    assert list(frontend_ports) == ["8080/tcp"]
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", 5000), timeout=2).close()


def test_the_database_is_reachable_by_the_backend_alone(compose_stack):
    db = compose_stack.inspect("db")
    assert list(db["NetworkSettings"]["Networks"]) == [f"{compose_stack.project}_data"]
    assert compose_stack.exec("db", "id", "-u").stdout.strip() != "0"
    assert db["HostConfig"]["ReadonlyRootfs"] is True
    # Not from the host's network: no port of it is published (the host may run a PostgreSQL
    # of its own on 5432, so a refused connection there would prove nothing). The host itself
    # can still reach container addresses on its own bridges, as with any Docker network;
    # other machines cannot...
    ports = subprocess.run(["docker", "port", compose_stack.container("db")],
                           capture_output=True, text=True, check=True)
    assert ports.stdout.strip() == ""
    # ...not from the frontend, which is on no network with it...
    assert compose_stack.exec("frontend", "getent", "hosts", "db").returncode != 0
    probe = compose_stack.exec("backend", "python", "-c",
                               "import socket; socket.create_connection(('db', 5432), 3)")
    assert probe.returncode == 0, probe.stderr  # ...but from the backend, yes
    # ...and only with the password the db made (kept in a volume, not in the environment).
    environment = "\n".join(compose_stack.inspect("backend")["Config"]["Env"])
    secret = compose_stack.exec("db", "cat", "/run/feedback-secret/password").stdout.strip()
    assert len(secret) == 64 and secret not in environment


def post_feedback(stack, version: str, corrected: int) -> tuple[int, dict, str]:
    import uuid

    import numpy as np

    image = np.zeros((28, 28))
    image[5:23, 12:16] = 1.0
    answer = {"id": str(uuid.uuid4()), "input": image.tolist(), "predicted": 7,
              "corrected": corrected, "model_version": version}
    status, body = post_json(f"{stack.url}/api/feedback", answer)
    return status, body, answer["id"]


def db_rows(stack, correction_id: str) -> str:
    query = f"SELECT corrected, mode FROM corrections WHERE id = '{correction_id}'"
    result = stack.exec("db", "sh", "-c",
                        'PGPASSWORD=$(cat /run/feedback-secret/password) psql -h 127.0.0.1 '
                        f'-U mnist -d feedback -Atc "{query}"')
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_feedback_is_stored_in_postgres_and_survives_restarts(compose_stack):
    version = served_production(compose_stack)
    status, body, correction_id = post_feedback(compose_stack, version, corrected=1)
    assert status == 201, body
    assert db_rows(compose_stack, correction_id) == "1|digit"
    compose_stack.compose("restart", "backend", "db")
    compose_stack.wait_healthy("db", "backend", "frontend")
    assert db_rows(compose_stack, correction_id) == "1|digit"
    status, body, _ = post_feedback(compose_stack, version, corrected=4)
    assert status == 201, body
    # The nginx budget of /api/feedback: a burst beyond it is refused with JSON 429s.
    statuses = [post_feedback(compose_stack, version, corrected=2)[0] for _ in range(40)]
    assert 429 in statuses and statuses[0] == 201


def test_backend_has_no_way_out(compose_stack):
    """The private network is internal: like the private subnet, no route to the outside.
    The "outside" here is the frontend's address on the public network (a namespace this
    test's stack made): reachable from the host, not from the backend."""
    frontend = compose_stack.inspect("frontend")["NetworkSettings"]["Networks"]
    public_ip = frontend[f"{compose_stack.project}_public"]["IPAddress"]
    dial = f"import socket; socket.create_connection(({public_ip!r}, 8080), 3)"
    probe = compose_stack.exec("backend", "python", "-c", dial)
    assert probe.returncode != 0
    assert any(word in probe.stderr.lower() for word in ("unreachable", "timed out", "refused"))
    # The same address does answer from a network that has a route to it.
    status, _, _ = fetch(f"http://{public_ip}:8080/healthz")
    assert status == 200


def test_services_run_as_non_root_on_read_only_filesystems(compose_stack):
    for service in ("backend", "frontend"):
        assert compose_stack.exec(service, "id", "-u").stdout.strip() != "0", service
        attempt = compose_stack.exec(service, "sh", "-c", "echo x > /usr/local/probe")
        assert attempt.returncode != 0, service
        assert compose_stack.inspect(service)["HostConfig"]["ReadonlyRootfs"] is True


def test_browser_smoke_draw_and_read(compose_stack, browser, mnist_test_set):
    images, _ = mnist_test_set
    context = browser.new_context(viewport={"width": 1100, "height": 800})
    try:
        page = context.new_page()
        page.goto(compose_stack.url + "/")
        page.wait_for_selector('[data-testid="prob-9"]')
        response = draw_digit(page, images[first_of_each_digit(mnist_test_set)[5]])
        assert response.status == 200
        expect(page.get_by_test_id("prediction")).to_have_text("5")
        artifacts = REPO_ROOT / "test-artifacts" / "screenshots"
        artifacts.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(artifacts / "compose-smoke.png"))
    finally:
        context.close()


def test_backend_crash_gives_json_errors_then_recovers(compose_stack, digit_data_url,
                                                       digit_png):
    backend = compose_stack.container("backend")
    subprocess.run(["docker", "kill", backend], check=True, capture_output=True)
    status, body = post_json(f"{compose_stack.url}/api/predict", {"image": digit_data_url})
    assert status in (502, 503, 504)
    assert body["error"]["code"] in ("backend_unavailable", "backend_timeout")
    subprocess.run(["docker", "start", backend], check=True, capture_output=True)
    compose_stack.wait_healthy("backend", "frontend")
    deadline = time.monotonic() + 30
    while True:
        status, body = post_json(f"{compose_stack.url}/api/predict", {"image": digit_data_url})
        if status == 200 or time.monotonic() > deadline:
            break
        time.sleep(1)
    assert status == 200 and body["digit"] == digit_png[1]


def served_production(stack: ComposeStack) -> str:
    status, _, body = fetch(f"{stack.url}/api/models")
    assert status == 200
    versions_ = json.loads(body)["versions"]
    return next(v["version"] for v in versions_ if v["role"] == "production")


def wait_for_production(stack: ComposeStack, version: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while served_production(stack) != version:
        assert time.monotonic() < deadline, f"{version} never became production"
        time.sleep(0.5)


def test_promote_and_rollback_through_the_mounted_registry(compose_stack, digit_data_url):
    """The host edits registry.json; the containers' workers follow without a restart."""
    original = open_store(compose_stack.models).registry.production
    started = compose_stack.inspect("backend")["State"]["StartedAt"]
    assert versions.main(["--models", str(compose_stack.models), "canary", CANDIDATE,
                          "--weight", "0.5"]) == 0
    assert versions.main(["--models", str(compose_stack.models), "promote"]) == 0
    wait_for_production(compose_stack, CANDIDATE)
    status, body = post_json(f"{compose_stack.url}/api/predict", {"image": digit_data_url})
    assert status == 200 and body["model"]["version"] == CANDIDATE
    assert versions.main(["--models", str(compose_stack.models), "rollback"]) == 0
    wait_for_production(compose_stack, original)
    assert compose_stack.inspect("backend")["State"]["StartedAt"] == started  # no restart


# --- the training image ---------------------------------------------------------------------

@pytest.fixture(scope="module")
def training_image():
    problem = engine_problem()
    if problem:
        pytest.skip(f"training image not built: {problem}")
    project = f"mnisttrain{os.getpid()}"
    command = [*compose_command(), "-p", project, "--profile", "training", "build", "jupyter"]
    result = subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True,
                            timeout=1800, env={**os.environ, "COMPOSE_PROJECT_NAME": project})
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return "mnist-webapp/training:local"


@pytest.mark.parametrize("owner", [0, 1000], ids=["root-checkout", "user-checkout"])
def test_the_notebook_runs_headless_in_the_training_image(training_image, mnist_npz, owner):
    """Whoever owns the checkout, the export lands in ./models and belongs to them."""
    models = shared_folder(f"training-models-{owner}")
    os.chown(models, owner, owner)
    try:
        result = subprocess.run(
            ["docker", "run", "--rm", "--network", "none",
             "-v", f"{models}:/workspace/models", "-v", f"{mnist_npz}:/data/mnist.npz:ro",
             "-e", "MNIST_NPZ=/data/mnist.npz", training_image,
             "papermill", "/workspace/training/mnist_cnn.ipynb", "/tmp/executed.ipynb",
             "--cwd", "/workspace/training", "-p", "EPOCHS", "1", "-p", "LIMIT", "600"],
            capture_output=True, text=True, timeout=900)
        assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
        store = open_store(models)
        version_dir = store.version_dir(store.registry.production)
        metadata = json.loads((version_dir / "metadata.json").read_text())
        assert metadata["test_images"] == 600 and metadata["epochs"] == 1
        written = [models / "registry.json", version_dir, *version_dir.iterdir()]
        assert {path.stat().st_uid for path in written} == {owner}
    finally:
        shutil.rmtree(models, ignore_errors=True)
