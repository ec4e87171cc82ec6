"""gunicorn settings for the backend: ``gunicorn -c backend/gunicorn.conf.py backend.wsgi:app``.

Every value can be changed through the environment (see the README); the defaults suit a
small VM or container: one sync worker per core, each running the model on one thread.
The app (and the model) is loaded once in the master before the workers fork, so the workers
share the model's memory and the master only starts serving once a warm-up prediction ran.
"""

import ctypes
import os
import shutil
import tempfile

from backend.config import serving_setting

# One core per worker process: numpy's BLAS must not start threads of its own.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
# Load synchronously: with preload_app the master loads the model before forking workers.
os.environ.setdefault("MODEL_LOAD_ASYNC", "0")

# Prometheus counters shared by all workers live in a folder of files (in memory where
# possible). It must exist before the app is imported, which preload_app does right after
# this file is read.
_created_metrics_dir = None
if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    _created_metrics_dir = tempfile.mkdtemp(
        prefix="mnist-metrics-", dir="/dev/shm" if os.path.isdir("/dev/shm") else None)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = _created_metrics_dir
os.makedirs(os.environ["PROMETHEUS_MULTIPROC_DIR"], exist_ok=True)
for _name in os.listdir(os.environ["PROMETHEUS_MULTIPROC_DIR"]):
    os.remove(os.path.join(os.environ["PROMETHEUS_MULTIPROC_DIR"], _name))  # an earlier run's

bind = os.environ.get("BIND", "0.0.0.0:5000")
workers = int(os.environ.get("WEB_CONCURRENCY", os.cpu_count() or 2))
worker_class = "sync"
preload_app = True
# Below nginx's PROXY_READ_TIMEOUT, far above the costliest accepted request (serving.env).
timeout = serving_setting("GUNICORN_TIMEOUT")
graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT", "10"))
# No control socket (gunicorn >= 24 would create ~/.gunicorn/gunicorn.ctl): nothing to
# administer at run time, and the container's root filesystem is read-only.
control_socket_disable = True
# Heartbeat files in memory: works with a read-only root filesystem and never touches a disk.
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None

# One line per request: client, request line (path only: images travel in the body and are
# never logged), status, size, duration; formatted cheaply (backend/gunicorn_logging.py).
accesslog = os.environ.get("ACCESS_LOG", "-") or None
logger_class = "backend.gunicorn_logging.LeanAccessLogger"
errorlog = "-"
loglevel = os.environ.get("LOG_LEVEL", "info")


def on_starting(server):
    """Bring the feedback database to this code's schema once, before any worker serves."""
    from backend.feedback.migrate import upgrade_at_start

    store = server.app.wsgi().extensions.get("mnist_feedback")
    if store is not None:
        upgrade_at_start(store)


def post_fork(server, worker):
    _keep_freed_memory()
    import cv2

    cv2.setNumThreads(1)  # one core per worker, as for BLAS above


def _keep_freed_memory():
    """Each prediction allocates a few hundred KB (decoded pixels, float copies). By default
    glibc returns blocks that size to the kernel on free and page-faults them back in on the
    next request, which cost ~0.5 ms a request here. Keeping them in the heap (up to a few MB)
    removes that; a no-op where libc is not glibc."""
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:
        return
    m_trim_threshold, m_mmap_threshold = -1, -3
    libc.mallopt(m_mmap_threshold, 4 * 1024 * 1024)
    libc.mallopt(m_trim_threshold, 32 * 1024 * 1024)


def child_exit(server, worker):
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def on_exit(server):
    if _created_metrics_dir:
        shutil.rmtree(_created_metrics_dir, ignore_errors=True)
