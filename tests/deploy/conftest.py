"""The deployment suites' shared fixture: a local AWS API (moto on 127.0.0.1)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.deploy.local_aws import Aws
from tests.deploy.moto_server import VALIDATION_SWITCHES
from tests.servers import free_port, stop, wait_for_http


@pytest.fixture(scope="module")
def aws(tmp_path_factory):
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, str(Path(__file__).parent / "moto_server.py"), str(port)],
        env={**os.environ, **VALIDATION_SWITCHES,
             "MOTO_AMIS_PATH": str(Path(__file__).parent / "amis.json")},
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        wait_for_http(f"http://127.0.0.1:{port}/moto-api/", process=server)
        yield Aws(f"http://127.0.0.1:{port}", tmp_path_factory.mktemp("aws"))
    finally:
        stop(server)
