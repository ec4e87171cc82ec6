"""A small data centre on this machine, for running site.yml for real.

Six network namespaces, all our own: a controller (runs ansible-playbook), a bastion and a
frontend on a "public" network, the bastion, the frontend and two backends on a "private"
one, and a switch namespace holding the two bridges. The controller has no route to the private
network: like a laptop outside the VPC, it reaches the backend only through the bastion (SSH)
or the frontend (HTTP). Each host is a Debian root filesystem (debootstrap, cached) booted
with systemd under systemd-nspawn inside its namespace, with sshd, so services and units start
as they do on the real instances. Nothing outside loopback and these namespaces is addressed.
Everything is torn down by the PIDs and names recorded when it was made.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

# Packages every host has before Ansible arrives (there is no package mirror inside the lab).
HOST_PACKAGES = [
    "systemd", "systemd-sysv", "dbus", "openssh-server", "sudo", "python3", "python3-apt",
    "python3-venv", "python3-pip", "nginx", "unattended-upgrades", "ca-certificates",
    "iproute2",
]
PUBLIC_NET = "10.77.1"
PRIVATE_NET = "10.77.2"


@dataclass
class Host:
    name: str
    tag: str  # two letters for interface names (15 characters at most)
    public_ip: str | None
    private_ip: str | None
    namespace: str = ""
    root: Path = Path()
    pid: int | None = None


@dataclass
class Lab:
    work: Path
    cache: Path
    suffix: str = field(default_factory=lambda: f"{os.getpid() % 100000}")
    hosts: dict[str, Host] = field(default_factory=dict)
    namespaces: list[str] = field(default_factory=list)
    mounts: list[Path] = field(default_factory=list)
    processes: list[subprocess.Popen] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.controller_ns = f"mnl{self.suffix}-ctl"
        self.switch_ns = f"mnl{self.suffix}-sw"
        self.controller_ip = f"{PUBLIC_NET}.1"
        for name, tag, public, private in (
            ("bastion", "bs", f"{PUBLIC_NET}.10", f"{PRIVATE_NET}.10"),
            ("frontend", "fe", f"{PUBLIC_NET}.20", f"{PRIVATE_NET}.20"),
            ("backend", "be", None, f"{PRIVATE_NET}.30"),
            ("backend2", "b2", None, f"{PRIVATE_NET}.31"),
        ):
            self.hosts[name] = Host(name, tag, public, private,
                                    namespace=f"mnl{self.suffix}-{name}")

    # --- the root filesystem -------------------------------------------------------------

    def base_rootfs(self) -> Path:
        """Debian bookworm with HOST_PACKAGES, built once and cached."""
        key = hashlib.sha256(" ".join(HOST_PACKAGES).encode()).hexdigest()[:12]
        base = self.cache / f"bookworm-{key}"
        if (base / ".complete").exists():
            return base
        shutil.rmtree(base, ignore_errors=True)
        base.parent.mkdir(parents=True, exist_ok=True)
        run(["debootstrap", "--variant=minbase", f"--include={','.join(HOST_PACKAGES)}",
             "bookworm", str(base), os.environ.get("DEBIAN_MIRROR",
                                                   "http://deb.debian.org/debian")])
        # Like a cloud image: the "ubuntu" user with passwordless sudo, no nginx until the
        # frontend role enables it, no background apt runs (no mirror in the lab), and no
        # host keys (each host makes its own).
        chroot(base, "useradd", "--create-home", "--shell", "/bin/bash", "ubuntu")
        (base / "etc/sudoers.d/ubuntu").write_text("ubuntu ALL=(ALL) NOPASSWD:ALL\n")
        (base / "etc/sudoers.d/ubuntu").chmod(0o440)
        chroot(base, "systemctl", "disable", "nginx")
        for timer in ("apt-daily.timer", "apt-daily-upgrade.timer"):
            chroot(base, "systemctl", "mask", timer)
        for key_file in (base / "etc/ssh").glob("ssh_host_*"):
            key_file.unlink()
        (base / "etc/machine-id").write_text("")
        (base / ".complete").write_text("ok\n")
        return base

    # --- building it ---------------------------------------------------------------------

    def start(self, public_key: str) -> None:
        base = self.base_rootfs()
        self._network()
        for host in self.hosts.values():
            host.root = self._overlay(base, host.name)
            self._personalise(host, public_key)
            self._boot(host)
        for host in self.hosts.values():
            self._wait_for_ssh(host)

    def _network(self) -> None:
        for ns in (self.switch_ns, self.controller_ns, *(h.namespace for h in
                                                         self.hosts.values())):
            run(["ip", "netns", "add", ns])
            self.namespaces.append(ns)
            run(["ip", "-n", ns, "link", "set", "lo", "up"])
        for bridge in ("brpub", "brpriv"):
            run(["ip", "-n", self.switch_ns, "link", "add", bridge, "type", "bridge"])
            run(["ip", "-n", self.switch_ns, "link", "set", bridge, "up"])
        self._plug(self.controller_ns, "brpub", "c", f"{self.controller_ip}/24")
        for host in self.hosts.values():
            if host.public_ip:
                self._plug(host.namespace, "brpub", f"{host.tag}p", f"{host.public_ip}/24")
            if host.private_ip:
                self._plug(host.namespace, "brpriv", f"{host.tag}v", f"{host.private_ip}/24")

    def _plug(self, namespace: str, bridge: str, tag: str, address: str) -> None:
        """A veth pair: eth-side in ``namespace`` with ``address``, the other on ``bridge``."""
        inside, outside = f"m{self.suffix}{tag}0", f"m{self.suffix}{tag}1"
        run(["ip", "link", "add", inside, "netns", namespace, "type", "veth", "peer", "name",
             outside, "netns", self.switch_ns])
        run(["ip", "-n", self.switch_ns, "link", "set", outside, "master", bridge, "up"])
        run(["ip", "-n", namespace, "addr", "add", address, "dev", inside])
        run(["ip", "-n", namespace, "link", "set", inside, "up"])

    def _overlay(self, base: Path, name: str) -> Path:
        layer = self.work / name
        for part in ("upper", "work", "root"):
            (layer / part).mkdir(parents=True, exist_ok=True)
        run(["mount", "-t", "overlay", "overlay", "-o",
             f"lowerdir={base},upperdir={layer / 'upper'},workdir={layer / 'work'}",
             str(layer / "root")])
        self.mounts.append(layer / "root")
        return layer / "root"

    def _personalise(self, host: Host, public_key: str) -> None:
        (host.root / "etc/hostname").write_text(f"{host.name}\n")
        ssh_dir = host.root / "home/ubuntu/.ssh"
        ssh_dir.mkdir(mode=0o700, exist_ok=True)
        (ssh_dir / "authorized_keys").write_text(public_key)
        chroot(host.root, "chown", "-R", "ubuntu:ubuntu", "/home/ubuntu/.ssh")
        chroot(host.root, "ssh-keygen", "-A")

    def _boot(self, host: Host) -> None:
        process = subprocess.Popen(
            ["systemd-nspawn", "--quiet", "--boot", "--register=no", "--keep-unit",
             "--console=passive", f"--machine=mnl{self.suffix}{host.name}",
             f"--network-namespace-path=/run/netns/{host.namespace}",
             f"--directory={host.root}"],
            stdin=subprocess.DEVNULL, stdout=(self.work / f"{host.name}.log").open("wb"),
            stderr=subprocess.STDOUT, start_new_session=True)
        self.processes.append(process)
        host.pid = process.pid

    def _wait_for_ssh(self, host: Host, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            probe = subprocess.run(["ip", "netns", "exec", host.namespace, "bash", "-c",
                                    "exec 3<>/dev/tcp/127.0.0.1/22 && head -c 4 <&3"],
                                   capture_output=True, timeout=10)
            if probe.stdout.startswith(b"SSH-"):
                return
            time.sleep(1)
        log = (self.work / f"{host.name}.log").read_text(errors="replace")[-2000:]
        raise TimeoutError(f"{host.name}: sshd did not come up in {timeout} s\n{log}")

    # --- using it ------------------------------------------------------------------------

    def in_controller(self, command: list[str], **kwargs) -> subprocess.CompletedProcess:
        """Run ``command`` in the controller's namespace (the only one with no backend route)."""
        return subprocess.run(["ip", "netns", "exec", self.controller_ns, *command], **kwargs)

    # --- tearing it down -----------------------------------------------------------------

    def stop(self) -> None:
        for process in self.processes:  # nspawn shuts its container down on SIGTERM
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)
        for mount in reversed(self.mounts):
            subprocess.run(["umount", "--lazy", str(mount)], capture_output=True)
        for ns in reversed(self.namespaces):
            subprocess.run(["ip", "netns", "del", ns], capture_output=True)
        shutil.rmtree(self.work, ignore_errors=True)


def run(command: list[str]) -> str:
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed ({result.returncode}):\n"
                           f"{result.stdout[-2000:]}\n{result.stderr[-2000:]}")
    return result.stdout


def chroot(root: Path, *command: str) -> str:
    return run(["chroot", str(root), *command])
