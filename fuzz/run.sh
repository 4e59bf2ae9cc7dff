#!/usr/bin/env bash
# fuzz/run.sh: run the cargo-fuzz targets, each for a bounded time, on their
# seed corpus (corpus/TARGET, read only) plus a working corpus
# (corpus-work/TARGET, not committed) with their dictionary (dict/).
#
#   fuzz/run.sh [--time SECONDS] [--jobs N] [TARGET...]   # default: every target, 60 s
#   fuzz/run.sh --build-only                              # build them (fuzz/setup.sh)
#
# Targets run one after another, or N at a time with --jobs. Prints per
# target the executions, seconds and executions per second. A crash leaves
# its input in artifacts/TARGET/; the script names it and exits 1 (after the
# other targets ran). To keep a crash as a regression test, copy the input
# into regressions/TARGET/: harness/tests/fuzz.rs replays every file there.
#
# The build: release with debug assertions and overflow checks (cargo-fuzz's
# default), no sanitizer (the code under test is safe Rust; ASan would only
# slow it down), on stable: without a sanitizer cargo-fuzz passes no -Z flag.
# FAULTLINE_FUZZ_TOOLCHAIN picks another toolchain (e.g. nightly).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TOOLCHAIN=${FAULTLINE_FUZZ_TOOLCHAIN:-stable}
TARGETS_ALL=(scenario ledger)
# Longer inputs only slow the search down: a scenario is 1-2 kB, the seed
# ledgers are < 30 kB.
declare -A MAX_LEN=([scenario]=8192 [ledger]=65536)
BUILD=(--sanitizer none)

log() { echo "[fuzz] $*"; }
die() { echo "[fuzz] ERROR: $*" >&2; exit 2; }

TIME=60 JOBS=1 BUILD_ONLY="" TARGETS=()
while (($#)); do
    case $1 in
        --time) TIME=${2:?--time needs seconds}; shift 2 ;;
        --jobs) JOBS=${2:?--jobs needs a number}; shift 2 ;;
        --build-only) BUILD_ONLY=1; shift ;;
        -h | --help) sed -n '2,/^set -e/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        -*) die "unknown option $1" ;;
        *) TARGETS+=("$1"); shift ;;
    esac
done
((${#TARGETS[@]})) || TARGETS=("${TARGETS_ALL[@]}")
for t in "${TARGETS[@]}"; do
    [[ -n ${MAX_LEN[$t]:-} ]] || die "no target $t (targets: ${TARGETS_ALL[*]})"
done

# Run from cargo (harness/tests/fuzz.rs), the environment carries the calling
# package's variables; build scripts that watch them (rerun-if-env-changed=
# CARGO_PKG_NAME, CARGO_MANIFEST_DIR...) would rebuild every dependency.
unset CARGO_MANIFEST_DIR CARGO_MANIFEST_PATH CARGO_CRATE_NAME CARGO_PRIMARY_PACKAGE CARGO_TARGET_TMPDIR OUT_DIR
for v in $(compgen -v CARGO_PKG_) $(compgen -v CARGO_BIN_); do unset "$v"; done

cargo +"$TOOLCHAIN" fuzz --version >/dev/null 2>&1 ||
    die "cargo-fuzz on toolchain '$TOOLCHAIN' does not run: run fuzz/setup.sh (cargo install cargo-fuzz --locked)"

cd "$HERE"
t0=$(date +%s.%N)
cargo +"$TOOLCHAIN" fuzz build "${BUILD[@]}" >/dev/null 2>build.log ||
    { cat build.log >&2; die "cargo fuzz build failed"; }
log "built ${TARGETS_ALL[*]} ($TOOLCHAIN) in $(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')s"
[[ -z $BUILD_ONLY ]] || exit 0

SCRATCH=$(mktemp -d "${TMPDIR:-/tmp}/faultline-fuzz.XXXXXX")
[[ -d /dev/shm && -w /dev/shm ]] && { rmdir "$SCRATCH"; SCRATCH=$(mktemp -d /dev/shm/faultline-fuzz.XXXXXX); }
trap 'rm -rf "$SCRATCH"' EXIT

# run_target TARGET: fuzz it for $TIME seconds; its output in $SCRATCH/TARGET.log
run_target() {
    local t=$1
    mkdir -p "corpus-work/$t" "artifacts/$t" "$SCRATCH/$t"
    FAULTLINE_FUZZ_SCRATCH="$SCRATCH/$t" cargo +"$TOOLCHAIN" fuzz run "${BUILD[@]}" "$t" "corpus-work/$t" "corpus/$t" -- \
        -max_total_time="$TIME" -max_len="${MAX_LEN[$t]}" -dict="dict/$t.dict" \
        -artifact_prefix="artifacts/$t/" -print_final_stats=1 -close_fd_mask=3 \
        >"$SCRATCH/$t.log" 2>&1
}

# report TARGET STATUS: one line, and on a crash the input and the panic
report() {
    local t=$1 rc=$2 f=$SCRATCH/$1.log execs secs rate
    execs=$(awk '/stat::number_of_executed_units:/ { print $2 }' "$f")
    rate=$(awk '/stat::average_exec_per_sec:/ { print $2 }' "$f")
    secs=$(sed -nE 's/^Done [0-9]+ runs in ([0-9]+) second.*/\1/p' "$f")
    if ((rc == 0)); then
        log "$t: ok, ${execs:-?} executions in ${secs:-?} s (${rate:-?}/s), corpus $(ls "corpus-work/$t" | wc -l) + $(ls "corpus/$t" | wc -l) seeds"
        return 0
    fi
    local input
    input=$(sed -nE 's/.*Test unit written to (.*)$/\1/p' "$f" | tail -n1)
    echo "[fuzz] $t: FAILED (exit $rc) after ${execs:-?} executions" >&2
    grep -E "panicked at|^thread '|SUMMARY|ERROR: libFuzzer" -A3 "$f" | head -n 20 >&2 || tail -n 30 "$f" >&2
    if [[ -n $input ]]; then
        echo "[fuzz] $t: crashing input: $HERE/$input" >&2
        echo "[fuzz] keep it: cp $HERE/$input $HERE/regressions/$t/" >&2
    else
        tail -n 30 "$f" >&2
    fi
    return 1
}

failed=()
if ((JOBS > 1)); then
    declare -A pids=()
    for t in "${TARGETS[@]}"; do
        while (($(jobs -rp | wc -l) >= JOBS)); do wait -n || true; done
        run_target "$t" & pids[$t]=$!
    done
    for t in "${TARGETS[@]}"; do
        rc=0; wait "${pids[$t]}" || rc=$?
        report "$t" "$rc" || failed+=("$t")
    done
else
    for t in "${TARGETS[@]}"; do
        rc=0; run_target "$t" || rc=$?
        report "$t" "$rc" || failed+=("$t")
    done
fi
((${#failed[@]} == 0)) || { echo "[fuzz] crashed: ${failed[*]}" >&2; exit 1; }
