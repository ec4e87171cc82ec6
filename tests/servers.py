"""Starting and stopping the real servers (gunicorn, nginx) for tests and benchmarks."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
SERVE_VENV = REPO_ROOT / ".venv-serve"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def fetch(url: str, *, data: bytes | None = None, headers: dict | None = None,
          timeout: float = 10.0):
    """One HTTP request: (status, headers, body), whatever the status."""
    request = urllib.request.Request(url, data=data, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read()


def post(url: str, body: bytes, content_type: str) -> tuple[int, dict]:
    """POST ``body``; (status, the JSON answer)."""
    status, _, answer = fetch(url, data=body, headers={"Content-Type": content_type})
    return status, json.loads(answer)


def wait_for_http(url: str, timeout: float = 60.0, process: subprocess.Popen | None = None,
                  status: int = 200) -> None:
    """Poll ``url`` until it answers ``status``; fail early if ``process`` dies."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == status:
                    return
        except urllib.error.HTTPError as error:
            if error.code == status:
                return
        except OSError:
            pass
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"{process.args} exited with {process.returncode}")
        if time.monotonic() > deadline:
            raise TimeoutError(f"{url} did not answer {status} within {timeout} s")
        time.sleep(0.1)


def start_gunicorn(port: int, *, workers: int = 2, log_path: Path | None = None,
                   env: dict[str, str] | None = None, python_env: Path = SERVE_VENV
                   ) -> subprocess.Popen:
    """The backend exactly as deployed: gunicorn with backend/gunicorn.conf.py."""
    environment = {**os.environ, "BIND": f"127.0.0.1:{port}", "WEB_CONCURRENCY": str(workers),
                   **(env or {})}
    environment.pop("PROMETHEUS_MULTIPROC_DIR", None)
    log = open(log_path, "wb") if log_path else subprocess.DEVNULL  # noqa: SIM115
    return subprocess.Popen(
        [str(python_env / "bin" / "gunicorn"), "-c", "backend/gunicorn.conf.py",
         "backend.wsgi:app"],
        cwd=REPO_ROOT, env=environment, stdout=log, stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def start_nginx(run_dir: Path, port: int, backends: str, log_path: Path | None = None,
                model_root: Path | None = None,
                settings: dict[str, str] | None = None) -> subprocess.Popen:
    """The frontend tier: nginx with the project's site config (scripts/nginx-local.sh);
    ``settings``: the template's settings (API_ORIGIN, ...) beside the environment's."""
    log = open(log_path, "wb") if log_path else subprocess.DEVNULL  # noqa: SIM115
    env = {**os.environ, **({"MODEL_ROOT": str(model_root)} if model_root else {}),
           **(settings or {})}
    return subprocess.Popen(
        [str(REPO_ROOT / "scripts" / "nginx-local.sh"), str(run_dir), str(port), backends],
        cwd=REPO_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )


def worker_memory_mb(master_pid: int, field: str = "VmRSS") -> list[float]:
    """A /proc status field (VmRSS now, VmHWM peak) of each of a gunicorn master's workers."""
    children = Path(f"/proc/{master_pid}/task/{master_pid}/children").read_text().split()
    sizes = []
    for pid in children:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(f"{field}:"):
                sizes.append(int(line.split()[1]) / 1024)
    return sizes


def stop(process: subprocess.Popen, timeout: float = 10.0) -> None:
    """SIGTERM the process group (gunicorn's workers, nginx's workers too), then SIGKILL."""
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout)
    except ProcessLookupError:
        pass


class PostgresUnavailable(RuntimeError):
    """No PostgreSQL server binaries here (Debian's `postgresql` package is not installed)."""


def postgres_bin() -> Path:
    """The newest installed PostgreSQL's bin folder (Debian: /usr/lib/postgresql/<N>/bin)."""
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"),
                   key=lambda p: int(p.parent.parent.name) if p.parent.parent.name.isdigit()
                   else 0)
    if not found:
        raise PostgresUnavailable("no /usr/lib/postgresql/*/bin/initdb: install `postgresql`")
    return found[-1].parent


def start_postgres(data_dir: Path, port: int, password: str, *, user: str = "mnist",
                   database: str = "feedback") -> tuple[subprocess.Popen, str]:
    """A real PostgreSQL server on 127.0.0.1:``port`` with password authentication; returns
    the process and the SQLAlchemy URL of an empty ``database`` owned by ``user``.

    PostgreSQL refuses to run as root, so as root it runs as the package's `postgres` user.
    """
    bin_dir = postgres_bin()
    data_dir.mkdir(parents=True)
    password_file = data_dir.parent / f"{data_dir.name}.password"
    password_file.write_text(password + "\n")
    as_owner: list[str] = []
    if os.geteuid() == 0:
        import shutil

        shutil.chown(data_dir, "postgres")
        shutil.chown(password_file, "postgres")
        as_owner = ["runuser", "-u", "postgres", "--"]
    subprocess.run([*as_owner, str(bin_dir / "initdb"), "-D", str(data_dir), "-U", user,
                    "--auth=scram-sha-256", f"--pwfile={password_file}", "-E", "UTF8"],
                   check=True, capture_output=True)
    password_file.unlink()
    process = subprocess.Popen(
        [*as_owner, str(bin_dir / "postgres"), "-D", str(data_dir), "-p", str(port),
         "-c", "listen_addresses=127.0.0.1", "-c", f"unix_socket_directories={data_dir}",
         "-c", "fsync=off"],
        stdout=subprocess.DEVNULL, stderr=open(data_dir.parent / f"{data_dir.name}.log", "wb"),  # noqa: SIM115
        start_new_session=True)
    env = {**os.environ, "PGPASSWORD": password}
    deadline = time.monotonic() + 30
    while subprocess.run([str(bin_dir / "pg_isready"), "-h", "127.0.0.1", "-p", str(port)],
                         capture_output=True).returncode != 0:
        if process.poll() is not None or time.monotonic() > deadline:
            stop(process)
            raise RuntimeError(f"PostgreSQL did not start; see {data_dir}.log")
        time.sleep(0.2)
    subprocess.run([str(bin_dir / "createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", user,
                    database], check=True, capture_output=True, env=env)
    return process, f"postgresql+psycopg://{user}:{password}@127.0.0.1:{port}/{database}"
