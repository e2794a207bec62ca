#!/usr/bin/env bash
# memory.sh - resident memory per tracked entry, as RSS deltas: the per-entry
# costs the --memory-budget split uses (app/budget.c, docs/configuration.md).
#
#   bash bench/memory.sh [N]      N entries per measurement (default 100000)
#
# Writes captures with bench/gen-flows.py into a temporary directory (deleted
# at the end), runs `apisensor -r` on each with every table sized for N and
# prints the peak RSS (GNU time) and the cost per entry:
#   half-open flow     N SYNs                        over an almost empty capture
#   idle flow          N keep-alive flows, 1 transaction each, 2 client addresses
#   client (actor)     the same with N client addresses      over idle flows
#   endpoint           the same with N Host names            over idle flows
# Then, against a --memory-budget of 128M: 1M SYN flows and syn-flood-100k.pcap.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
sensor=${APISENSOR:-$root/build/apisensor}
gen=$here/gen-flows.py
n=${1:-100000}
work=$(mktemp -d /tmp/apisensor-memory.XXXXXX)
trap 'rm -rf "$work"' EXIT

# Tables sized for the N entries and 10 % more: a table's index is touched
# all over by random keys, so its cost per entry is measured when it is full,
# as the budget fills it.
size=$((n + n / 10))
big="--limit flow_max=$size --limit flow_halfopen_timeout_seconds=3600"
big="$big --limit analytics_max_actors=$size --limit inventory_max_endpoints=$size"
big="$big --limit inventory_max_services=$size --limit inventory_max_findings=$size"

peak() { # peak RSS in KiB of apisensor on a capture, extra options after it
    local pcap=$1
    shift
    /usr/bin/time -f %M "$sensor" -r "$pcap" --db :memory: -o /dev/null -q --no-progress "$@" \
        2>&1 >/dev/null | tail -1
}

python3 "$gen" "$work/base.pcap" --flows 0 --real 1 >/dev/null
python3 "$gen" "$work/syn.pcap" --flows "$n" >/dev/null
python3 "$gen" "$work/idle.pcap" --flows "$n" --kind idle >/dev/null
python3 "$gen" "$work/clients.pcap" --flows "$n" --kind idle --clients >/dev/null
python3 "$gen" "$work/hosts.pcap" --flows "$n" --kind idle --hosts >/dev/null

# shellcheck disable=SC2086
{
    base=$(peak "$work/base.pcap" $big)
    syn=$(peak "$work/syn.pcap" $big)
    idle=$(peak "$work/idle.pcap" $big)
    clients=$(peak "$work/clients.pcap" $big)
    hosts=$(peak "$work/hosts.pcap" $big)
}
per() { echo $(((($1 - $2) * 1024) / n)); }
printf '%-34s %10s %14s\n' measurement "peak KiB" "bytes/entry"
printf '%-34s %10d\n' "empty run (tables sized for N)" "$base"
printf '%-34s %10d %14d\n' "half-open flow (SYN only)" "$syn" "$(per "$syn" "$base")"
printf '%-34s %10d %14d\n' "idle flow after a transaction" "$idle" "$(per "$idle" "$base")"
printf '%-34s %10d %14d\n' "client address (actor)" "$clients" "$(per "$clients" "$idle")"
printf '%-34s %10d %14d\n' "endpoint on its own host" "$hosts" "$(per "$hosts" "$idle")"

python3 "$gen" "$work/flows1m.pcap" --flows 1000000 --real 5 --seconds 20 >/dev/null
printf '%-34s %10d\n' "1M SYN flows, --memory-budget 128M" \
    "$(peak "$work/flows1m.pcap" --memory-budget 128M)"
flood=$root/../shared/pcaps/edge/syn-flood-100k.pcap
if [[ -f $flood ]]; then
    printf '%-34s %10d\n' "syn-flood-100k, --memory-budget 64M" \
        "$(peak "$flood" --memory-budget 64M)"
fi
