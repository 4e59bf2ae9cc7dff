#!/usr/bin/env bash
# docker/check.sh: smoke test of the image that setup.sh built. Runs one
# single-node KRaft broker (broker+controller) with the apache/kafka-style
# environment, waits for "Kafka Server started", asks it for ApiVersions on
# its published 127.0.0.1 port, stops and starts the same container (storage
# already formatted), asks again, then removes the container.
#
#   bash docker/check.sh [IMAGE]      (default faultline/kafka:4.1.1)
#
# The container carries the label faultline.test=setup-check and is removed by
# its id, also on failure.
set -euo pipefail

IMAGE=${1:-faultline/kafka:${FAULTLINE_KAFKA_VERSION:-4.1.1}}
READY_WAIT=${FAULTLINE_READY_WAIT:-90}
READY_LINE="Kafka Server started"
DOCKER=/usr/bin/docker
[[ -x $DOCKER ]] || DOCKER=$(command -v docker)
docker() { "$DOCKER" "$@"; }

log() { echo "[check] $*"; }
die() { echo "[check] ERROR: $*" >&2; exit 1; }
now() { date +%s.%N; }
since() { awk -v t0="$1" -v t1="$(now)" 'BEGIN { printf "%.1f", t1 - t0 }'; }

CID=""
cleanup() {
    local rc=$?
    if [[ -n $CID ]]; then
        ((rc == 0)) || { log "last broker log lines:"; docker logs --tail 30 "$CID" 2>&1 | sed 's/^/    /'; }
        docker rm -f "$CID" >/dev/null && log "removed container ${CID:0:12}"
    fi
    ((rc == 0)) || log "FAILED (exit $rc)"
}
trap cleanup EXIT

# A port that is free on 127.0.0.1 right now (the kernel picks it).
free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# Wait until the container's log holds the ready line $1 times (a restarted
# container keeps the log of its earlier runs).
wait_ready() {
    local times=$1 waited=0
    until (($(docker logs "$CID" 2>&1 | grep -c "$READY_LINE") >= times)); do
        [[ $(docker inspect -f '{{.State.Running}}' "$CID") == true ]] || die "broker container exited"
        ((waited < READY_WAIT * 10)) || die "no '$READY_LINE' within ${READY_WAIT}s"
        sleep 0.1
        waited=$((waited + 1))
    done
}

# A Kafka ApiVersions v0 request (api key 18, correlation id 1, client id "fl")
# on the advertised listener; the reply must echo the correlation id with
# error code 0. Proves the broker speaks Kafka on 127.0.0.1:PORT, not just TCP.
api_versions() {
    local port=$1 reply
    # shellcheck disable=SC2016  # $1 is expanded by the inner bash
    reply=$(timeout 5 bash -c '
        exec 3<>"/dev/tcp/127.0.0.1/$1"
        printf "\x00\x00\x00\x0c\x00\x12\x00\x00\x00\x00\x00\x01\x00\x02fl" >&3
        head -c 10 <&3 | od -An -tx1' _ "$port" | tr -d ' \n')
    [[ ${reply:8:12} == 000000010000 ]] || die "unexpected ApiVersions reply: '${reply}'"
    log "127.0.0.1:$port answers ApiVersions (reply header $reply)"
}

docker image inspect "$IMAGE" >/dev/null || die "image $IMAGE missing: run docker/setup.sh"
PORT=$(free_port)
CLUSTER_ID=$(docker run --rm --label faultline.test=setup-check --entrypoint java "$IMAGE" \
    -cp '/opt/kafka/libs/*' kafka.tools.StorageTool random-uuid)
log "image $IMAGE, cluster id $CLUSTER_ID, client port 127.0.0.1:$PORT"

# The env set of BROKERS.md's single-node config, as apache/kafka reads it.
CID=$(docker create --label faultline.test=setup-check \
    -p "127.0.0.1:$PORT:9092" \
    -e CLUSTER_ID="$CLUSTER_ID" \
    -e KAFKA_NODE_ID=1 \
    -e KAFKA_PROCESS_ROLES=broker,controller \
    -e KAFKA_CONTROLLER_QUORUM_VOTERS=1@localhost:9093 \
    -e KAFKA_CONTROLLER_LISTENER_NAMES=CONTROLLER \
    -e KAFKA_LISTENERS=PLAINTEXT://0.0.0.0:9092,INTERNAL://0.0.0.0:19092,CONTROLLER://0.0.0.0:9093 \
    -e KAFKA_ADVERTISED_LISTENERS="PLAINTEXT://127.0.0.1:$PORT,INTERNAL://localhost:19092" \
    -e KAFKA_LISTENER_SECURITY_PROTOCOL_MAP=PLAINTEXT:PLAINTEXT,INTERNAL:PLAINTEXT,CONTROLLER:PLAINTEXT \
    -e KAFKA_INTER_BROKER_LISTENER_NAME=INTERNAL \
    -e KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR=1 \
    -e KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR=1 \
    -e KAFKA_TRANSACTION_STATE_LOG_MIN_ISR=1 \
    -e KAFKA_SHARE_COORDINATOR_STATE_TOPIC_REPLICATION_FACTOR=1 \
    -e KAFKA_SHARE_COORDINATOR_STATE_TOPIC_MIN_ISR=1 \
    -e KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS=0 \
    "$IMAGE")
log "created container ${CID:0:12}"

t0=$(now)
docker start "$CID" >/dev/null
wait_ready 1
START_S=$(since "$t0")
log "first start: ready after ${START_S}s"
PID1=$(docker exec "$CID" cat /proc/1/comm)
[[ $PID1 == java ]] || die "PID 1 in the container is '$PID1', not java"
log "PID 1 is java (SIGTERM from docker stop reaches the JVM)"
api_versions "$PORT"

t0=$(now)
docker stop "$CID" >/dev/null
STOP_S=$(since "$t0")
EXIT_CODE=$(docker inspect -f '{{.State.ExitCode}}' "$CID")
log "docker stop took ${STOP_S}s, exit code $EXIT_CODE (143 = SIGTERM handled; 137 = killed after the grace period)"
[[ $EXIT_CODE != 137 ]] || die "the broker ignored SIGTERM"

t0=$(now)
docker start "$CID" >/dev/null
wait_ready 2
RESTART_S=$(since "$t0")
log "restart: ready after ${RESTART_S}s"
# (logs into a variable first: grep -q would close the pipe early under pipefail)
LOGS=$(docker logs "$CID" 2>&1)
grep -q 'already formatted' <<<"$LOGS" || die "restart did not report the storage as already formatted"
log "restart found the storage already formatted (tolerated)"
api_versions "$PORT"

log "OK: start ${START_S}s, stop ${STOP_S}s, restart ${RESTART_S}s"
