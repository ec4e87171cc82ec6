"""A small data centre on this machine, for running site.yml for real.

Eight network namespaces, all our own: a controller (runs ansible-playbook, and pebble as the
ACME server), a bastion, a frontend and a NAT host on a "public" network, the same three and
two backends on a "private" one, "the internet" (a package mirror) on the public side, and a
switch namespace holding the two bridges. The controller has no route to the private
network: like a laptop outside the VPC, it reaches the backend only through the bastion (SSH)
or the frontend (HTTPS). The backends' only way out is the NAT host, which runs the NAT
instance's real user data at boot. Each host is a Debian root filesystem (debootstrap,
cached) booted with systemd under systemd-nspawn inside its namespace, with sshd, so services
and units start as they do on the real instances. Nothing outside loopback and these
namespaces is addressed (the hosts have no name server). Everything is torn down by the PIDs
and names recorded when it was made.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
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
    "iproute2", "certbot", "nftables",
    # debootstrap does not resolve virtual packages: certbot's cryptography needs this one.
    "python3-cffi-backend",
]
# Holds dpkg's frontend lock (an fcntl lock, as apt takes it) for FIRST_BOOT_LOCK_SECONDS
# after boot, then notes when it let go in FIRST_BOOT_RELEASED.
FIRST_BOOT_LOCK_SECONDS = 75
FIRST_BOOT_RELEASED = "/var/lib/lab-first-boot-apt.released"
FIRST_BOOT_APT_SCRIPT = f"""#!/usr/bin/python3
import fcntl, time
lock = open("/var/lib/dpkg/lock-frontend", "w")
fcntl.lockf(lock, fcntl.LOCK_EX)
time.sleep({FIRST_BOOT_LOCK_SECONDS})
open("{FIRST_BOOT_RELEASED}", "w").write(repr(time.time()))
"""
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
class Acme:
    """A running pebble: its directory, the CA its own listener uses (for certbot) and the
    root it issues certificates under (for the clients)."""
    folder: Path
    domain: str
    address: str

    @property
    def directory_url(self) -> str:
        return f"https://{self.address}:14000/dir"

    @property
    def listener_ca(self) -> Path:
        return self.folder / "listener.crt"

    @property
    def root_ca(self) -> Path:
        return self.folder / "root.pem"


@dataclass
class Lab:
    work: Path
    cache: Path
    suffix: str = field(default_factory=lambda: f"{os.getpid() % 100000}")
    hosts: dict[str, Host] = field(default_factory=dict)
    namespaces: list[str] = field(default_factory=list)
    mounts: list[Path] = field(default_factory=list)
    processes: list[subprocess.Popen] = field(default_factory=list)
    site_started: float = 0.0  # when the first site.yml began (time.time())

    def __post_init__(self) -> None:
        self.controller_ns = f"mnl{self.suffix}-ctl"
        self.switch_ns = f"mnl{self.suffix}-sw"
        self.controller_ip = f"{PUBLIC_NET}.1"
        # "The internet": a namespace on the public side holding the package mirror, and the
        # NAT host's way out. The backends reach it only through the NAT host.
        self.internet_ns = f"mnl{self.suffix}-net"
        self.internet_ip = f"{PUBLIC_NET}.50"
        self.mirror_url = f"http://{self.internet_ip}:8000/"
        for name, tag, public, private in (
            ("bastion", "bs", f"{PUBLIC_NET}.10", f"{PRIVATE_NET}.10"),
            ("frontend", "fe", f"{PUBLIC_NET}.20", f"{PRIVATE_NET}.20"),
            ("backend", "be", None, f"{PRIVATE_NET}.30"),
            ("backend2", "b2", None, f"{PRIVATE_NET}.31"),
            ("nat", "nt", f"{PUBLIC_NET}.40", f"{PRIVATE_NET}.40"),
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

    def start(self, public_key: str, nat_user_data: str) -> None:
        """Boot every host; the NAT host runs ``nat_user_data`` at first boot, as cloud-init
        runs an instance's user data."""
        base = self.base_rootfs()
        self._network()
        for host in self.hosts.values():
            host.root = self._overlay(base, host.name)
            self._personalise(host, public_key)
            if host.name == "nat":
                self._user_data(host, nat_user_data)
            self._boot(host)
        for host in self.hosts.values():
            self._wait_for_ssh(host)

    def _network(self) -> None:
        for ns in (self.switch_ns, self.controller_ns, self.internet_ns,
                   *(h.namespace for h in self.hosts.values())):
            run(["ip", "netns", "add", ns])
            self.namespaces.append(ns)
            run(["ip", "-n", ns, "link", "set", "lo", "up"])
        for bridge in ("brpub", "brpriv"):
            run(["ip", "-n", self.switch_ns, "link", "add", bridge, "type", "bridge"])
            run(["ip", "-n", self.switch_ns, "link", "set", bridge, "up"])
        self._plug(self.controller_ns, "brpub", "c", f"{self.controller_ip}/24")
        self._plug(self.internet_ns, "brpub", "i", f"{self.internet_ip}/24")
        for host in self.hosts.values():
            if host.public_ip:
                self._plug(host.namespace, "brpub", f"{host.tag}p", f"{host.public_ip}/24")
            if host.private_ip:
                self._plug(host.namespace, "brpriv", f"{host.tag}v", f"{host.private_ip}/24")
        # As in the VPC: the private hosts' default route is the NAT host, whose own is the
        # internet.
        nat = self.hosts["nat"]
        run(["ip", "-n", nat.namespace, "route", "add", "default", "via", self.internet_ip])
        for host in self.hosts.values():
            if not host.public_ip:
                run(["ip", "-n", host.namespace, "route", "add", "default", "via",
                     nat.private_ip])

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
        # No DNS in the lab (booted with --resolv-conf=off): the host's own name resolves from
        # /etc/hosts (sudo looks it up), and no name server is ever asked, so no query leaves
        # through the NAT host's way out.
        (host.root / "etc/hosts").write_text(f"127.0.0.1 localhost\n127.0.1.1 {host.name}\n")
        (host.root / "etc/resolv.conf").unlink(missing_ok=True)
        (host.root / "etc/resolv.conf").write_text("# the lab has no name server\n")
        ssh_dir = host.root / "home/ubuntu/.ssh"
        ssh_dir.mkdir(mode=0o700, exist_ok=True)
        (ssh_dir / "authorized_keys").write_text(public_key)
        chroot(host.root, "chown", "-R", "ubuntu:ubuntu", "/home/ubuntu/.ssh")
        chroot(host.root, "ssh-keygen", "-A")
        # apt's only source is the lab's mirror (start_mirror), on "the internet", and its
        # lists are a day old, as in an image built earlier: the first site.yml updates them.
        (host.root / "etc/apt/sources.list").write_text(
            f"deb [trusted=yes] {self.mirror_url}apt ./\n")
        a_day_ago = time.time() - 86400
        os.utime(host.root / "var/lib/apt/lists", (a_day_ago, a_day_ago))
        # Like a fresh cloud image's unattended-upgrades: something holds the dpkg lock for
        # longer than apt's 60 s default, from boot on; site.yml must wait it out.
        _boot_service(host.root, "lab-first-boot-apt", FIRST_BOOT_APT_SCRIPT,
                      "a first-boot package run that holds the dpkg lock", "simple")

    def _user_data(self, host: Host, script: str) -> None:
        """cloud-init's part: run the instance's user data once, at boot."""
        _boot_service(host.root, "lab-user-data", script,
                      "the instance's user data (cloud-init's part)", "oneshot")

    def start_mirror(self, folder: Path) -> None:
        """Serve ``folder`` at mirror_url from the internet namespace (the hosts' package
        mirror: apt's source is its apt/ folder); its access log is mirror.log."""
        process = subprocess.Popen(
            ["ip", "netns", "exec", self.internet_ns, "python3", "-m", "http.server", "8000",
             "--bind", self.internet_ip, "--directory", str(folder)],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=(self.work / "mirror.log").open("wb"), start_new_session=True)
        self.processes.append(process)
        deadline = time.monotonic() + 20
        while subprocess.run(["ip", "netns", "exec", self.internet_ns, "curl", "-sf", "-o",
                              "/dev/null", self.mirror_url]).returncode != 0:
            if time.monotonic() > deadline:
                raise TimeoutError("the mirror did not start")
            time.sleep(0.3)

    def mirror_requests(self) -> list[tuple[str, str]]:
        """(client address, path) of every request the mirror logged."""
        log = (self.work / "mirror.log").read_text(errors="replace")
        return re.findall(r'^(\d+\.\d+\.\d+\.\d+) - - \[[^]]*\] "[A-Z]+ (\S+)', log,
                          re.MULTILINE)

    def _boot(self, host: Host) -> None:
        process = subprocess.Popen(
            ["systemd-nspawn", "--quiet", "--boot", "--register=no", "--keep-unit",
             "--resolv-conf=off", "--capability=CAP_NET_ADMIN",
             "--console=passive", f"--machine=mnl{self.suffix}{host.name}",
             f"--network-namespace-path=/run/netns/{host.namespace}",
             f"--directory={host.root}"],
            # As on an instance, the host's own network settings are its to change (the NAT
            # host's user data turns forwarding on and loads nftables): CAP_NET_ADMIN and a
            # writable /proc/sys/net, both in the container's own network namespace only; the
            # rest of /proc/sys stays read-only.
            env={**os.environ, "SYSTEMD_NSPAWN_API_VFS_WRITABLE": "network"},
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

    def start_acme(self, domain: str, address: str) -> Acme:
        """Let's Encrypt's test server, pebble, in the controller's namespace: it validates
        HTTP-01 challenges at ``address`` (what its DNS, pebble-challtestsrv, answers for
        ``domain`` and every other name) on port 80, as Let's Encrypt would."""
        acme = Acme(self.work / "acme", domain, self.controller_ip)
        acme.folder.mkdir(parents=True)
        run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
             "-subj", "/CN=pebble", "-addext", f"subjectAltName=IP:{self.controller_ip}",
             "-keyout", str(acme.folder / "listener.key"), "-out", str(acme.listener_ca)])
        ip = self.controller_ip
        (acme.folder / "pebble.json").write_text(json.dumps({"pebble": {
            "listenAddress": f"{ip}:14000", "managementListenAddress": f"{ip}:15000",
            "certificate": str(acme.listener_ca),
            "privateKey": str(acme.folder / "listener.key"), "httpPort": 80, "tlsPort": 443,
            "ocspResponderURL": "", "externalAccountBindingRequired": False}}))
        self._spawn_in_controller("challtestsrv", [
            "pebble-challtestsrv", "-defaultIPv4", address, "-defaultIPv6", "",
            "-dns01", f"{ip}:8053", "-management", f"{ip}:8055", "-http01", "",
            "-https01", "", "-tlsalpn01", ""])
        # No random nonce refusals or validation delays: the flow, not pebble's chaos.
        self._spawn_in_controller("pebble", [
            "env", "PEBBLE_VA_NOSLEEP=1", "PEBBLE_WFE_NONCEREJECT=0", "pebble", "-config",
            str(acme.folder / "pebble.json"), "-dnsserver", f"{ip}:8053"])
        deadline = time.monotonic() + 30
        while True:
            roots = self.in_controller(
                ["curl", "-sf", "-m", "5", "--cacert", str(acme.listener_ca),
                 f"https://{ip}:15000/roots/0"], capture_output=True, text=True)
            if roots.returncode == 0 and "BEGIN CERTIFICATE" in roots.stdout:
                acme.root_ca.write_text(roots.stdout)
                return acme
            if time.monotonic() > deadline:
                raise TimeoutError(f"pebble did not start: {roots.stderr}")
            time.sleep(0.5)

    def _spawn_in_controller(self, name: str, command: list[str]) -> None:
        process = subprocess.Popen(
            ["ip", "netns", "exec", self.controller_ns, *command], stdin=subprocess.DEVNULL,
            stdout=(self.work / f"{name}.log").open("wb"), stderr=subprocess.STDOUT,
            start_new_session=True)
        self.processes.append(process)

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


def _boot_service(root: Path, name: str, script: str, description: str, kind: str) -> None:
    """Install ``script`` in ``root`` as /usr/local/sbin/<name>, run by a service of that name
    started at every boot (Type=``kind``)."""
    program = root / "usr/local/sbin" / name
    program.write_text(script)
    program.chmod(0o755)
    (root / f"etc/systemd/system/{name}.service").write_text(
        f"[Unit]\nDescription=Lab: {description}\n"
        f"[Service]\nType={kind}\nRemainAfterExit=yes\nExecStart=/usr/local/sbin/{name}\n"
        "[Install]\nWantedBy=multi-user.target\n")
    wants = root / "etc/systemd/system/multi-user.target.wants"
    wants.mkdir(parents=True, exist_ok=True)
    (wants / f"{name}.service").symlink_to(f"/etc/systemd/system/{name}.service")


def run(command: list[str]) -> str:
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed ({result.returncode}):\n"
                           f"{result.stdout[-2000:]}\n{result.stderr[-2000:]}")
    return result.stdout


def chroot(root: Path, *command: str) -> str:
    return run(["chroot", str(root), *command])
