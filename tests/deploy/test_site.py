"""site.yml for real: a bastion, a frontend and two backends in network namespaces,
configured through the bastion twice (the second run changes nothing), then a prediction
through the frontend's nginx; then rollout.yml sends a candidate version to one backend first,
and a broken one is rolled back by the health gate before it reaches the second. Needs root,
debootstrap, systemd-nspawn and the Debian mirror (once, for the cached root filesystem);
skipped with the reason otherwise."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from backend.registry import Registry, open_store, write_registry
from tests.backend.test_versions import CANDIDATE, add_version
from tests.conftest import MODEL_DIR, MODEL_NAME, MODELS_ROOT, REPO_ROOT
from tests.deploy.lab import Lab

pytestmark = [pytest.mark.slow, pytest.mark.netns]

ANSIBLE_DIR = REPO_ROOT / "deploy" / "ansible"
VENV_BIN = Path(sys.executable).parent
CACHE = Path(os.environ.get("MNIST_LAB_CACHE", "/var/cache/mnist-test-hosts"))


def lab_problem() -> str | None:
    if os.geteuid() != 0:
        return "needs root (network namespaces, mounts, systemd-nspawn)"
    for tool in ("ip", "debootstrap", "systemd-nspawn", "chroot", "mount"):
        if not shutil.which(tool):
            return f"{tool} is not installed (make test-packages)"
    return None


def wheelhouse() -> Path:
    """The backend's wheels, fetched once from PyPI on this side (the lab has no internet)."""
    requirements = REPO_ROOT / "backend" / "requirements.txt"
    key = hashlib.sha256(requirements.read_bytes()).hexdigest()[:12]
    folder = CACHE / f"wheels-{key}"
    if not (folder / ".complete").exists():
        shutil.rmtree(folder, ignore_errors=True)
        subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--only-binary",
                        ":all:", "-r", str(requirements), "-d", str(folder)], check=True)
        (folder / ".complete").write_text("ok\n")
    return folder


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    problem = lab_problem()
    if problem:
        pytest.skip(f"host configuration suite not run: {problem}")
    if not (REPO_ROOT / "frontend/static/vendor/onnxruntime-web/ort.wasm.min.mjs").exists():
        pytest.fail("frontend/static/vendor is missing: run the tests through `make test`")
    work = tmp_path_factory.mktemp("lab")
    key = work / "id_ed25519"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    lab = Lab(work=work / "hosts", cache=CACHE)
    try:
        lab.start(key.with_suffix(".pub").read_text())
        lab.key = key
        lab.wheels = wheelhouse()
        lab.inventory = write_inventory(lab, work / "inventory.yml")
        yield lab
    finally:
        lab.stop()


def write_inventory(lab: Lab, path: Path) -> Path:
    """The same groups the aws_ec2 inventory yields; hosts behind the bastion by private IP."""
    hosts = lab.hosts
    inventory = {"all": {"children": {
        "bastion": {"hosts": {"bastion-1": {"ansible_host": hosts["bastion"].public_ip}}},
        "frontend": {"hosts": {"frontend-1": {"ansible_host": hosts["frontend"].private_ip,
                                              "private_ip": hosts["frontend"].private_ip}}},
        "backend": {"hosts": {
            f"backend-{i}": {"ansible_host": hosts[name].private_ip,
                             "private_ip": hosts[name].private_ip}
            for i, name in ((1, "backend"), (2, "backend2"))}},
        "behind_bastion": {"children": {"frontend": {}, "backend": {}}},
    }}}
    path.write_text(yaml.safe_dump(inventory))
    return path


def ansible(lab: Lab, program: str, *args: str, **more: object) -> subprocess.CompletedProcess:
    environment = {**os.environ, "ANSIBLE_CONFIG": str(ANSIBLE_DIR / "ansible.cfg"),
                   "ANSIBLE_FORCE_COLOR": "0", "ANSIBLE_NOCOLOR": "1",
                   "PATH": f"{VENV_BIN}:{os.environ['PATH']}"}
    extra = {
        "ssh_private_key_file": str(lab.key),
        "ssh_known_hosts_file": str(lab.work / "known_hosts"),
        "backend_wheelhouse": str(lab.wheels),
        "backend_workers": 1,
        # No package mirror inside the lab: the hosts come with their packages installed.
        "common_apt_update": False,
        "common_upgrade": False,
        # No RDS inside the lab: each backend keeps its corrections in SQLite.
        "feedback_store": "sqlite",
        **more,
    }
    return lab.in_controller(
        [str(VENV_BIN / program), "-i", str(lab.inventory), "-e", json.dumps(extra), *args],
        cwd=ANSIBLE_DIR, env=environment, capture_output=True, text=True, timeout=1200)


def recap(output: str) -> dict[str, dict[str, int]]:
    counts = {}
    for host, fields in re.findall(r"^(\S+)\s+:\s+(ok=.*)$", output, re.MULTILINE):
        counts[host] = {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", fields)}
    return counts


@pytest.fixture(scope="module")
def site_runs(lab):
    runs = []
    for _ in range(2):
        result = ansible(lab, "ansible-playbook", "site.yml")
        assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-3000:]
        runs.append(recap(result.stdout))
    return runs


def test_first_run_configures_every_host(site_runs):
    first = site_runs[0]
    assert {"bastion-1", "frontend-1", "backend-1", "backend-2"} <= set(first)
    for host in ("bastion-1", "frontend-1", "backend-1", "backend-2"):
        assert first[host]["failed"] == 0 and first[host]["unreachable"] == 0
        assert first[host]["changed"] > 0, host


def test_second_run_changes_nothing(site_runs):
    second = site_runs[1]
    for host, counts in second.items():
        assert counts["changed"] == 0, (host, counts)
        assert counts["failed"] == 0 and counts["unreachable"] == 0


def test_backend_is_unreachable_from_the_controller(lab, site_runs):
    backend = lab.hosts["backend"].private_ip
    probe = lab.in_controller([sys.executable, "-c",
                               f"import socket; socket.create_connection(('{backend}', 5000), 3)"],
                              capture_output=True, text=True)
    assert probe.returncode != 0
    assert "unreachable" in probe.stderr.lower()


def test_backend_runs_as_a_systemd_unit_on_its_private_address(lab, site_runs):
    result = ansible(lab, "ansible", "backend", "-b", "-m", "ansible.builtin.command", "-a",
                     "systemctl show mnist-backend -p ActiveState -p SubState -p User")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "ActiveState=active" in result.stdout and "User=mnist" in result.stdout
    listening = ansible(lab, "ansible", "backend", "-b", "-m", "ansible.builtin.command",
                        "-a", "ss -ltn")
    assert f"{lab.hosts['backend'].private_ip}:5000" in listening.stdout


def test_prediction_through_the_frontend(lab, site_runs, digit_data_url, digit_png):
    frontend = lab.hosts["frontend"].public_ip
    body = json.dumps({"image": digit_data_url})
    result = lab.in_controller(
        ["curl", "-s", "-m", "10", "-H", "Content-Type: application/json", "--data-binary",
         "@-", f"http://{frontend}/api/predict"], input=body, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout)
    assert answer["digit"] == digit_png[1]
    assert answer["model"] == {"name": MODEL_NAME,
                               "version": open_store(MODELS_ROOT).registry.production}
    page = lab.in_controller(["curl", "-s", "-m", "10", f"http://{frontend}/"],
                             capture_output=True, text=True)
    assert 'data-testid="canvas"' in page.stdout


def test_feedback_is_stored_on_the_backend(lab, site_runs):
    """A correction through the frontend lands in the backend's SQLite store (its state
    folder, the one place the hardened unit may write)."""
    version = open_store(MODELS_ROOT).registry.production
    frontend = lab.hosts["frontend"].public_ip
    correction_id = "6f0c2a4e-8a7b-4c1d-9e2f-3a4b5c6d7e8f"
    body = json.dumps({"id": correction_id, "input": [[0.0] * 12 + [1.0] * 4 + [0.0] * 12] * 28,
                       "predicted": 7, "corrected": 1, "model_version": version})
    result = lab.in_controller(
        ["curl", "-s", "-m", "10", "-H", "Content-Type: application/json", "--data-binary",
         "@-", f"http://{frontend}/api/feedback"], input=body, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["stored"]["id"] == correction_id, result.stdout
    listing = ansible(lab, "ansible", "backend", "-b", "-m", "ansible.builtin.shell", "-a",
                      # As the service's user: files root made would lock the service out.
                      "cd /opt/mnist/app && set -a && . /etc/mnist/backend.env && "
                      "runuser -u mnist -- /opt/mnist/venv/bin/python -m backend.feedback "
                      "list -n 5")
    assert listing.returncode == 0, listing.stdout + listing.stderr
    assert listing.stdout.count(correction_id) == 1  # on one backend, once


# --- rollout.yml: one backend first, a health gate, automatic rollback ----------------------

BROKEN = "badbadbadbadbad0"


def registries_on_backends(lab: Lab) -> dict[str, dict]:
    result = ansible(lab, "ansible", "backend", "-b", "-m", "ansible.builtin.slurp", "-a",
                     "src=/opt/mnist/app/models/registry.json", "-o")
    assert result.returncode == 0, result.stdout + result.stderr
    registries = {}
    for line in result.stdout.splitlines():
        host, _, answer = line.partition(" | SUCCESS => ")
        registries[host.strip()] = json.loads(base64.b64decode(json.loads(answer)["content"]))
    return registries


@pytest.fixture(scope="module")
def controller_models(tmp_path_factory):
    """The controller's registry for the rollouts: production, a good and a broken candidate."""
    models = tmp_path_factory.mktemp("controller-models")
    production = open_store(MODELS_ROOT).registry.production
    shutil.copytree(MODEL_DIR, models / MODEL_NAME / production)
    add_version(models, CANDIDATE)
    broken = add_version(models, BROKEN)
    (broken / "model.tflite").write_bytes(b"not a model")  # loads nowhere: the gate must see it
    write_registry(models, Registry(MODEL_NAME, production))
    return models


@pytest.fixture(scope="module")
def good_rollout(lab, site_runs, controller_models):
    registry = open_store(controller_models).registry.with_candidate(CANDIDATE, 0.5)
    write_registry(controller_models, registry)
    result = ansible(lab, "ansible-playbook", "rollout.yml",
                     model_registry_source=str(controller_models))
    return result, registry


def test_a_candidate_reaches_every_backend_through_the_gate(lab, good_rollout):
    result, registry = good_rollout
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-3000:]
    # serial [1, 100%]: one batch of one backend, then a batch of the rest.
    assert result.stdout.count("PLAY [Roll the model registry out, one backend first]") == 2
    assert all(r == registry.to_json() for r in registries_on_backends(lab).values())
    frontend = lab.hosts["frontend"].public_ip
    answer = lab.in_controller(
        ["curl", "-s", "-m", "10", "-H", f"X-Model-Version: {CANDIDATE}", "-H",
         "Content-Type: image/png", "--data-binary", "@" + str(REPO_ROOT / "benchmarks" /
                                                              "canvas-digit.png"),
         f"http://{frontend}/api/predict"], capture_output=True, text=True)
    assert json.loads(answer.stdout)["model"]["version"] == CANDIDATE


def test_a_broken_candidate_is_rolled_back_on_the_first_backend(lab, good_rollout,
                                                               controller_models):
    before = registries_on_backends(lab)
    broken = open_store(controller_models).registry.with_candidate(BROKEN, 0.2)
    write_registry(controller_models, broken)
    result = ansible(lab, "ansible-playbook", "rollout.yml",
                     model_registry_source=str(controller_models))
    assert result.returncode != 0
    assert "failed the health gate on backend-1" in result.stdout
    after = registries_on_backends(lab)
    assert after == before  # backend-1 put back, backend-2 never touched
    assert BROKEN not in json.dumps(after)
    # Both keep answering with what they served before.
    frontend = lab.hosts["frontend"].public_ip
    status = lab.in_controller(
        ["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "-m", "10", "-H",
         "Content-Type: image/png", "--data-binary",
         "@" + str(REPO_ROOT / "benchmarks" / "canvas-digit.png"),
         f"http://{frontend}/api/predict"], capture_output=True, text=True)
    assert status.stdout == "200"
