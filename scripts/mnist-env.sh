# Sourced by the Makefile before tests and training: makes sure $MNIST_NPZ names a local copy
# of MNIST. Offline machines (CI here) set MNIST_NPZ themselves; elsewhere keras downloads
# MNIST once into its usual cache (~/.keras/datasets/mnist.npz) and that file is used.
if [ -z "${MNIST_NPZ:-}" ]; then
  _mnist_cache="${KERAS_HOME:-$HOME/.keras}/datasets/mnist.npz"
  if [ ! -s "$_mnist_cache" ]; then
    echo "MNIST_NPZ is not set: downloading MNIST with keras.datasets.mnist (once)" >&2
    .venv/bin/python -c "import keras; keras.datasets.mnist.load_data()" >&2 || return 1
  fi
  export MNIST_NPZ="$_mnist_cache"
fi
echo "MNIST_NPZ=$MNIST_NPZ" >&2
