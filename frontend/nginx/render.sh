#!/bin/sh
# Render the nginx site template: render.sh TEMPLATE OUTPUT
# Fills in only the template's own ${NAME} settings (nginx's $variables are left alone), from
# the environment, with the container's defaults. BACKENDS is a comma-separated host:port list.
set -eu
template=$1
output=$2

: "${LISTEN_PORT:=8080}"
: "${STATIC_ROOT:=/usr/share/nginx/html}"
: "${MODEL_ROOT:=/usr/share/nginx/models}"
: "${BACKENDS:=backend:5000}"
: "${MAX_BODY_SIZE:=1m}"
: "${API_RATE:=20r/s}"
: "${API_BURST:=40}"

for value in "$LISTEN_PORT" "$STATIC_ROOT" "$MODEL_ROOT" "$BACKENDS" "$MAX_BODY_SIZE" "$API_RATE" \
             "$API_BURST"; do
  case $value in
    *[!A-Za-z0-9._:/,\[\]-]*|"") echo "render.sh: unsafe or empty setting: '$value'" >&2; exit 2 ;;
  esac
done

UPSTREAM_SERVERS=""
for backend in $(echo "$BACKENDS" | tr ',' ' '); do
  UPSTREAM_SERVERS="${UPSTREAM_SERVERS}server ${backend} max_fails=1 fail_timeout=5s; "
done

sed -e "s|\${LISTEN_PORT}|${LISTEN_PORT}|g" \
    -e "s|\${STATIC_ROOT}|${STATIC_ROOT}|g" \
    -e "s|\${MODEL_ROOT}|${MODEL_ROOT}|g" \
    -e "s|\${UPSTREAM_SERVERS}|${UPSTREAM_SERVERS}|g" \
    -e "s|\${MAX_BODY_SIZE}|${MAX_BODY_SIZE}|g" \
    -e "s|\${API_RATE}|${API_RATE}|g" \
    -e "s|\${API_BURST}|${API_BURST}|g" \
    "$template" > "$output.tmp"
if grep -v '^#' "$output.tmp" | grep -q '\${'; then
  echo "render.sh: unfilled settings left in $output:" >&2
  grep -n '\${' "$output.tmp" | grep -v ':#' >&2
  rm -f "$output.tmp"
  exit 2
fi
mv "$output.tmp" "$output"
