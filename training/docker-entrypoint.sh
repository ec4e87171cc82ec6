#!/bin/sh
# The training container starts as root only to become the user who owns the mounted models
# folder (or TRAINING_UID/TRAINING_GID when set): the exported version then belongs to whoever
# owns the checkout, root or not, and writing into it never fails for want of permission.
set -eu
models=/workspace/models
uid=${TRAINING_UID:-$(stat -c %u "$models")}
gid=${TRAINING_GID:-$(stat -c %g "$models")}
mkdir -p "$HOME" "$KERAS_HOME" "$MPLCONFIGDIR"
if [ "$(id -u)" != 0 ]; then
  exec "$@"  # started as a user already (docker run --user): nothing to change
fi
chown "$uid:$gid" "$HOME" "$KERAS_HOME" "$MPLCONFIGDIR"
if [ "$uid" = 0 ]; then
  exec "$@"
fi
exec setpriv --reuid="$uid" --regid="$gid" --clear-groups -- "$@"
