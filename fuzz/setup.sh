#!/usr/bin/env bash
# fuzz/setup.sh: make fuzz/run.sh (and harness/tests/fuzz.rs) able to run:
# installs cargo-fuzz if missing, builds the fuzz targets. Idempotent: a
# second run takes a few seconds. docker/setup.sh runs it.
#
# The first build compiles faultline's lower half (no `engine` feature: no
# librdkafka, tokio or Docker client) and its dependencies again,
# instrumented, in fuzz/target: about 1.5 minutes on 2 cores. Later builds
# rebuild what changed.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TOOLCHAIN=${FAULTLINE_FUZZ_TOOLCHAIN:-stable}
log() { echo "[fuzz-setup] $*"; }
t0=$(date +%s.%N)

rustup run "$TOOLCHAIN" rustc --version >/dev/null 2>&1 ||
    { echo "[fuzz-setup] ERROR: no Rust toolchain '$TOOLCHAIN' (rustup toolchain install $TOOLCHAIN)" >&2; exit 1; }
if cargo +"$TOOLCHAIN" fuzz --version >/dev/null 2>&1; then
    log "$(cargo +"$TOOLCHAIN" fuzz --version) present"
else
    log "installing cargo-fuzz (cargo install cargo-fuzz --locked)"
    cargo +"$TOOLCHAIN" install cargo-fuzz --locked --quiet
fi
bash "$HERE/run.sh" --build-only
log "ready in $(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')s"
