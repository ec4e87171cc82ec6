"""The playbooks parse, ansible-lint (production profile, offline) finds nothing, and cfn-lint
finds nothing in the serverless stack's CloudFormation template."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.deploy import ANSIBLE_DIR

VENV_BIN = Path(sys.executable).parent
PLAYBOOKS = sorted(p.name for p in ANSIBLE_DIR.glob("*.yml") if p.name != "requirements.yml")
TEMPLATE = ANSIBLE_DIR.parent / "serverless" / "template.yaml"
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


def test_every_playbook_is_checked():
    assert {"provision.yml", "site.yml", "rollout.yml", "train.yml", "teardown.yml",
            "serverless.yml", "serverless-rollback.yml", "serverless-teardown.yml"} <= set(
        PLAYBOOKS)


def test_cfn_lint_is_clean():
    result = subprocess.run([str(VENV_BIN / "cfn-lint"), "--format", "parseable", str(TEMPLATE)],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr


def test_cfn_lint_catches_a_broken_template(tmp_path):
    """The check can fail: a route to an integration that does not exist."""
    broken = tmp_path / "template.yaml"
    broken.write_text(TEMPLATE.read_text().replace("integrations/${LiveIntegration}",
                                                   "integrations/${NoSuchIntegration}", 1))
    result = subprocess.run([str(VENV_BIN / "cfn-lint"), "--format", "parseable", str(broken)],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode != 0 and "NoSuchIntegration" in result.stdout
