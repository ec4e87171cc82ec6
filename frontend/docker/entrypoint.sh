#!/bin/sh
# Render the site config from the environment (BACKENDS, LISTEN_PORT, ...) into /tmp, then
# run the command (nginx in the foreground). The root filesystem may be read-only.
set -eu
mkdir -p /tmp/nginx
STATIC_ROOT=/usr/share/nginx/html MODEL_ROOT=/usr/share/nginx/models \
  /etc/nginx/mnist/render.sh /etc/nginx/mnist/mnist.conf.template /tmp/nginx/mnist.conf
exec "$@"
