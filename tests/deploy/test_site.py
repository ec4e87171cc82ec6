"""site.yml for real: a bastion, a frontend and two backends in network namespaces, with a
NAT host as the backends' way to their package mirror and pebble as the ACME server,
configured through the bastion twice (the second run changes nothing), then a prediction
through the frontend's nginx over HTTPS; then rollout.yml sends a candidate version to one
backend first,
and a broken one is rolled back by the health gate before it reaches the second. Needs root,
debootstrap, systemd-nspawn and the Debian mirror (once, for the cached root filesystem);
skipped with the reason otherwise."""

from __future__ import annotations

import base64
import email.utils
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import jinja2
import pytest
import yaml

from backend.registry import Registry, open_store, write_registry
from tests.backend.test_versions import CANDIDATE, add_version
from tests.conftest import MODEL_DIR, MODEL_NAME, MODELS_ROOT, REPO_ROOT
from tests.deploy import ANSIBLE_DIR, deployment_settings, recap
from tests.deploy.lab import FIRST_BOOT_RELEASED, PRIVATE_NET, Lab, run

pytestmark = [pytest.mark.slow, pytest.mark.netns]

VENV_BIN = Path(sys.executable).parent
CACHE = Path(os.environ.get("MNIST_LAB_CACHE", "/var/cache/mnist-test-hosts"))
DOMAIN = "mnist.lab.test"  # .test: reserved for tests, never a real name (pebble's DNS answers)


def lab_problem() -> str | None:
    if os.geteuid() != 0:
        return "needs root (network namespaces, mounts, systemd-nspawn)"
    for tool in ("ip", "debootstrap", "systemd-nspawn", "chroot", "mount", "pebble",
                 "pebble-challtestsrv", "openssl", "curl"):
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


def mirror(wheels: Path, folder: Path) -> Path:
    """The lab's package mirror in ``folder``: a PyPI-style simple index (PEP 503) of
    ``wheels``, and an (empty) flat apt repository that apt-get update can read."""
    apt = folder / "apt"
    apt.mkdir(parents=True)
    (apt / "Packages").write_bytes(b"")
    (apt / "Release").write_text(
        f"Origin: mnist-lab\nLabel: mnist-lab\nSuite: lab\nCodename: lab\n"
        f"Date: {email.utils.formatdate(usegmt=True)}\n"
        f"SHA256:\n {hashlib.sha256(b'').hexdigest()} 0 Packages\n")
    (folder / "files").symlink_to(wheels)
    for wheel in sorted(wheels.glob("*.whl")):
        project = re.sub(r"[-_.]+", "-", wheel.name.split("-")[0]).lower()
        page = folder / "simple" / project / "index.html"
        page.parent.mkdir(parents=True, exist_ok=True)
        with page.open("a") as out:
            out.write(f'<a href="/files/{wheel.name}">{wheel.name}</a><br>\n')
    return folder


def nat_user_data() -> str:
    """The NAT instance's real user data (roles/aws_nat), for the lab's private network."""
    template = ANSIBLE_DIR / "roles/aws_nat/templates/nat-user-data.sh.j2"
    return jinja2.Template(template.read_text(), keep_trailing_newline=True).render(
        aws_nat_private_cidr=f"{PRIVATE_NET}.0/24")


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
        lab.start(key.with_suffix(".pub").read_text(), nat_user_data())
        lab.start_mirror(mirror(wheelhouse(), work / "mirror"))
        lab.acme = lab.start_acme(DOMAIN, lab.hosts["frontend"].public_ip)
        lab.key = key
        lab.inventory = write_inventory(lab, work / "inventory.yml")
        yield lab
    finally:
        lab.stop()


def write_inventory(lab: Lab, path: Path) -> Path:
    """The groups and the hostvars the aws_ec2 inventory yields (the deployment's tags and
    region, which site.yml checks); hosts behind the bastion by private IP."""
    settings = deployment_settings()

    def host(role: str, address: str, private: bool = True) -> dict:
        return {"ansible_host": address, **({"private_ip": address} if private else {}),
                "tags": {"Project": settings["MNIST_PROJECT"],
                         "Environment": settings["MNIST_ENVIRONMENT"], "Role": role},
                "placement": {"region": settings["MNIST_AWS_REGION"]}}

    hosts = lab.hosts
    inventory = {"all": {"children": {
        "bastion": {"hosts": {"bastion-1": host("bastion", hosts["bastion"].public_ip, False)}},
        "frontend": {"hosts": {"frontend-1": host("frontend", hosts["frontend"].private_ip)}},
        "backend": {"hosts": {
            f"backend-{i}": host("backend", hosts[name].private_ip)
            for i, name in ((1, "backend"), (2, "backend2"))}},
        "behind_bastion": {"children": {"frontend": {}, "backend": {}}},
    }}}
    path.write_text(yaml.safe_dump(inventory))
    return path


def ansible(lab: Lab, program: str, *args: str, **more: object) -> subprocess.CompletedProcess:
    settings = deployment_settings()  # the file's deployment, whatever this shell exports
    environment = {**{k: v for k, v in os.environ.items() if k not in settings},
                   "ANSIBLE_CONFIG": str(ANSIBLE_DIR / "ansible.cfg"),
                   "ANSIBLE_FORCE_COLOR": "0", "ANSIBLE_NOCOLOR": "1",
                   "PATH": f"{VENV_BIN}:{os.environ['PATH']}"}
    extra = {
        "ssh_private_key_file": str(lab.key),
        "ssh_known_hosts_file": str(lab.work / "known_hosts"),
        # pip reaches the lab's mirror, on "the internet", through the NAT host.
        "backend_pip_index_url": f"{lab.mirror_url}simple/",
        "backend_workers": 1,
        # apt updates from the lab's mirror, whose repository is empty: the hosts come with
        # their packages installed, so there is nothing to upgrade.
        "common_upgrade": False,
        # No RDS inside the lab: each backend keeps its corrections in SQLite.
        "feedback_store": "sqlite",
        # HTTPS from the lab's own ACME server (pebble), as from Let's Encrypt.
        "frontend_domain": DOMAIN,
        "frontend_acme_email": f"ops@{DOMAIN}",
        "frontend_acme_directory_url": lab.acme.directory_url,
        "frontend_acme_ca_bundle": str(lab.acme.listener_ca),
        **more,
    }
    return lab.in_controller(
        [str(VENV_BIN / program), "-i", str(lab.inventory), "-e", json.dumps(extra), *args],
        cwd=ANSIBLE_DIR, env=environment, capture_output=True, text=True, timeout=1200)


def frontend(lab: Lab, path: str, *curl: str, **kwargs) -> subprocess.CompletedProcess:
    """curl https://DOMAIN<path> from the controller, trusting only pebble's root."""
    address = lab.hosts["frontend"].public_ip
    return lab.in_controller(
        ["curl", "-s", "-m", "10", "--cacert", str(lab.acme.root_ca),
         "--resolve", f"{DOMAIN}:443:{address}", *curl, f"https://{DOMAIN}{path}"],
        capture_output=True, text=True, **kwargs)


@pytest.fixture(scope="module")
def site_runs(lab):
    lab.site_started = time.time()
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


def test_first_run_waits_for_the_first_boot_package_run(lab, site_runs):
    """The bastion's dpkg lock was still held when site.yml began (as unattended-upgrades
    holds it on a fresh instance): nothing was configured there before it was let go."""
    root = lab.hosts["bastion"].root
    released = float((root / FIRST_BOOT_RELEASED.lstrip("/")).read_text())
    assert released > lab.site_started + 5  # site.yml really met a held lock
    hardening = root / "etc/ssh/sshd_config.d/10-mnist-hardening.conf"
    assert hardening.stat().st_mtime >= released


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


def test_the_backends_reach_their_mirror_only_through_the_nat(lab, site_runs):
    """The backends updated apt and installed their Python packages from the mirror on "the
    internet", and the mirror saw their requests come from the NAT host's public address: the
    real NAT user data masqueraded them (the backends have no other way out)."""
    nat = lab.hosts["nat"]
    requests = lab.mirror_requests()
    private = {h.private_ip for h in lab.hosts.values()}
    assert not {client for client, _ in requests} & private
    # pip's index and apt's repository, both through the NAT (the public hosts come directly).
    through_nat = {path.split("/")[1] for client, path in requests if client == nat.public_ip}
    assert {"simple", "files", "apt"} <= through_nat, requests
    for name in ("backend", "backend2"):
        route = run(["ip", "-n", lab.hosts[name].namespace, "route", "get", lab.internet_ip])
        assert f"via {nat.private_ip}" in route


def test_backend_runs_as_a_systemd_unit_on_its_private_address(lab, site_runs):
    result = ansible(lab, "ansible", "backend", "-b", "-m", "ansible.builtin.command", "-a",
                     "systemctl show mnist-backend -p ActiveState -p SubState -p User")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "ActiveState=active" in result.stdout and "User=mnist" in result.stdout
    listening = ansible(lab, "ansible", "backend", "-b", "-m", "ansible.builtin.command",
                        "-a", "ss -ltn")
    assert f"{lab.hosts['backend'].private_ip}:5000" in listening.stdout


def test_prediction_through_the_frontend(lab, site_runs, digit_data_url, digit_png):
    body = json.dumps({"image": digit_data_url})
    result = frontend(lab, "/api/predict", "-H", "Content-Type: application/json",
                      "--data-binary", "@-", input=body)
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout)
    assert answer["digit"] == digit_png[1]
    assert answer["model"] == {"name": MODEL_NAME,
                               "version": open_store(MODELS_ROOT).registry.production}
    page = frontend(lab, "/")
    assert 'data-testid="canvas"' in page.stdout


def test_the_site_is_served_over_https_with_a_certificate_from_acme(lab, site_runs):
    """certbot got the certificate from pebble through HTTP-01 on nginx: the page verifies
    against pebble's root alone, HTTP redirects to HTTPS, HSTS is sent, and renewal is on a
    timer."""
    headers = frontend(lab, "/", "-D", "-", "-o", "/dev/null")
    assert headers.returncode == 0, headers.stderr  # curl verified the chain
    assert re.search(r"^strict-transport-security: max-age=31536000", headers.stdout,
                     re.MULTILINE | re.IGNORECASE), headers.stdout
    address = lab.hosts["frontend"].public_ip
    redirect = lab.in_controller(
        ["curl", "-s", "-m", "10", "-o", "/dev/null", "-w", "%{http_code} %{redirect_url}",
         "-H", f"Host: {DOMAIN}", f"http://{address}/api/predict"],
        capture_output=True, text=True)
    assert redirect.stdout == f"301 https://{DOMAIN}/api/predict"
    timer = ansible(lab, "ansible", "frontend", "-b", "-m", "ansible.builtin.command", "-a",
                    "systemctl is-enabled certbot.timer")
    assert timer.returncode == 0 and "enabled" in timer.stdout, timer.stdout


def test_feedback_is_stored_on_the_backend(lab, site_runs):
    """A correction through the frontend lands in the backend's SQLite store (its state
    folder, the one place the hardened unit may write)."""
    version = open_store(MODELS_ROOT).registry.production
    correction_id = "6f0c2a4e-8a7b-4c1d-9e2f-3a4b5c6d7e8f"
    body = json.dumps({"id": correction_id, "input": [[0.0] * 12 + [1.0] * 4 + [0.0] * 12] * 28,
                       "predicted": 7, "corrected": 1, "model_version": version})
    result = frontend(lab, "/api/feedback", "-H", "Content-Type: application/json",
                      "--data-binary", "@-", input=body)
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
    answer = frontend(lab, "/api/predict", "-H", f"X-Model-Version: {CANDIDATE}", "-H",
                      "Content-Type: image/png", "--data-binary",
                      "@" + str(REPO_ROOT / "benchmarks" / "canvas-digit.png"))
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
    status = frontend(lab, "/api/predict", "-o", "/dev/null", "-w", "%{http_code}", "-H",
                      "Content-Type: image/png", "--data-binary",
                      "@" + str(REPO_ROOT / "benchmarks" / "canvas-digit.png"))
    assert status.stdout == "200"
