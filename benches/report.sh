#!/usr/bin/env bash
# The whole comparison in one command: criterion's in-process benches, then the
# cross-process harness, which writes docs/benchmarks.md and
# docs/benchmarks-latency.png. Takes about 4 minutes; progress on stderr.
# Run it on a quiet machine (see `uptime`); extra arguments go to xproc.
set -euo pipefail
cd "$(dirname "$0")/.."
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
