"""The serving limits: one number each (serving.env) feeding every tier, timeouts in order."""

from __future__ import annotations

import re
import subprocess

from backend.config import serving_defaults, settings_from_env
from tests.conftest import REPO_ROOT

WORST_BOUNDED_REQUEST_S = 1.0  # the design budget; benchmarks/hostile.py measures ~0.1 s


def rendered_nginx(tmp_path, **env) -> str:
    out = tmp_path / "mnist.conf"
    subprocess.run(["sh", str(REPO_ROOT / "frontend/nginx/render.sh"),
                    str(REPO_ROOT / "frontend/nginx/mnist.conf.template"), str(out)],
                   check=True, env={"PATH": "/usr/bin:/bin", **env})
    return out.read_text()


def test_timeouts_nest_browser_nginx_gunicorn_request():
    limits = serving_defaults()
    config_js = (REPO_ROOT / "frontend/static/config.js").read_text()
    browser_s = int(re.search(r"requestTimeoutMs:\s*(\d+)", config_js)[1]) / 1000
    nginx_s, gunicorn_s = int(limits["PROXY_READ_TIMEOUT"]), int(limits["GUNICORN_TIMEOUT"])
    assert browser_s > nginx_s > gunicorn_s > WORST_BOUNDED_REQUEST_S


def test_one_body_limit_feeds_nginx_and_the_backend(tmp_path):
    limit = int(serving_defaults()["MAX_CONTENT_LENGTH"])
    assert settings_from_env({})["MAX_CONTENT_LENGTH"] == limit
    conf = rendered_nginx(tmp_path)
    assert f"client_max_body_size {limit};" in conf
    assert f"client_body_buffer_size {limit};" in conf  # whole bodies in memory, never on disk
    # An override in the environment reaches both, still one number.
    assert "client_max_body_size 2048;" in rendered_nginx(tmp_path, MAX_CONTENT_LENGTH="2048")
    assert settings_from_env({"MAX_CONTENT_LENGTH": "2048"})["MAX_CONTENT_LENGTH"] == 2048


def test_no_other_file_restates_the_limits():
    limit = serving_defaults()["MAX_CONTENT_LENGTH"]
    old_name = "MAX_" + "BODY_SIZE"  # nginx's former copy of the limit, in other units
    tracked = subprocess.run(["git", "ls-files"], cwd=REPO_ROOT, capture_output=True,
                             text=True, check=True).stdout.split()
    restating = [path for path in tracked
                 if path != "serving.env" and not path.endswith((".ipynb", ".json", ".png"))
                 and (REPO_ROOT / path).is_file()
                 and re.search(rf"\b{limit}\b|{old_name}", (REPO_ROOT / path).read_text(
                     errors="replace"))]
    assert restating == []


def test_nginx_limits_that_fit_together(tmp_path):
    conf = rendered_nginx(tmp_path)
    limits = serving_defaults()
    for directive in (f"limit_conn mnist_conn {limits['API_CONNECTIONS']};",
                      "client_header_timeout 5s;", "client_body_timeout 5s;",
                      "reset_timedout_connection on;",
                      f"proxy_read_timeout {limits['PROXY_READ_TIMEOUT']}s;",
                      f"rate={limits['API_RATE']};", f"burst={limits['API_BURST']} nodelay;",
                      "max_fails=3 fail_timeout=10s;", "location = /api/metrics",
                      f"client_max_body_size {limits['FEEDBACK_MAX_BYTES']};",
                      f"rate={limits['FEEDBACK_RATE']};",
                      f"zone=mnist_feedback burst={limits['FEEDBACK_BURST']} nodelay;"):
        assert directive in conf, directive
    assert "max_fails=1" not in conf  # one slow answer must not eject a healthy backend
