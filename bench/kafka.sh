#!/usr/bin/env bash
# bench/kafka.sh - export to Kafka on the benchmark capture: every
# transaction (plus the stats events) produced to a real Kafka-protocol
# broker (librdkafka's mock cluster, tests/export/kafka_mock_broker) on
# 127.0.0.1, against the same run writing transactions to /dev/null.
#
#   bash bench/kafka.sh [SIZE]      SIZE of the capture, default 1G
#
# Environment: BENCH_DIR (default /tmp/apisensor-bench; the capture is
# generated there by ../shared/tools/gen-bench-pcap when missing),
# BENCH_BUILD_DIR (default build-release), RUNS (default 3; best time counts),
# APISENSOR / MOCK_BROKER (use these binaries instead of building).
#
# Reports seconds, MB/s and events/s of both runs, their ratio, and the Kafka
# figures of the run summary. Exits non-zero when an event was dropped or
# failed, or the topic does not hold every transaction: export must keep up
# without loss. Never gates on time.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
shared=$(cd "$root/../shared" 2>/dev/null && pwd) || {
    echo "bench/kafka: $root/../shared not found (it holds the capture generator)" >&2
    exit 1
}
size=${1:-1G}
runs=${RUNS:-3}
bench_dir=${BENCH_DIR:-/tmp/apisensor-bench}
build_dir=${BENCH_BUILD_DIR:-$root/build-release}
mkdir -p "$bench_dir"
log() { printf 'bench/kafka: %s\n' "$*" >&2; }
# shellcheck source=bench/lib.sh
source "$root/bench/lib.sh"

if [[ -n ${APISENSOR:-} && -n ${MOCK_BROKER:-} ]]; then
    sensor=$APISENSOR
    broker_bin=$MOCK_BROKER
else
    bench_build apisensor kafka_mock_broker
    sensor=$build_dir/apisensor
    broker_bin=$build_dir/tests/export/kafka_mock_broker
fi

capture=$bench_dir/bench-$size.pcap
if [[ ! -s $capture ]]; then
    log "generating $capture"
    "$shared/tools/gen-bench-pcap" -q -s "$size" -o "$capture.tmp" -t "$bench_dir/bench-$size.truth.jsonl"
    mv -f "$capture.tmp" "$capture"
fi
bytes=$(stat -c %s "$capture")
cat "$capture" >/dev/null # page cache warm: time the export, not the disk

workdir=$(mktemp -d "$bench_dir/kafka.XXXXXX")
broker_pid=
cleanup() {
    if [[ -n $broker_pid ]]; then
        kill "$broker_pid" 2>/dev/null || true
        wait "$broker_pid" 2>/dev/null || true
    fi
    rm -rf "$workdir"
}
trap cleanup EXIT

# best_time LOG COMMAND... : best wall-clock seconds of $runs runs; the last
# run's stderr (the run summary) stays in LOG
best_time() {
    local log_file=$1 best="" start end wall
    shift
    for ((run = 1; run <= runs; run++)); do
        start=$(date +%s%N)
        "$@" >/dev/null 2>"$log_file" || {
            log "failed: $* ($(tail -3 "$log_file"))"
            exit 1
        }
        end=$(date +%s%N)
        wall=$(awk -v ns="$((end - start))" 'BEGIN { printf "%.3f", ns / 1e9 }')
        if [[ -z $best ]] || awk -v a="$wall" -v b="$best" 'BEGIN { exit !(a < b) }'; then
            best=$wall
        fi
    done
    printf '%s\n' "$best"
}

common=(-r "$capture" --db :memory: --no-progress -o /dev/null)
log "baseline: transactions to /dev/null, $runs runs"
base=$(best_time "$workdir/base.log" "$sensor" "${common[@]}" --transactions /dev/null)
events=$(awk '/transactions$/ { print $(NF - 1) }' "$workdir/base.log")

# One broker per run, so that each topic holds exactly that run's events.
kafka_run() {
    mkfifo "$workdir/broker.in"
    "$broker_bin" apisensor.transactions apisensor.stats apisensor.findings apisensor.endpoints \
        <"$workdir/broker.in" >"$workdir/broker.out" 2>&1 &
    broker_pid=$!
    exec 3>"$workdir/broker.in" # keep the helper's stdin open
    for _ in $(seq 50); do
        [[ -s $workdir/broker.out ]] && break
        sleep 0.1
    done
    address=$(head -1 "$workdir/broker.out")
    "$sensor" "${common[@]}" --kafka "$address" --kafka-transactions \
        --spool-dir "$workdir/spool" --flush-timeout 60
    status=$?
    # the topic's end offset = messages the broker holds (the mock keeps only
    # the newest ones readable, so count by offset, not by consuming)
    last=$(timeout 60 kcat -C -b "$address" -t apisensor.transactions -o -1 -e -q -f '%o\n' || true)
    echo "topic end offset ${last:-none}" >&2
    exec 3>&-
    wait "$broker_pid" || true
    broker_pid=
    rm -f "$workdir/broker.in"
    return "$status"
}
log "kafka: transactions to the mock broker, $runs runs"
kafka=$(best_time "$workdir/kafka.log" kafka_run)

summary=$(grep -E '^ *kafka:' "$workdir/kafka.log" || echo "kafka: no summary")
figure() { sed -nE "s/.* ([0-9]+) $1.*/\1/p" <<<"$summary" | head -1; }
delivered=$(figure delivered)
failed=$(figure 'failed deliveries')
spooled=$(figure spooled)
dropped=$(figure dropped)
last=$(sed -nE 's/^topic end offset ([0-9]+)$/\1/p' "$workdir/kafka.log")
on_topic=$((${last:--1} + 1))

echo
echo "apisensor Kafka export: $(basename "$capture"), $(nproc) cores, best of $runs runs, MB = 10^6 bytes"
printf '%-40s %10s %10s %12s\n' run seconds MB/s events/s
for row in "transactions to /dev/null:$base" "transactions to Kafka (mock broker):$kafka"; do
    awk -v l="${row%%:*}" -v s="${row##*:}" -v b="$bytes" -v e="$events" \
        'BEGIN { printf "%-40s %10.3f %10.1f %12.0f\n", l, s, b / s / 1e6, e / s }'
done
awk -v a="$kafka" -v b="$base" 'BEGIN { printf "ratio kafka / baseline time: %.2f\n", a / b }'
echo "$summary" | sed 's/^ */  /'
echo "  transactions: $events in the run, $on_topic on the topic"

if [[ ${dropped:-1} != 0 || ${failed:-1} != 0 || $on_topic != "$events" ]]; then
    echo "bench/kafka: FAIL: events lost (dropped ${dropped:-?}, failed ${failed:-?}, topic $on_topic of $events)"
    exit 1
fi
echo "bench/kafka: 0 dropped, ${spooled:-0} spooled and replayed, every transaction on the topic"
