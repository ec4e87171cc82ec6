"""The playbooks' own checks of their settings, as plain functions (no Ansible run)."""

from __future__ import annotations

import importlib.util

import pytest

from tests.conftest import REPO_ROOT
from tests.deploy.test_provision import HOSTILE_ADMIN_CIDRS

_spec = importlib.util.spec_from_file_location(
    "networks", REPO_ROOT / "deploy" / "ansible" / "filter_plugins" / "networks.py")
networks = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(networks)


@pytest.mark.parametrize("value", HOSTILE_ADMIN_CIDRS)
def test_open_or_malformed_admin_networks_are_refused(value):
    assert networks.admin_network_problem(value, 16) != ""


@pytest.mark.parametrize("value", ["203.0.113.7/32", "198.51.100.0/24", "10.20.0.0/16"])
def test_real_admin_networks_pass(value):
    assert networks.admin_network_problem(value, 16) == ""


def test_the_host_bits_trap_is_named():
    # AWS normalises 1.2.3.4/0 to 0.0.0.0/0: SSH open to the world.
    assert "host bits" in networks.admin_network_problem("1.2.3.4/0")
