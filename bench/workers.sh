#!/usr/bin/env bash
# bench/workers.sh - throughput of apisensor with 1, 2 and 4 worker threads
# (--workers N, issue #7) on the benchmark capture, as speed-up over 1
# worker measured in the same run.  See bench/README.md.
#
#   bash bench/workers.sh [SIZE]     SIZE of the capture, default 1G
#
# Environment:
#   WORKERS          worker counts to time (default "1 2 4"; the first is the
#                    baseline); add more on a bigger machine, e.g. "1 2 4 8"
#   RUNS             timed runs per count, the best wall-clock time counts
#                    (default 3)
#   BENCH_DIR, BENCH_BUILD_DIR, APISENSOR: as bench/run.sh (the capture is
#                    generated there, or reused when bench/run.sh made it)
#
# The command is bench/run.sh's (every transaction parsed, modelled and
# encoded to /dev/null). Never gates on absolute time: exits non-zero only
# when a run fails.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
shared=$(cd "$root/../shared" 2>/dev/null && pwd) || {
    echo "bench: $root/../shared not found (it holds the capture generator)" >&2
    exit 1
}
size=${1:-1G}
runs=${RUNS:-3}
read -r -a counts <<<"${WORKERS:-1 2 4}"
bench_dir=${BENCH_DIR:-/tmp/apisensor-bench}
build_dir=${BENCH_BUILD_DIR:-$root/build-release}
mkdir -p "$bench_dir"
log() { printf 'bench: %s\n' "$*" >&2; }
# shellcheck source=bench/lib.sh
source "$root/bench/lib.sh"

bench_sensor

capture=$bench_dir/bench-$size.pcap
if [[ ! -s $capture ]]; then
    log "generating $capture"
    "$shared/tools/gen-bench-pcap" -q -s "$size" -o "$capture.tmp" -t "$bench_dir/bench-$size.truth.jsonl"
    mv -f "$capture.tmp" "$capture"
fi
bytes=$(stat -c %s "$capture")
cat "$capture" >/dev/null # warm the page cache: time the tool, not the disk

declare -A best best_cpu
failed=0
for n in "${counts[@]}"; do
    for ((run = 1; run <= runs; run++)); do
        start=$(date +%s%N)
        if ! /usr/bin/time -f '%U %S' -o "$bench_dir/workers-time.out" "$sensor" -r "$capture" \
            --db :memory: -o /dev/null --transactions /dev/null -q --workers "$n" \
            2>"$bench_dir/workers-$n.log"; then
            log "--workers $n failed: $(tail -3 "$bench_dir/workers-$n.log")"
            failed=1
            break
        fi
        end=$(date +%s%N)
        wall=$(awk -v ns="$((end - start))" 'BEGIN { printf "%.3f", ns / 1e9 }')
        cpu=$(tail -1 "$bench_dir/workers-time.out" | awk '{ printf "%.2f", $1 + $2 }')
        if [[ -z ${best[$n]:-} ]] || awk -v a="$wall" -v b="${best[$n]}" 'BEGIN { exit !(a < b) }'; then
            best[$n]=$wall
            best_cpu[$n]=$cpu
        fi
    done
    [[ -n ${best[$n]:-} ]] && log "--workers $n: best ${best[$n]} s (CPU ${best_cpu[$n]} s)"
done

base=${best[${counts[0]}]:-}
echo
echo "apisensor --workers: $(nproc) cores, $(basename "$capture"), best of $runs runs, page cache warm"
printf '%-10s %9s %9s %9s %9s\n' workers seconds MB/s "CPU s" speed-up
for n in "${counts[@]}"; do
    [[ -n ${best[$n]:-} ]] || { printf '%-10s %9s\n' "$n" failed; continue; }
    awk -v n="$n" -v s="${best[$n]}" -v c="${best_cpu[$n]}" -v b="$bytes" -v base="$base" \
        'BEGIN { printf "%-10s %9.3f %9.1f %9.2f %8.2fx\n", n, s, b / s / 1e6, c, base / s }'
done
echo "(speed-up = time with ${counts[0]} worker(s) / time with N; above nproc workers share cores)"
exit "$failed"
