#!/usr/bin/env bash
# clients/setup.sh: build the worker adapters (clients/<name>/faultline-<name>)
# from the Go module proxy. Idempotent: go's build cache makes a second run
# take about a second. faultline finds the binaries here (or through
# FAULTLINE_CLIENTS, or on the PATH).
#
#   bash clients/setup.sh              # every adapter
#   bash clients/setup.sh franz-go     # one
#
# Needs Go 1.26 or newer (franz-go v1.22.3 requires it) and, for
# confluent-kafka-go, a C compiler (cgo; librdkafka comes bundled).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ADAPTERS=(franz-go confluent-kafka-go)
[[ $# -gt 0 ]] && ADAPTERS=("$@")

log() { echo "[clients] $*"; }
command -v go >/dev/null || { echo "[clients] ERROR: go is not installed (Go 1.26+ is needed to build the adapters)" >&2; exit 1; }

for name in "${ADAPTERS[@]}"; do
    dir="$HERE/$name"
    [[ -f $dir/go.mod ]] || { echo "[clients] ERROR: no adapter $name (no $dir/go.mod)" >&2; exit 1; }
    t0=$(date +%s.%N)
    (cd "$dir" && go build -trimpath -o "faultline-$name" .)
    log "$name: built $dir/faultline-$name in $(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')s"
done
