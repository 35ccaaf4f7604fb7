#!/usr/bin/env bash
# Builds the Python binding's abi3 wheel from this checkout and installs it
# into the virtualenv target/py-venv (created if missing), with the pinned
# build and test tools. Afterwards `target/py-venv/bin/python` imports `shmq`
# exactly as a user gets it (not an editable install: stubs and py.typed
# included). Used by scripts/test.sh (step "python") and benches/report.sh.
#
# Needs python3 >= 3.9 with venv and pip (and the network the first time).
set -euo pipefail
cd "$(dirname "$0")/.."

manifest=crates/shmq-py/Cargo.toml
venv=target/py-venv
# crates/shmq-py is outside the workspace: its own target directory keeps
# pyo3's builds apart from the workspace's.
export CARGO_TARGET_DIR="$PWD/target/py"

python3 -c 'import sys; assert sys.version_info >= (3, 9), sys.version'
python3 -m venv "$venv"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
    maturin==1.16.0 pytest==9.2.0 pytest-timeout==2.4.0 numpy==2.4.6
rm -rf target/py/wheels
"$venv/bin/maturin" build --release --locked \
    --manifest-path "$manifest" --interpreter "$venv/bin/python" --out target/py/wheels
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
    --force-reinstall --no-deps target/py/wheels/shmq-*.whl
