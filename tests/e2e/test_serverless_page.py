"""The page against the serverless function, in Chromium: nginx serves the page, whose
config.js points at a separate API origin, as with the API Gateway URL of `make serverless`.

The function is the built package run in an empty python3.13 environment behind
serverless/gateway.py, which turns each request into an HTTP API event with the template's
routes; the page's requests are cross-origin, so its CORS preflights, the app's
CORS_ORIGINS and nginx's Content-Security-Policy (API_ORIGIN) all take part.
"""

from __future__ import annotations

import re
import socket

import pytest
from playwright.sync_api import expect

from tests.conftest import MODEL_NAME, REPO_ROOT
from tests.e2e.pointer import canvas_box, draw_with_mouse, number_strokes
from tests.servers import fetch, free_port, start_nginx, stop, wait_for_http
from training.strokes import digit_strokes

pytestmark = [pytest.mark.slow, pytest.mark.browser, pytest.mark.serverless]


@pytest.fixture(scope="module")
def serverless_site(local_function, tmp_path_factory):
    work = tmp_path_factory.mktemp("serverless-site")
    api_port, page_port = free_port(), free_port()
    api, page = f"http://127.0.0.1:{api_port}", f"http://127.0.0.1:{page_port}"
    gateway = local_function.start_gateway(api_port, {"CORS_ORIGINS": page},
                                           log_path=work / "gateway.log")
    # No backend at all behind nginx's /api/: every answer must come from the function.
    nginx = start_nginx(work / "nginx", page_port, f"127.0.0.1:{free_port()}",
                        work / "nginx.log", settings={"API_ORIGIN": api})
    try:
        wait_for_http(f"{api}/nowhere", process=gateway, status=404)
        wait_for_http(f"{page}/healthz", process=nginx)
        yield api, page
    finally:
        stop(nginx)
        stop(gateway)


@pytest.fixture
def serverless_page(browser, serverless_site):
    api, site = serverless_site
    config = (REPO_ROOT / "frontend" / "static" / "config.js").read_text()
    pointed = config.replace('apiBase: "/api"', f'apiBase: "{api}"')
    assert pointed != config
    context = browser.new_context(viewport={"width": 1100, "height": 800})
    # What a user does for this deployment: edit apiBase in config.js.
    context.route("**/static/config.js", lambda route: route.fulfill(
        status=200, content_type="text/javascript", body=pointed))
    page = context.new_page()
    page.console_errors = []
    page.on("console", lambda m: m.type == "error" and page.console_errors.append(m.text))
    page.goto(site + "/")
    page.wait_for_selector('[data-testid="prob-9"]')
    yield page
    context.close()


def test_the_csp_admits_the_api_origin_only_when_named(serverless_site):
    api, site = serverless_site
    _, headers, _ = fetch(site + "/")
    assert re.search(rf"connect-src 'self' {re.escape(api)};",
                     headers["Content-Security-Policy"])


def test_the_page_reads_a_digit_through_the_function(serverless_page, mnist_test_set):
    page = serverless_page
    api = page.evaluate("import('/static/config.js').then(m => m.default.apiBase)")
    images, _ = mnist_test_set
    expect(page.get_by_test_id("model-info")).to_contain_text(MODEL_NAME)  # GET /models
    with page.expect_response(lambda r: r.url == f"{api}/predict") as response:
        draw_with_mouse(page, digit_strokes(images[0], canvas_box(page)))
    assert response.value.status == 200
    assert response.value.headers["access-control-allow-origin"] == page.url.rstrip("/")
    expect(page.get_by_test_id("prediction")).to_have_text("7")
    assert page.console_errors == []


def test_the_page_reads_a_zip_code_through_the_function(serverless_page, mnist_test_set):
    page = serverless_page
    page.get_by_test_id("mode-number").check()
    with page.expect_response(lambda r: r.url.endswith("/predict/number")) as response:
        draw_with_mouse(page, number_strokes(page, mnist_test_set, (0, 2, 1, 3, 9)))
    assert response.value.status == 200
    expect(page.get_by_test_id("number")).to_have_text("02139")


def test_the_gateway_refuses_a_garbled_body_length(serverless_site):
    """A negative Content-Length must not make the local gateway read until the client quits."""
    api, _ = serverless_site
    port = int(api.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=5) as connection:
        connection.sendall(b"POST /predict HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n")
        assert connection.recv(64).startswith(b"HTTP/1.1 400 ")
