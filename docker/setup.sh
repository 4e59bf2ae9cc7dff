#!/usr/bin/env bash
# docker/setup.sh: make this machine able to run faultline's docker backend
# offline. Idempotent; run as root (users and CI alike):
#
#   1. install Debian's docker.io (and debootstrap, maven; chromium for the
#      timeline.html browser test) if missing
#   2. start dockerd if it does not answer, wait until it does
#   3. build faultline/debian-base:bookworm (debootstrap + docker import, with
#      Java 17) if that image is missing
#   4. build faultline/kafka:<version> from Maven Central jars if its inputs
#      changed (their hash is kept in the image label faultline.inputs)
#   5. build the worker adapters (clients/setup.sh: Go, from the module proxy)
#   6. install cargo-fuzz and build the fuzz targets (fuzz/setup.sh: crates.io)
#
# No container registry is reachable here, so nothing is pulled: the only
# network hosts used are the machine's own apt mirror and Maven Central.
#
# Environment knobs:
#   FAULTLINE_KAFKA_VERSION   Kafka version from Maven Central (default 4.1.1)
#   FAULTLINE_LOG4J_VERSION   log4j2 version (default 2.24.3)
#   FAULTLINE_DEBIAN_MIRROR   mirror for debootstrap (default: from apt's sources)
#   FAULTLINE_REBUILD         base | kafka | all: rebuild even if up to date
#                             (a new base image also rebuilds the Kafka image;
#                             kafka re-runs mvn and docker build --no-cache)
#   FAULTLINE_DOCKERD_ARGS    extra flags for dockerd when this script starts it
#   FAULTLINE_DOCKERD_WAIT    seconds to wait for dockerd (default 60)
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
KAFKA_DIR="$HERE/kafka"
KAFKA_VERSION=${FAULTLINE_KAFKA_VERSION:-4.1.1}
LOG4J_VERSION=${FAULTLINE_LOG4J_VERSION:-2.24.3}
SUITE=bookworm
BASE_IMAGE="faultline/debian-base:$SUITE"
KAFKA_IMAGE="faultline/kafka:$KAFKA_VERSION"
BASE_PACKAGES=openjdk-17-jre-headless
REBUILD=${FAULTLINE_REBUILD:-}
case $REBUILD in "" | base | kafka | all) ;; *) echo "FAULTLINE_REBUILD must be base, kafka or all" >&2; exit 2 ;; esac
DOCKERD_LOG=/var/log/faultline-dockerd.log
DOCKERD_WAIT=${FAULTLINE_DOCKERD_WAIT:-60}

export DEBIAN_FRONTEND=noninteractive
# Debian's engine is 20.10 (API 1.41). The client that comes with it is used
# below; should another one be used (this machine also has docker 28 in
# /usr/local/bin, which negotiates down to 1.41 by itself), it must not try
# BuildKit/buildx, which is not installed: ask for the classic builder.
export DOCKER_BUILDKIT=0

log() { echo "[setup] $*"; }
die() { echo "[setup] ERROR: $*" >&2; exit 1; }

# ---- step timing -----------------------------------------------------------
SUMMARY=()
now() { date +%s.%N; }
# seconds since $1 (a `now` value), one decimal
since() { awk -v t0="$1" -v t1="$(now)" 'BEGIN { printf "%.1f", t1 - t0 }'; }
# run_step "title" function: runs the function, records what it reported in
# $DID and how long it took.
CURRENT_STEP=""
run_step() {
    local title=$1 fn=$2 t0
    DID=""
    CURRENT_STEP=$title
    log "== $title"
    t0=$(now)
    "$fn"
    SUMMARY+=("$(printf '%-12s %7ss  %s' "$title" "$(since "$t0")" "$DID")")
    CURRENT_STEP=""
}
# Scratch root filesystem of the base image build (see build_base).
ROOTFS=""
cleanup_rootfs() {
    [[ -n $ROOTFS && -d $ROOTFS ]] || return 0
    # debootstrap mounts /proc and /sys inside; never delete through a mount.
    awk -v r="$ROOTFS" '$2 == r || index($2, r "/") == 1 { print $2 }' /proc/mounts | sort -r |
        while read -r mnt; do umount -l "$mnt" || true; done
    if awk -v r="$ROOTFS" '$2 == r || index($2, r "/") == 1 { found = 1 } END { exit !found }' /proc/mounts; then
        log "WARNING: mounts left under $ROOTFS; not deleting it"
    else
        rm -rf --one-file-system "$ROOTFS"
    fi
    ROOTFS=""
}

on_exit() {
    local rc=$?
    cleanup_rootfs
    ((rc == 0)) || log "FAILED (exit $rc)${CURRENT_STEP:+ in step: $CURRENT_STEP}"
    ((${#SUMMARY[@]})) || return 0
    log "summary:"
    printf '    %s\n' "${SUMMARY[@]}"
}
trap on_exit EXIT

[[ $(id -u) -eq 0 ]] || die "run as root (it installs packages and starts dockerd)"

# ---- 1. packages -----------------------------------------------------------
APT_UPDATED=""
apt_install() {
    if [[ -z $APT_UPDATED ]]; then
        apt-get update -qq
        APT_UPDATED=1
    fi
    apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

install_packages() {
    local want=()
    command -v dockerd >/dev/null || want+=(docker.io)
    command -v debootstrap >/dev/null || want+=(debootstrap)
    command -v mvn >/dev/null || want+=(maven)
    command -v chromium >/dev/null || want+=(chromium)
    if ((${#want[@]})); then
        log "installing: ${want[*]}"
        apt_install "${want[@]}"
        DID="installed ${want[*]}"
    else
        DID="nothing to install"
    fi
}

run_step "packages" install_packages

# Prefer the client that ships with the engine (/usr/bin/docker from docker.io);
# any other docker CLI negotiates the API version with the engine by itself.
if [[ -x /usr/bin/docker ]]; then
    DOCKER=/usr/bin/docker
else
    DOCKER=$(command -v docker) || die "no docker client found"
fi
docker() { "$DOCKER" "$@"; }

# ---- 2. dockerd ------------------------------------------------------------
docker_answers() { timeout 10 "$DOCKER" info >/dev/null 2>&1; }

start_dockerd() {
    if docker_answers; then
        DID="already running"
        return
    fi
    local pid=""
    if pid=$(pgrep -x dockerd | head -n1) && [[ -n $pid ]]; then
        log "dockerd (pid $pid) runs but does not answer yet: waiting for it"
        DID="waited for running dockerd"
    elif [[ -d /run/systemd/system ]] && systemctl cat docker.service >/dev/null 2>&1; then
        # An ordinary machine with systemd: let it own dockerd.
        systemctl start docker.service
        pid=$(systemctl show -p MainPID --value docker.service)
        DID="started docker.service (pid $pid)"
    else
        # No init system to ask (containers, CI sandboxes like ours): run it
        # detached so that it outlives this script. No flags are needed on our
        # machines (overlay2 and iptables/nf_tables work as they are).
        # shellcheck disable=SC2086  # flags are word-split on purpose
        setsid nohup dockerd ${FAULTLINE_DOCKERD_ARGS:-} \
            >>"$DOCKERD_LOG" 2>&1 </dev/null &
        pid=$!
        log "started dockerd (pid $pid) ${FAULTLINE_DOCKERD_ARGS:-}; log: $DOCKERD_LOG"
        DID="started dockerd (pid $pid)"
    fi
    local waited=0 where=$DOCKERD_LOG
    [[ $DID == *docker.service* ]] && where="journalctl -u docker.service"
    until docker_answers; do
        if ! kill -0 "$pid" 2>/dev/null; then
            [[ -f $where ]] && tail -n 20 "$where" >&2
            die "dockerd exited; see $where"
        fi
        if ((waited >= DOCKERD_WAIT)); then
            [[ -f $where ]] && tail -n 20 "$where" >&2
            die "dockerd did not answer within ${DOCKERD_WAIT}s; see $where"
        fi
        sleep 1
        waited=$((waited + 1))
    done
}

run_step "dockerd" start_dockerd

# ---- 3. base image ---------------------------------------------------------
image_exists() { docker image inspect "$1" >/dev/null 2>&1; }

# The machine's Debian mirror: the first "deb" source that serves $SUITE, from
# deb822 *.sources files or one-line *.list files. Never a host of our own choosing.
debian_mirror() {
    if [[ -n ${FAULTLINE_DEBIAN_MIRROR:-} ]]; then
        echo "$FAULTLINE_DEBIAN_MIRROR"
        return
    fi
    local m=""
    shopt -s nullglob
    local sources=(/etc/apt/sources.list.d/*.sources) lists=(/etc/apt/sources.list /etc/apt/sources.list.d/*.list)
    shopt -u nullglob
    if ((${#sources[@]})); then
        m=$(awk -v suite="$SUITE" '
            BEGIN { RS = ""; FS = "\n" }
            {
                types = ""; uris = ""; suites = ""; enabled = "yes"
                for (i = 1; i <= NF; i++) {
                    line = $i
                    if (line ~ /^[ \t]*#/) continue
                    key = tolower(line); sub(/:.*/, "", key)
                    val = line; sub(/^[^:]*:[ \t]*/, "", val)
                    if (key == "types") types = val
                    else if (key == "uris") uris = val
                    else if (key == "suites") suites = val
                    else if (key == "enabled") enabled = tolower(val)
                }
                if (enabled != "no" && (" " types " ") ~ / deb / && (" " suites " ") ~ (" " suite " ")) {
                    split(uris, u, /[ \t]+/); print u[1]; exit
                }
            }' "${sources[@]}")
    fi
    if [[ -z $m ]]; then
        for f in "${lists[@]}"; do
            [[ -f $f ]] || continue
            m=$(awk -v suite="$SUITE" '
                $1 == "deb" {
                    i = 2
                    if ($i ~ /^\[/) { while ($i !~ /\]$/) i++; i++ }
                    if ($(i + 1) == suite) { print $i; exit }
                }' "$f")
            [[ -n $m ]] && break
        done
    fi
    [[ -n $m ]] || die "no apt source for '$SUITE' found in /etc/apt; set FAULTLINE_DEBIAN_MIRROR"
    echo "$m"
}

build_base() {
    if image_exists "$BASE_IMAGE" && [[ $REBUILD != base && $REBUILD != all ]]; then
        DID="$BASE_IMAGE present"
        return
    fi
    local mirror
    mirror=$(debian_mirror)
    image_exists "$BASE_IMAGE" && OLD_BASE_ID=$(docker image inspect -f '{{.Id}}' "$BASE_IMAGE")
    ROOTFS=$(mktemp -d /var/tmp/faultline-rootfs.XXXXXX)
    log "debootstrap --variant=minbase --include=$BASE_PACKAGES $SUITE from $mirror"
    local t0
    t0=$(now)
    debootstrap --variant=minbase --include="$BASE_PACKAGES" "$SUITE" "$ROOTFS" "$mirror" \
        >"$ROOTFS.debootstrap.log" 2>&1 || {
        tail -n 30 "$ROOTFS.debootstrap.log" >&2
        die "debootstrap failed; full log: $ROOTFS.debootstrap.log"
    }
    rm -f "$ROOTFS.debootstrap.log"
    log "debootstrap took $(since "$t0")s"
    # Slim it: no package caches or docs in the image.
    chroot "$ROOTFS" apt-get clean
    rm -rf "$ROOTFS"/var/lib/apt/lists/* "$ROOTFS"/usr/share/doc/* \
        "$ROOTFS"/usr/share/man/* "$ROOTFS"/usr/share/locale/* "$ROOTFS"/var/log/*.log
    tar --numeric-owner -C "$ROOTFS" -c . | docker import \
        --change 'ENV LANG=C.UTF-8' \
        --change 'CMD ["/bin/bash"]' \
        --change "LABEL faultline.base.mirror=$mirror faultline.base.packages=$BASE_PACKAGES" \
        - "$BASE_IMAGE" >/dev/null
    cleanup_rootfs
    # The Kafka image is built on this one: make it rebuild too.
    DID="built $BASE_IMAGE ($(docker image inspect -f '{{.Size}}' "$BASE_IMAGE" | awk '{ printf "%d MB", $1 / 1e6 }'))"
}

# ---- 4. Kafka image --------------------------------------------------------
# Everything the image is made from: files, versions and the base image's id.
kafka_inputs_hash() {
    {
        (cd "$KAFKA_DIR" && sha256sum Dockerfile .dockerignore entrypoint.sh log4j2.yaml pom.xml)
        echo "kafka=$KAFKA_VERSION log4j=$LOG4J_VERSION"
        docker image inspect -f '{{.Id}}' "$BASE_IMAGE"
    } | sha256sum | cut -d' ' -f1
}

# Jars from Maven Central into kafka/build/libs, skipped when the pom and the
# versions are those of the last successful copy (build/libs.stamp).
fetch_jars() {
    local libs="$KAFKA_DIR/build/libs" stamp="$KAFKA_DIR/build/libs.stamp" want
    want=$({ sha256sum "$KAFKA_DIR/pom.xml" | cut -d' ' -f1; echo "$KAFKA_VERSION $LOG4J_VERSION"; } | sha256sum | cut -d' ' -f1)
    if [[ $REBUILD != kafka && $REBUILD != all && -f $stamp && $(cat "$stamp") == "$want" ]] &&
        compgen -G "$libs/*.jar" >/dev/null; then
        log "jars in $libs are up to date"
        return
    fi
    rm -rf "$libs" "$stamp"
    local t0
    t0=$(now)
    log "mvn dependency:copy-dependencies (kafka_2.13 $KAFKA_VERSION, log4j $LOG4J_VERSION)"
    # (sed: Debian's Maven 3.8.7 prints stray colour resets even in batch mode.)
    mvn -B -q -ntp -f "$KAFKA_DIR/pom.xml" dependency:copy-dependencies \
        -DincludeScope=runtime -DoutputDirectory="$libs" \
        -Dkafka.version="$KAFKA_VERSION" -Dlog4j.version="$LOG4J_VERSION" 2>&1 |
        sed 's/\x1b\[[0-9;]*m//g'
    # pipefail carries mvn's failure through sed
    compgen -G "$libs/kafka_2.13-$KAFKA_VERSION.jar" >/dev/null ||
        die "mvn did not produce kafka_2.13-$KAFKA_VERSION.jar in $libs"
    echo "$want" >"$stamp"
    log "mvn took $(since "$t0")s: $(find "$libs" -name '*.jar' | wc -l) jars, $(du -sh "$libs" | cut -f1)"
}

build_kafka() {
    local want have="" old_id=""
    want=$(kafka_inputs_hash)
    if image_exists "$KAFKA_IMAGE"; then
        have=$(docker image inspect -f '{{ index .Config.Labels "faultline.inputs" }}' "$KAFKA_IMAGE")
        old_id=$(docker image inspect -f '{{.Id}}' "$KAFKA_IMAGE")
    fi
    if [[ $have == "$want" && $REBUILD != kafka && $REBUILD != all ]]; then
        DID="$KAFKA_IMAGE up to date"
        return
    fi
    log "inputs changed (image: ${have:-none}, now: $want): building $KAFKA_IMAGE"
    fetch_jars
    local t0
    t0=$(now)
    local no_cache=()
    [[ $REBUILD == kafka || $REBUILD == all ]] && no_cache=(--no-cache)
    docker build -q "${no_cache[@]}" \
        --label "faultline.inputs=$want" \
        --label "faultline.kafka.version=$KAFKA_VERSION" \
        -t "$KAFKA_IMAGE" "$KAFKA_DIR" >/dev/null
    log "docker build took $(since "$t0")s"
    # Drop the image this one replaced, unless a container still uses it.
    if [[ -n $old_id && $old_id != "$(docker image inspect -f '{{.Id}}' "$KAFKA_IMAGE")" ]]; then
        docker rmi "$old_id" >/dev/null 2>&1 || log "kept old image ${old_id:7:12} (in use)"
    fi
    DID="built $KAFKA_IMAGE ($(docker image inspect -f '{{.Size}}' "$KAFKA_IMAGE" | awk '{ printf "%d MB", $1 / 1e6 }'))"
}

build_adapters() {
    bash "$HERE/../clients/setup.sh"
    DID="built clients/*/faultline-*"
}

build_fuzz() {
    bash "$HERE/../fuzz/setup.sh"
    DID="built fuzz/target/*/release/{scenario,ledger}"
}

OLD_BASE_ID=""
run_step "base image" build_base
run_step "kafka image" build_kafka

# A replaced base image can go once the Kafka image no longer uses it.
# (Removing the old Kafka image may already have taken it along.)
if [[ -n $OLD_BASE_ID ]] && image_exists "$OLD_BASE_ID"; then
    docker rmi "$OLD_BASE_ID" >/dev/null 2>&1 || log "kept old base image ${OLD_BASE_ID:7:12} (in use)"
fi

# The worker adapters (Go) that tests and scenarios with `client = ...` run.
run_step "adapters" build_adapters
# The fuzz targets that harness/tests/fuzz.rs runs briefly.
run_step "fuzz" build_fuzz
log "ready: $BASE_IMAGE, $KAFKA_IMAGE (docker client: $DOCKER, $("$DOCKER" version -f 'engine {{.Server.Version}}, API {{.Server.APIVersion}}'))"
