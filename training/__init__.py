"""Training tier: the CNN for cnn-mnist, its data pipeline, training, reports and export."""

import os

# TensorFlow's C++ start-up chatter (oneDNN, CPU features) hides what a student should read;
# errors still show. Must be set before tensorflow is first imported.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
