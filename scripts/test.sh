#!/usr/bin/env bash
# The project's whole test suite: `scripts/test.sh` (CI runs it via .ci/run).
#
# Needs stable Rust with rustup and python3 (>= 3.9, with venv and pip);
# installs what else it needs (nightly + miri + rust-src, the
# thumbv7em-none-eabihf target, cargo-fuzz; maturin, pytest and NumPy into a
# virtualenv under target/). Fails on the
# first failing step. Set FUZZ_SECONDS=0 to skip the short fuzz runs.
set -euo pipefail
cd "$(dirname "$0")/.."

FUZZ_SECONDS="${FUZZ_SECONDS:-20}"
# A dated nightly (Miri and cargo-fuzz), so CI does not change under us:
# rustc 1.97.0-nightly (e50aa6fba 2026-05-19).
NIGHTLY=nightly-2026-05-20
EMBEDDED_TARGET=thumbv7em-none-eabihf
TIMINGS=()

step() {
    local name="$1"
    shift
    printf '\n==== %s ====\n' "$name"
    local start=$SECONDS
    "$@"
    local took=$((SECONDS - start))
    TIMINGS+=("$(printf '%5ds  %s' "$took" "$name")")
}

setup() {
    rustup toolchain install "$NIGHTLY" --profile minimal --component miri,rust-src
    rustup target add "$EMBEDDED_TARGET"
    if ! cargo +"$NIGHTLY" fuzz --version 2>/dev/null | grep -q ' 0\.13\.2$'; then
        cargo install cargo-fuzz --version 0.13.2 --locked
    fi
}

benches() {
    cargo test --workspace --benches --no-run
    # ---- benches quick-mode run: owned by benches/, add it here ----
    # xproc --quick end to end (tiny sizes, no timing asserted) and each
    # criterion benchmark once in test mode. Full runs stay out of CI.
    cargo test -p shmq-benches --release --test quick
    cargo test -p shmq-benches --release --benches
}

loom() {
    # Separate target dir: --cfg loom rebuilds every dependency.
    # Preemption bound 2: see crates/shmq-core/tests/loom_spsc.rs.
    RUSTFLAGS="--cfg loom" LOOM_MAX_PREEMPTIONS=2 CARGO_TARGET_DIR=target/loom \
        cargo test -p shmq-core --features __testing --release --test loom_spsc --test loom_wait --test loom_bytes --test loom_dense
    # MPMC models (3 threads, 2 slots): bound 2, see crates/shmq-core/tests/loom_mpmc.rs.
    RUSTFLAGS="--cfg loom" LOOM_MAX_PREEMPTIONS=2 CARGO_TARGET_DIR=target/loom \
        cargo test -p shmq-core --features __testing --release --test loom_mpmc
}

miri() {
    cargo +"$NIGHTLY" miri test -p shmq-core --features __testing
}

fuzz() {
    (
        cd fuzz
        cargo +"$NIGHTLY" fuzz build
        if [ "$FUZZ_SECONDS" -gt 0 ]; then
            local log
            log="$(mktemp)"
            for target in $(cargo +"$NIGHTLY" fuzz list); do
                echo "-- $target (${FUZZ_SECONDS}s)"
                if ! cargo +"$NIGHTLY" fuzz run "$target" -- \
                    -max_total_time="$FUZZ_SECONDS" -print_final_stats=1 >"$log" 2>&1; then
                    cat "$log"
                    exit 1
                fi
                grep -E '^(#[0-9]+[[:space:]]+DONE|stat::number_of_executed_units)' "$log" || true
            done
        fi
    )
}

python_binding() (
    # A subshell: CARGO_TARGET_DIR stays local to this step.
    # crates/shmq-py is outside the workspace (its own Cargo.lock, see the
    # root Cargo.toml), so fmt and clippy are run on it here; its own target
    # directory keeps pyo3's builds apart from the workspace's.
    local manifest=crates/shmq-py/Cargo.toml
    local venv=target/py-venv
    export CARGO_TARGET_DIR="$PWD/target/py"
    cargo fmt --manifest-path "$manifest" -- --check
    cargo clippy --manifest-path "$manifest" --locked --all-targets -- -D warnings
    # The venv with the wheel built from this checkout (the tests then see
    # exactly what a user gets); benches/report.sh builds it the same way.
    scripts/python-wheel.sh
    local status=0
    (cd crates/shmq-py && ../../"$venv"/bin/python -m pytest -q) || status=$?
    if [ "$status" -eq 5 ]; then
        echo "pytest collected no tests" >&2
        return 1
    elif [ "$status" -ne 0 ]; then
        return "$status"
    fi
    # The example and the benchmark end to end, tiny counts (no figures);
    # `timeout` bounds them (their receive loops wait on their peers).
    timeout 300 "$venv/bin/python" examples/python/producer_consumer.py --count 2000
    timeout 600 "$venv/bin/python" benches/python/bench.py --quick --markdown >/dev/null
)

step "setup toolchains" setup
step "fmt" cargo fmt --all -- --check
step "clippy" cargo clippy --workspace --all-targets -- -D warnings
step "docs (-D warnings)" env RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps
step "test" cargo test --workspace
step "mpmc crash points" cargo test -p shmq --release --features __crash-points --test processes_mpmc --test endpoint_api
step "benches compile" benches
# The README's first command end to end, small counts (figures printed, none asserted).
step "main job (small)" timeout 300 cargo run --release -p shmq --example sensor_pipeline -- \
    --stream 200000 --paced 20000 --pipe 20000
step "loom" loom
step "miri (shmq-core)" miri
step "no_std build ($EMBEDDED_TARGET)" cargo build -p shmq-core --target "$EMBEDDED_TARGET"
step "fuzz" fuzz
step "python" python_binding

printf '\n==== timings ====\n'
printf '%s\n' "${TIMINGS[@]}"
printf 'total %ds\n' "$SECONDS"
