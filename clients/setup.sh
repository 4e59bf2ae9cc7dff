#!/usr/bin/env bash
# clients/setup.sh: build the worker adapters (clients/<name>/faultline-<name>):
# the Go ones from the Go module proxy, the Java one from Maven Central.
# Idempotent: go's build cache makes a second run take about a second, and
# the Java jar is only rebuilt when pom.xml or a file under src/ is newer than
# it. faultline finds the programs here (or through FAULTLINE_CLIENTS, or on
# the PATH).
#
#   bash clients/setup.sh              # every adapter
#   bash clients/setup.sh franz-go     # one
#   bash clients/setup.sh java
#
# Needs Go 1.26 or newer (franz-go v1.22.3 requires it) and, for
# confluent-kafka-go, a C compiler (cgo; librdkafka comes bundled). The Java
# adapter needs Maven and a JDK 17 or newer (clients/java/faultline-java runs
# target/faultline-java.jar).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ADAPTERS=(franz-go confluent-kafka-go java)
[[ $# -gt 0 ]] && ADAPTERS=("$@")

log() { echo "[clients] $*"; }
die() { echo "[clients] ERROR: $*" >&2; exit 1; }
since() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }'; }

build_go() {
    local name=$1 dir=$HERE/$1 t0
    command -v go >/dev/null || die "go is not installed (Go 1.26+ is needed to build the Go adapters)"
    t0=$(date +%s.%N)
    (cd "$dir" && go build -trimpath -o "faultline-$name" .)
    log "$name: built $dir/faultline-$name in $(since "$t0")s"
}

build_java() {
    local dir=$HERE/java jar=$HERE/java/target/faultline-java.jar javac t0 major
    command -v mvn >/dev/null || die "mvn is not installed (Maven and a JDK 17+ are needed to build the Java adapter; Debian: apt-get install maven openjdk-17-jdk-headless)"
    javac=javac
    [[ -n ${JAVA_HOME:-} && -x $JAVA_HOME/bin/javac ]] && javac=$JAVA_HOME/bin/javac
    command -v "$javac" >/dev/null || die "no JDK (javac) found: the Java adapter needs a JDK 17 or newer (Debian: apt-get install openjdk-17-jdk-headless)"
    major=$("$javac" -version 2>&1 | sed -n 's/^javac \([0-9]*\).*/\1/p')
    [[ -n $major && $major -ge 17 ]] || die "the Java adapter needs a JDK 17 or newer; $javac is $("$javac" -version 2>&1)"
    t0=$(date +%s.%N)
    if [[ -f $jar && -z $(find "$dir/pom.xml" "$dir/src" -newer "$jar" -print -quit) ]]; then
        log "java: $jar is up to date ($(since "$t0")s)"
        return
    fi
    # (Maven 3.8 prints colour resets even with -B: stripped.)
    (cd "$dir" && mvn -q -B -DskipTests package 2>&1) | sed 's/\x1b\[[0-9;]*m//g'
    [[ -f $jar ]] || die "java: mvn ran but left no $jar"
    log "java: built $jar in $(since "$t0")s (run it with $dir/faultline-java)"
}

for name in "${ADAPTERS[@]}"; do
    dir="$HERE/$name"
    if [[ $name == java ]]; then
        [[ -f $dir/pom.xml ]] || die "no adapter $name (no $dir/pom.xml)"
        build_java
    else
        [[ -f $dir/go.mod ]] || die "no adapter $name (no $dir/go.mod)"
        build_go "$name"
    fi
done
