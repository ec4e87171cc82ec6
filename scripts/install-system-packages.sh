#!/usr/bin/env bash
# Install the Debian/Ubuntu packages given as arguments, skipping those already installed.
set -euo pipefail
missing=()
for package in "$@"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" \
    || missing+=("$package")
done
[ ${#missing[@]} -eq 0 ] && exit 0
sudo=""
[ "$(id -u)" = 0 ] || sudo="sudo"
# Another apt (unattended-upgrades on first boot, a second `make`) may hold the dpkg lock:
# wait for it, up to LOCK_TIMEOUT seconds, instead of failing at once.
lock_wait=(-o "DPkg::Lock::Timeout=${LOCK_TIMEOUT:-600}")
echo "installing ${missing[*]} with apt-get" >&2
$sudo apt-get "${lock_wait[@]}" update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get "${lock_wait[@]}" install -y -qq \
  --no-install-recommends "${missing[@]}" >/dev/null
