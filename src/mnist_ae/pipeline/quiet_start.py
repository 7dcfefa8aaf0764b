"""Imported first by every script that trains or evaluates: TensorFlow starts with the package's
defaults (`mnist_ae/__init__.py`) and its C++ start-up lines hidden (shown if it fails to start),
so what a person sees is the script's own output, its `--help` included.

A script the runner loads finds TensorFlow already started with the runner's thread cap; then
this does nothing.
"""

import sys

from mnist_ae import process

if "tensorflow" not in sys.modules:
    process.start_tensorflow()
