#!/usr/bin/env bash
# Run nginx in the foreground with the project's site config, from a private folder:
#   scripts/nginx-local.sh RUN_DIR PORT BACKENDS      (BACKENDS: host:port[,host:port...])
# MODEL_ROOT: the model registry whose versions' ONNX files the page loads (default: models/).
# Used by `make run` and by the end-to-end tests, so both exercise the same configuration.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
run_dir=$1 port=$2 backends=$3
command -v nginx >/dev/null || { echo "nginx is not installed (make run-packages)" >&2; exit 1; }
mkdir -p "$run_dir/tmp"

LISTEN_PORT=$port STATIC_ROOT="$root/frontend" MODEL_ROOT="${MODEL_ROOT:-$root/models}" BACKENDS=$backends \
  "$root/frontend/nginx/render.sh" "$root/frontend/nginx/mnist.conf.template" "$run_dir/mnist.conf"

user_line=""
if [ "$(id -u)" = 0 ]; then
  # Workers drop root; they only read the repo and write their own temp folder.
  user_line="user www-data;"
  chown www-data "$run_dir/tmp"
fi

cat > "$run_dir/nginx.conf" <<CONF
$user_line
worker_processes 2;
pid $run_dir/nginx.pid;
error_log stderr warn;
events { worker_connections 512; }
http {
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    access_log /dev/stdout;
    sendfile on;
    client_body_temp_path $run_dir/tmp/body;
    proxy_temp_path $run_dir/tmp/proxy;
    fastcgi_temp_path $run_dir/tmp/fastcgi;
    uwsgi_temp_path $run_dir/tmp/uwsgi;
    scgi_temp_path $run_dir/tmp/scgi;
    include $run_dir/mnist.conf;
}
CONF
nginx -t -q -p "$run_dir" -c "$run_dir/nginx.conf"
exec nginx -p "$run_dir" -c "$run_dir/nginx.conf" -g 'daemon off;'
