#!/usr/bin/env bash
# bench/identities.sh - memory with many distinct identities (issue #4):
# peak RSS of apisensor on captures in which every request carries a new
# identity (bench/gen_identities.py: JWT subs, API keys, session cookies,
# opaque tokens), at 100k and at 1M identities. Bounded tables mean the
# two peaks are close; the run summary's eviction counters show the
# tables turning over.
#
#   bash bench/identities.sh
#
# Environment:
#   BENCH_DIR        captures and logs (default /tmp/apisensor-bench); the
#                    generated captures (about 38 MB and 380 MB) are reused
#   BENCH_BUILD_DIR  Release build of apisensor (default build-release)
#   APISENSOR        benchmark this binary instead of building one
#
# Never gates on the figures: exits non-zero only when a tool fails.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bench_dir=${BENCH_DIR:-/tmp/apisensor-bench}
build_dir=${BENCH_BUILD_DIR:-$root/build-release}
mkdir -p "$bench_dir"

log() { printf 'bench/identities: %s\n' "$*" >&2; }
# shellcheck source=bench/lib.sh
source "$root/bench/lib.sh"

bench_sensor

printf '%-12s %12s %10s %14s  %s\n' identities "capture MB" "CPU s" "peak RSS MiB" "analytics evictions"
for n in 100000 1000000; do
    file=$bench_dir/identities-$n.pcap
    if [[ ! -s $file ]]; then
        log "generating $file"
        python3 "$root/bench/gen_identities.py" "$file.tmp" "$n"
        mv -f "$file.tmp" "$file"
    fi
    cat "$file" >/dev/null
    if ! /usr/bin/time -f '%M %U %S' -o "$bench_dir/time.out" "$sensor" -r "$file" \
        --db :memory: -o /dev/null 2>"$bench_dir/identities-$n.log"; then
        log "apisensor failed on $file (see $bench_dir/identities-$n.log)"
        exit 1
    fi
    read -r kb user sys <"$bench_dir/time.out"
    evicted=$(grep -o 'evicted: actors [0-9]*' "$bench_dir/identities-$n.log" | grep -o '[0-9]*$')
    awk -v n="$n" -v bytes="$(stat -c %s "$file")" -v cpu="$user $sys" -v kb="$kb" \
        -v evicted="$evicted" 'BEGIN {
            split(cpu, c, " ")
            printf "%-12s %12.0f %10.2f %14.1f  actors %s\n", n, bytes / 1e6, c[1] + c[2],
                kb / 1024, evicted
        }'
done
