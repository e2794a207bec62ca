#!/usr/bin/env bash
# run-sample.sh - set up and run the main job on the bundled sample capture:
# install the dependencies, build apisensor, analyse samples/api-sample.pcap.
#
#   bash scripts/run-sample.sh [SENSOR OPTIONS...]
#
# stdout carries only the sensor's JSON Lines: the events (-o defaults to
# stdout) and one "event":"transaction" line per HTTP transaction; the setup
# log and the run summary go to stderr, so `bash scripts/run-sample.sh | jq .`
# works.  Extra arguments are passed to the sensor (e.g. -v).
# Uses the same build directory and configuration as scripts/test.sh
# (BUILD_DIR, default build; optimised, with debug info) so the two share
# one build.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

build_dir=${BUILD_DIR:-build}
sample=samples/api-sample.pcap

{
    bash scripts/install-deps.sh
    cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DAPISENSOR_WERROR=ON
    cmake --build "$build_dir" -j "${JOBS:-$(nproc)}" --target apisensor
} >&2

# The embedded defaults: the inventory in a sqlite file (kept in the build
# directory, extended by each run), events as JSON Lines on stdout.
db=$build_dir/apisensor-sample.db
echo "run-sample: $build_dir/apisensor -r $sample --db $db --transactions -${*:+ $*}" >&2
exec "$build_dir/apisensor" -r "$sample" --db "$db" --transactions - "$@"
