#!/bin/sh
# Render the nginx site template: render.sh TEMPLATE OUTPUT
# Fills in only the template's own ${NAME} settings (nginx's $variables are left alone) from
# the environment; the serving limits default to serving.env (SERVING_ENV: its path; the
# repository's by default), the rest to the container's values. BACKENDS is a comma-separated
# host:port list.
set -eu
template=$1
output=$2
here=$(cd "$(dirname "$0")" && pwd)
serving_env=${SERVING_ENV:-$here/../../serving.env}
[ -r "$serving_env" ] || { echo "render.sh: cannot read $serving_env" >&2; exit 2; }

# serving.env's KEY=VALUE lines fill in whatever the environment leaves unset or empty.
while IFS='=' read -r key value; do
  case $key in
    ''|\#*) continue ;;
    *[!A-Z0-9_]*) echo "render.sh: bad line in $serving_env: $key" >&2; exit 2 ;;
  esac
  eval "current=\${$key:-}"
  [ -n "$current" ] || eval "$key=\$value"
done < "$serving_env"

: "${LISTEN_PORT:=8080}"
: "${STATIC_ROOT:=/usr/share/nginx/html}"
: "${MODEL_ROOT:=/usr/share/nginx/models}"
: "${BACKENDS:=backend:5000}"

settings="LISTEN_PORT STATIC_ROOT MODEL_ROOT BACKENDS MAX_CONTENT_LENGTH PROXY_READ_TIMEOUT
          API_RATE API_BURST API_CONNECTIONS FEEDBACK_MAX_BYTES FEEDBACK_RATE FEEDBACK_BURST"
for name in $settings; do
  eval "value=\${$name:-}"
  case $value in
    *[!A-Za-z0-9._:/,\[\]-]*|"") echo "render.sh: unsafe or empty $name: '$value'" >&2; exit 2 ;;
  esac
done

# API_ORIGIN (optional): a separate origin the page calls, e.g. the serverless API
# (frontend/static/config.js apiBase); the Content-Security-Policy then lets the page reach it.
API_ORIGIN=${API_ORIGIN:-}
CONNECT_SRC_EXTRA=""
if [ -n "$API_ORIGIN" ]; then
  echo "$API_ORIGIN" | grep -Eqx 'https?://[A-Za-z0-9.-]+(:[0-9]+)?' ||
    { echo "render.sh: API_ORIGIN must be an origin (https://host[:port]): '$API_ORIGIN'" >&2; exit 2; }
  CONNECT_SRC_EXTRA=" $API_ORIGIN"
fi

# A backend is only taken out of rotation after several failures in a row, never for one
# slow answer (an overloaded but healthy backend must not be ejected).
UPSTREAM_SERVERS=""
for backend in $(echo "$BACKENDS" | tr ',' ' '); do
  UPSTREAM_SERVERS="${UPSTREAM_SERVERS}server ${backend} max_fails=3 fail_timeout=10s; "
done

cp "$template" "$output.tmp"
for name in $settings UPSTREAM_SERVERS CONNECT_SRC_EXTRA; do
  eval "value=\${$name}"
  sed -i -e "s|\${$name}|$value|g" "$output.tmp"
done
if grep -v '^#' "$output.tmp" | grep -q '\${'; then
  echo "render.sh: unfilled settings left in $output:" >&2
  grep -n '\${' "$output.tmp" | grep -v ':#' >&2
  rm -f "$output.tmp"
  exit 2
fi
mv "$output.tmp" "$output"
