#!/usr/bin/env bash
# The whole app on this machine, without Docker: gunicorn (backend) on 127.0.0.1:5000 behind
# nginx (frontend) on http://localhost:${PORT:-8080}. Ctrl-C stops both.
# Started by `make run`, which installs what this needs first.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
port=${PORT:-8080}
backend_bind=${BACKEND_BIND:-127.0.0.1:5000}
run_dir=${RUN_DIR:-$root/.run}
mkdir -p "$run_dir"

pids=()
cleanup() {
  trap - EXIT INT TERM
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT INT TERM

BIND=$backend_bind .venv-serve/bin/gunicorn -c backend/gunicorn.conf.py backend.wsgi:app &
pids+=($!)

echo "waiting for the backend on $backend_bind ..." >&2
ready=""
for _ in $(seq 1 120); do
  if .venv-serve/bin/python - "$backend_bind" <<'PY' 2>/dev/null
import sys, urllib.request
urllib.request.urlopen(f"http://{sys.argv[1]}/ready", timeout=1)
PY
  then ready=1; break; fi
  kill -0 "${pids[0]}" 2>/dev/null || { echo "the backend exited" >&2; exit 1; }
  sleep 0.5
done
[ -n "$ready" ] || { echo "the backend did not become ready" >&2; exit 1; }

scripts/nginx-local.sh "$run_dir/nginx" "$port" "$backend_bind" &
pids+=($!)
sleep 0.5
kill -0 "${pids[1]}" 2>/dev/null || { echo "nginx did not start" >&2; exit 1; }
echo "The MNIST app is up: http://localhost:$port  (Ctrl-C stops it)" >&2
wait -n
