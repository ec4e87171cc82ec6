"""The playbooks parse, and ansible-lint (production profile, offline) finds nothing."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.deploy import ANSIBLE_DIR

VENV_BIN = Path(sys.executable).parent
PLAYBOOKS = ["provision.yml", "site.yml", "rollout.yml", "train.yml", "teardown.yml"]
ENV = {**os.environ, "ANSIBLE_CONFIG": str(ANSIBLE_DIR / "ansible.cfg"), "ANSIBLE_NOCOLOR": "1",
       "PATH": f"{VENV_BIN}:{os.environ['PATH']}"}


@pytest.mark.parametrize("playbook", PLAYBOOKS)
def test_syntax_check(playbook):
    result = subprocess.run([str(VENV_BIN / "ansible-playbook"), "--syntax-check", "-i",
                             "localhost,", playbook], cwd=ANSIBLE_DIR, env=ENV,
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.slow
def test_ansible_lint_is_clean():
    result = subprocess.run([str(VENV_BIN / "ansible-lint"), "--nocolor"], cwd=ANSIBLE_DIR,
                            env=ENV, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    assert "Profile 'production' was required, and it passed" in result.stderr + result.stdout
