#!/usr/bin/env bash
# bench/tls.sh - cost of TLS decryption: apisensor on the TLS scenario
# captures (../shared/pcaps/scenarios/tls) with their key logs, without
# them (fingerprints only), and on the same traffic in cleartext
# (../shared/pcaps/scenarios/mixed.pcap) as the baseline of the same run.
#
#   bash bench/tls.sh
#
# Environment:
#   REPEAT           times each capture is given with -r in one run (default 32:
#                    about 115 MB per run, enough to time; at most 64)
#   RUNS             timed runs per row, the best counts (default 3)
#   BENCH_DIR        logs and the key log copies (default /tmp/apisensor-bench)
#   BENCH_BUILD_DIR  Release build of apisensor (default build-release)
#   APISENSOR        benchmark this binary instead of building one
#
# Figures: MB of capture and HTTP transactions per CPU second (user +
# system, one thread: per core), and the ratio of MB/s to the cleartext row.
# TLS captures are bigger than their cleartext for the same requests
# (handshakes, certificates, record overhead): compare transactions/s too.
# Never gates on absolute time.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
shared=$(cd "$root/../shared" 2>/dev/null && pwd) || {
    echo "bench/tls: $root/../shared not found (it holds the TLS scenario captures)" >&2
    exit 1
}
repeat=${REPEAT:-32}
runs=${RUNS:-3}
bench_dir=${BENCH_DIR:-/tmp/apisensor-bench}
build_dir=${BENCH_BUILD_DIR:-$root/build-release}
tls_dir=$shared/pcaps/scenarios/tls
mkdir -p "$bench_dir"

log() { printf 'bench/tls: %s\n' "$*" >&2; }
# shellcheck source=bench/lib.sh
source "$root/bench/lib.sh"

bench_sensor

# row NAME CAPTURE [sensor options...]: best of RUNS, prints MB/s per CPU second
baseline=""
row() {
    local name=$1 capture=$2
    shift 2
    local args=() i best="" size
    for ((i = 0; i < repeat; i++)); do args+=(-r "$capture"); done
    size=$(stat -c %s "$capture")
    cat "$capture" >/dev/null
    for ((i = 0; i < runs; i++)); do
        local cpu
        cpu=$( { /usr/bin/time -f '%U %S' "$sensor" "${args[@]}" --db :memory: -o /dev/null \
            --transactions /dev/null -q --no-progress "$@" 2>&1 >/dev/null; } | tail -1 |
            awk '{print $1 + $2}')
        if [[ -z $best ]] || awk -v a="$cpu" -v b="$best" 'BEGIN{exit !(a < b)}'; then
            best=$cpu
        fi
    done
    local mbps tx
    mbps=$(awk -v s="$size" -v n="$repeat" -v t="$best" 'BEGIN{printf "%.1f", s*n/1e6/(t>0?t:1e-9)}')
    tx=$("$sensor" -r "$capture" --db :memory: -o /dev/null --transactions - -q --no-progress "$@" |
        wc -l)
    [[ -z $baseline ]] && baseline=$mbps
    printf '%-46s %7.1f MB %7.3f s CPU %7s MB/s %9s tx/s per core %5.2fx cleartext MB/s\n' \
        "$name" "$(awk -v s="$size" -v n="$repeat" 'BEGIN{print s*n/1e6}')" "$best" "$mbps" \
        "$(awk -v x="$tx" -v n="$repeat" -v t="$best" 'BEGIN{printf "%.0f", x*n/(t>0?t:1e-9)}')" \
        "$(awk -v a="$mbps" -v b="$baseline" 'BEGIN{printf "%.2f", a/b}')"
}

# the key logs of the set are read-only archives; copies are made private anyway
for v in 12 13; do
    install -m 600 "$tls_dir/mixed-tls$v.keylog" "$bench_dir/mixed-tls$v.keylog"
done

echo "apisensor TLS decryption, ${repeat}x each capture per run, best of $runs ($(nproc) cores, 1 thread used)"
row "cleartext mixed.pcap (baseline)" "$shared/pcaps/scenarios/mixed.pcap"
for v in 12 13; do
    row "mixed-tls$v.pcap with key log (decrypt)" "$tls_dir/mixed-tls$v.pcap" \
        --keylog "$bench_dir/mixed-tls$v.keylog"
    row "mixed-tls$v.pcap without key log (fingerprint)" "$tls_dir/mixed-tls$v.pcap"
done
