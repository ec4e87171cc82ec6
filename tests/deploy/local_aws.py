"""A local AWS API for the deployment tests: moto on 127.0.0.1 and the playbooks run against it."""

from __future__ import annotations

import copy
import ipaddress
import json
import os
import subprocess
import sys
import urllib.parse
from pathlib import Path

import boto3

from tests.deploy import ANSIBLE_DIR, deployment_settings, recap

VENV_BIN = Path(sys.executable).parent
SETTINGS = deployment_settings()  # what the inventory and the playbooks read
REGION = SETTINGS["MNIST_AWS_REGION"]
ADMIN_CIDR = "203.0.113.0/24"


def require_loopback(endpoint: str) -> str:
    """These tests create and delete cloud resources: never against anything but a local API."""
    host = urllib.parse.urlsplit(endpoint).hostname or ""
    try:
        loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        raise RuntimeError(f"refusing to run provisioning tests against {endpoint!r}: "
                           "only a loopback endpoint (moto) is allowed")
    return endpoint


class Aws:
    def __init__(self, endpoint: str, work: Path) -> None:
        self.endpoint = require_loopback(endpoint)
        self.work = work
        self.key = work / "id_ed25519"
        self.outputs: list[str] = []  # each successful playbook run's output, in order
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(self.key)],
                       check=True)
        self.env = {
            **{k: v for k, v in os.environ.items()
               if not k.startswith("AWS_") and k not in SETTINGS},  # deployment.env's values
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": REGION,
            "AWS_EC2_METADATA_DISABLED": "true",
            "ANSIBLE_CONFIG": str(ANSIBLE_DIR / "ansible.cfg"),
            "ANSIBLE_NOCOLOR": "1",
            "PATH": f"{VENV_BIN}:{os.environ['PATH']}",
        }
        self.ec2, self.rds, self.ssm = (
            boto3.client(service, region_name=REGION, endpoint_url=self.endpoint,
                         aws_access_key_id="testing", aws_secret_access_key="testing")
            for service in ("ec2", "rds", "ssm"))

    def for_environment(self, name: str) -> Aws:
        """The same local AWS, acting on another deployment (MNIST_ENVIRONMENT)."""
        other = copy.copy(self)
        other.env = {**self.env, "MNIST_ENVIRONMENT": name}
        other.outputs = []
        return other

    def run(self, program: str, *args: str, **extra_vars) -> subprocess.CompletedProcess:
        variables = {"admin_cidr": ADMIN_CIDR, "ssh_public_key_file": f"{self.key}.pub",
                     "ssh_private_key_file": str(self.key),
                     "ssh_known_hosts_file": str(self.work / "known_hosts"),
                     "aws_teardown_retry_delay": 2, **extra_vars}
        return subprocess.run([str(VENV_BIN / program), *args, "-e", json.dumps(variables)],
                              cwd=ANSIBLE_DIR, env=self.env, capture_output=True, text=True,
                              timeout=900)

    def playbook(self, name: str, **extra_vars) -> dict:
        result = self.run("ansible-playbook", name, **extra_vars)
        assert result.returncode == 0, result.stdout[-5000:] + result.stderr[-3000:]
        self.outputs.append(result.stdout)
        return recap(result.stdout)["localhost"]
