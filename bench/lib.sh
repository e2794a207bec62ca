# bench/lib.sh - what the bench scripts share; sourced, not run.
#
# bench_build TARGET...  builds the targets as Release (no -Werror, no
# sanitizers) in $build_dir, the log in $bench_dir/build.log; on failure
# prints its tail and exits 1. Needs root, build_dir, bench_dir and log().
#
# bench_sensor  sets sensor: $APISENSOR when given (no build), else the
# Release apisensor that bench_build makes.

bench_build() {
    log "building $* (Release) in $build_dir"
    if ! cmake -S "$root" -B "$build_dir" -DCMAKE_BUILD_TYPE=Release -DAPISENSOR_WERROR=OFF \
        -DAPISENSOR_SANITIZE=OFF >"$bench_dir/build.log" 2>&1 ||
        ! cmake --build "$build_dir" -j "${JOBS:-2}" --target "$@" >>"$bench_dir/build.log" 2>&1; then
        tail -20 "$bench_dir/build.log" >&2
        exit 1
    fi
}

bench_sensor() {
    if [[ -n ${APISENSOR:-} ]]; then
        sensor=$APISENSOR
        log "using $sensor (APISENSOR), not building"
    else
        bench_build apisensor
        sensor=$build_dir/apisensor
    fi
}
