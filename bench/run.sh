#!/usr/bin/env bash
# bench/run.sh - throughput of apisensor against baselines measured in the
# same run on the same machine.  See bench/README.md.
#
#   bash bench/run.sh [SIZE]        SIZE of the main capture, default 1G
#
# Environment:
#   BENCH_DIR        captures, tools and logs (default /tmp/apisensor-bench);
#                    generated captures are cached there and reused
#   SMALL            size of the capture for the tshark comparison (default 64M)
#   RUNS             timed runs per tool, the best wall-clock time and the
#                    best CPU time (user + system) count (default 3)
#   BENCH_BUILD_DIR  Release build of apisensor (default build-release)
#   APISENSOR        benchmark this binary instead of building one
#                    (e.g. to compare two versions on the same captures)
#
# Never gates on absolute time: exits non-zero only when a tool fails.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
shared=$(cd "$root/../shared" 2>/dev/null && pwd) || {
    echo "bench: $root/../shared not found (it holds the generator and the read loop)" >&2
    exit 1
}
size=${1:-1G}
small=${SMALL:-64M}
runs=${RUNS:-3}
bench_dir=${BENCH_DIR:-/tmp/apisensor-bench}
build_dir=${BENCH_BUILD_DIR:-$root/build-release}
mkdir -p "$bench_dir"

log() { printf 'bench: %s\n' "$*" >&2; }
# shellcheck source=bench/lib.sh
source "$root/bench/lib.sh"

# ---- tools ------------------------------------------------------------------
bench_sensor

read_loop=$bench_dir/pcap-read-loop
cc -O2 -std=c99 -o "$read_loop" "$shared/tools/pcap-read-loop.c" -lpcap

# capture SIZE -> path of bench-SIZE.pcap, generated (with its truth) if missing
capture() {
    local file=$bench_dir/bench-$1.pcap truth=$bench_dir/bench-$1.truth.jsonl
    if [[ ! -s $file || ! -s $truth ]]; then
        log "generating $file"
        "$shared/tools/gen-bench-pcap" -q -s "$1" -o "$file.tmp" -t "$truth.tmp"
        mv -f "$truth.tmp" "$truth"
        mv -f "$file.tmp" "$file"
    fi
    printf '%s\n' "$file"
}
big=$(capture "$size")
small_file=$(capture "$small")

# ---- timing -----------------------------------------------------------------
rows=()
declare -A best_wall best_cpu peak_kb label_of walls
failed=0

# run_once KEY COMMAND... : one timed run of a tool; updates its best
# wall-clock time (nanosecond clock around the command), best CPU time (user
# + system, GNU time) and peak RSS (GNU time's maximum resident set size).
# stdout is discarded, stderr kept in $bench_dir/KEY.log. Returns 1 when the
# tool fails.
run_once() {
    local key=$1 wall kb cpu start end
    shift
    start=$(date +%s%N)
    if ! /usr/bin/time -f '%M %U %S' -o "$bench_dir/time.out" "$@" \
        >/dev/null 2>"$bench_dir/$key.log"; then
        return 1
    fi
    end=$(date +%s%N)
    wall=$(awk -v ns="$((end - start))" 'BEGIN { printf "%.3f", ns / 1e9 }')
    walls[$key]+=" $wall"
    read -r kb cpu < <(tail -1 "$bench_dir/time.out" | awk '{ printf "%s %.2f\n", $1, $2 + $3 }')
    if [[ -z ${best_wall[$key]:-} ]] || awk -v a="$wall" -v b="${best_wall[$key]}" 'BEGIN { exit !(a < b) }'; then
        best_wall[$key]=$wall
    fi
    if [[ -z ${best_cpu[$key]:-} ]] || awk -v a="$cpu" -v b="${best_cpu[$key]}" 'BEGIN { exit !(a < b) }'; then
        best_cpu[$key]=$cpu
    fi
    if ((kb > ${peak_kb[$key]:-0})); then
        peak_kb[$key]=$kb
    fi
}

# measure_group FILE KEY... : times the tools KEY (their commands in cmd_KEY
# arrays, labels in label_of) on FILE, $runs rounds, one run of each tool per
# round in turn, so that every tool meets the same spells of a shared
# machine's load; a ratio of two tools of one group compares like with like.
# A tool that fails is reported and not run again.
measure_group() {
    local file=$1 key run
    shift
    cat "$file" >/dev/null # warm the page cache: time the tools, not the disk
    local -A dead=()
    for ((run = 1; run <= runs; run++)); do
        for key in "$@"; do
            [[ -n ${dead[$key]:-} ]] && continue
            local -n cmd="cmd_$key"
            if ! run_once "$key" "${cmd[@]}"; then
                log "${label_of[$key]} failed on $(basename "$file"): $(tail -3 "$bench_dir/$key.log")"
                dead[$key]=1
                unset "best_wall[$key]" "best_cpu[$key]" # no ratio from a failed tool
                failed=1
            fi
        done
    done
    for key in "$@"; do
        if [[ -n ${dead[$key]:-} ]]; then
            rows+=("$(printf '%-34s %-18s %8s' "${label_of[$key]}" "$(basename "$file")" failed)")
            continue
        fi
        rows+=("$(awk -v l="${label_of[$key]}" -v f="$(basename "$file")" -v s="${best_wall[$key]}" \
            -v c="${best_cpu[$key]}" -v b="$(stat -c %s "$file")" -v r="${peak_kb[$key]}" \
            'BEGIN { printf "%-34s %-18s %8.3f %8.1f %8.2f %8.1f %9.1f", l, f, s,
            (s > 0 ? b / s / 1e6 : 0), c, (c > 0 ? b / c / 1e6 : 0), r / 1024 }')")
        log "${label_of[$key]} on $(basename "$file"): best ${best_wall[$key]}s (CPU ${best_cpu[$key]}s), peak RSS $((peak_kb[$key] / 1024)) MiB"
    done
}

sensor_args=(--db :memory: -o /dev/null --transactions /dev/null -q)
syn_flood=$shared/pcaps/edge/syn-flood-100k.pcap
label_of=([read_loop]="pcap-read-loop (floor)" [sensor]="apisensor" [ndpi]="ndpiReader -q"
    [sensor_small]="apisensor" [tshark]="tshark -Y http (method field)"
    [syn_flood]="apisensor (100k half-open flows)")
# shellcheck disable=SC2034 # read through the nameref in measure_group
{
    cmd_read_loop=("$read_loop" "$big")
    cmd_sensor=("$sensor" -r "$big" "${sensor_args[@]}")
    cmd_ndpi=(ndpiReader -i "$big" -q)
    cmd_sensor_small=("$sensor" -r "$small_file" "${sensor_args[@]}")
    cmd_tshark=(tshark -r "$small_file" -Y http -T fields -e http.request.method)
    cmd_syn_flood=("$sensor" -r "$syn_flood" "${sensor_args[@]}")
}
measure_group "$big" read_loop sensor ndpi
measure_group "$small_file" sensor_small tshark
measure_group "$syn_flood" syn_flood

# ---- transactions found vs generator truth ----------------------------------
found="no count (the counting run failed: $bench_dir/sensor-count.log)"
transactions=$bench_dir/apisensor-$size.transactions.jsonl
if "$sensor" -r "$big" --db :memory: -o /dev/null --transactions "$transactions" -q \
    2>"$bench_dir/sensor-count.log"; then
    found=$(grep -cE '"event": ?"transaction"' "$transactions" || true)
fi
truth=$(wc -l <"$bench_dir/bench-$size.truth.jsonl")

# ---- report -----------------------------------------------------------------
ratio() { # ratio NUMERATOR_KEY DENOMINATOR_KEY [SUFFIX] (wall-clock times)
    if [[ -n ${best_wall[$1]:-} && -n ${best_wall[$2]:-} ]]; then
        awk -v a="${best_wall[$1]}" -v b="${best_wall[$2]}" -v x="${3:-}" \
            'BEGIN { if (b > 0) printf "%.2f%s", a / b, x; else print "n/a" }'
    else
        printf 'n/a'
    fi
}
cpu_ratio() { # cpu_ratio NUMERATOR_KEY DENOMINATOR_KEY (CPU times)
    if [[ -n ${best_cpu[$1]:-} && -n ${best_cpu[$2]:-} ]]; then
        awk -v a="${best_cpu[$1]}" -v b="${best_cpu[$2]}" \
            'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'
    else
        printf 'n/a'
    fi
}

# round_ratios A B : min-max of A's time / B's time over the rounds both ran
round_ratios() {
    awk -v a="${walls[$1]:-}" -v b="${walls[$2]:-}" 'BEGIN {
        n = split(a, x, " "); m = split(b, y, " "); if (m < n) n = m
        for (i = 1; i <= n; i++) if (y[i] > 0) { r = x[i] / y[i]
            if (lo == "" || r < lo) lo = r; if (hi == "" || r > hi) hi = r }
        if (lo == "") print "n/a"; else printf "%.2f-%.2f", lo, hi }'
}

echo
echo "apisensor benchmark: $(nproc) cores, best of $runs runs, page cache warm, MB = 10^6 bytes"
printf '%-34s %-18s %8s %8s %8s %8s %9s\n' tool capture seconds MB/s "CPU s" "CPU MB/s" "RSS MiB"
printf '%s\n' "${rows[@]}"
echo
echo "ratios (same run, same machine: the figures to compare across machines):"
printf '  %-44s %8s  (1.00 = as fast as reading the file)\n' \
    "apisensor time / read-loop time on $size" "$(ratio sensor read_loop)"
printf '  %-44s %8s  (the same round by round: the spread of a shared machine)\n' \
    "apisensor time / read-loop time, per round" "$(round_ratios sensor read_loop)"
printf '  %-44s %8s  (the same in CPU time: steadier on a busy machine)\n' \
    "apisensor CPU / read-loop CPU on $size" "$(cpu_ratio sensor read_loop)"
printf '  %-44s %8s\n' "apisensor time / ndpiReader time on $size" "$(ratio sensor ndpi)"
printf '  %-44s %8s  (tshark time / apisensor time)\n' \
    "apisensor speed-up over tshark on $small" "$(ratio tshark sensor_small x)"
echo
echo "transactions on $size: apisensor reported $found, the generator truth lists $truth complete ones"
echo "  (apisensor also reports the transactions cut by the end of the capture, flagged)"
exit "$failed"
