"""Tests of deploy/ansible: against a local AWS API (moto) and a lab of systemd-nspawn hosts."""

from __future__ import annotations

import re
from pathlib import Path

ANSIBLE_DIR = Path(__file__).resolve().parents[2] / "deploy" / "ansible"


def deployment_settings() -> dict[str, str]:
    """deploy/ansible/deployment.env: the project, environment and region that the inventory
    and the playbooks read (KEY=value lines)."""
    settings = {}
    for line in (ANSIBLE_DIR / "deployment.env").read_text().splitlines():
        key, separator, value = line.partition("=")
        if separator and not key.lstrip().startswith("#"):
            settings[key.strip()] = value.strip()
    return settings


def recap(output: str) -> dict[str, dict[str, int]]:
    """The PLAY RECAP of an ansible-playbook run: {host: {"ok": n, "changed": n, ...}}."""
    counts = {}
    for host, fields in re.findall(r"^(\S+)\s+:\s+(ok=.*)$", output, re.MULTILINE):
        counts[host] = {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", fields)}
    return counts
