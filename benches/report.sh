#!/usr/bin/env bash
# The whole comparison in one command: criterion's in-process benches, then the
# cross-process harness, which writes docs/benchmarks.md and
# docs/benchmarks-latency.png, then the MPMC and blocking-wait harnesses and
# the Python benchmark, appended to it. Takes about 5 minutes; progress on
# stderr. Run it on a quiet machine (see `uptime`); extra arguments go to xproc.
set -euo pipefail
cd "$(dirname "$0")/.."

# The Python binding, built from this checkout into target/py-venv the way CI
# builds it (scripts/python-wheel.sh). Status 1 if it cannot be built (no
# python3 >= 3.9 with venv and pip, or no network for the pinned tools): the
# report then has no Python section, and says so on stderr.
python_wheel() {
    echo "[report] building the Python wheel (scripts/python-wheel.sh)" >&2
    if ! scripts/python-wheel.sh >&2; then
        echo "[report] the Python wheel cannot be built: no Python section" >&2
        return 1
    fi
}

# Appends the Python section (benches/python/bench.py --markdown) to the
# Markdown file $1.
python_section() {
    local out="$1"
    echo "[report] running benches/python/bench.py" >&2
    local section
    section="$(target/py-venv/bin/python benches/python/bench.py --markdown)"
    printf '\n%s\n' "$section" >> "$out"
}

# Built first, so that no compilation runs between the measurements.
python=yes
python_wheel || python=no

echo "load: $(uptime)" >&2
criterion="$(pwd)/${CARGO_TARGET_DIR:-target}/criterion"
case "${CARGO_TARGET_DIR:-}" in /*) criterion="$CARGO_TARGET_DIR/criterion" ;; esac
mkdir -p "$criterion"
SHMQ_FLOOR_FILE="$criterion/shmq-floor.txt" \
    cargo bench -p shmq-benches --features iceoryx2 --bench inproc
cargo run --release -p shmq-benches --features iceoryx2 --bin xproc -- \
    --criterion "$criterion" --markdown docs/benchmarks.md "$@"

# MPMC (issue #3) and blocking waits (issue #4): their harnesses print plain
# tables with the floor; their output is appended verbatim, in the same run.
cargo build --release -p shmq-benches --bin xmpmc --bin xwait
bin="${CARGO_TARGET_DIR:-target}/release"
for b in xmpmc xwait; do
    echo "[report] running $b" >&2
    out="$("$bin/$b")"
    {
        echo
        echo "## Cross-process: $b"
        echo
        echo "Output of \`$b\` (benches/src/bin/$b.rs), appended by \`benches/report.sh\` in the same run."
        echo
        echo '```text'
        echo "$out"
        echo '```'
    } >> docs/benchmarks.md
done

# Python (issue #13): the binding against multiprocessing, in the same run.
if [ "$python" = yes ]; then
    python_section docs/benchmarks.md
fi
