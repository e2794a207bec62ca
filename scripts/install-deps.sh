#!/usr/bin/env bash
# install-deps.sh - install every build, test and benchmark dependency of
# apisensor from Debian 12 (bookworm) packages.
#
# Idempotent: when every package is already installed (checked with
# dpkg-query) it touches nothing and returns at once, so CI and
# scripts/test.sh can call it on every run.  Runs apt-get directly as root
# (CI has no sudo) and through sudo otherwise.
#
#   scripts/install-deps.sh          install what is missing
#   scripts/install-deps.sh --list   print the package list and exit
set -euo pipefail

PACKAGES=(
    # build
    pkg-config cmake make gcc clang
    libclang-rt-14-dev # libFuzzer and the sanitizer runtimes for clang
    libpcap-dev libndpi-dev libssl-dev librdkafka-dev libsqlite3-dev
    node-llhttp # generated llhttp C sources in /usr/share/llhttp
    zlib1g-dev libbrotli-dev
    libyaml-dev # OpenAPI specs (--spec), YAML and JSON
    libhyperscan-dev # multi-pattern engine of the sensitive-data scanner
    # tests and checks
    libcmocka-dev python3 clang-format kcat
    tcpreplay # live-capture tests: scenario captures replayed onto lo
    # benchmark baselines and reference tools
    tshark libndpi-bin time
)

if [[ ${1:-} == --list ]]; then
    printf '%s\n' "${PACKAGES[@]}"
    exit 0
fi

missing=()
for pkg in "${PACKAGES[@]}"; do
    status=$(dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null || true)
    if [[ $status != installed ]]; then
        missing+=("$pkg")
    fi
done

if ((${#missing[@]} == 0)); then
    echo "install-deps: all ${#PACKAGES[@]} packages already installed"
    exit 0
fi

if ((EUID == 0)); then
    as_root=()
elif command -v sudo >/dev/null; then
    as_root=(sudo)
else
    echo "install-deps: not root and no sudo; install these as root: ${missing[*]}" >&2
    exit 1
fi

echo "install-deps: installing ${missing[*]}"
"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q
"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y -q --no-install-recommends "${missing[@]}"
echo "install-deps: done"
