#!/usr/bin/env bash
# install-test-tools.sh - install the test tools that come from the npm
# registry rather than from Debian: @redocly/cli, the independent OpenAPI
# validator the inventory tests run on `apisensor inventory --openapi`.
#
# Installed once into a directory outside the work tree and reused (a fresh
# clone or a new build directory does not download it again):
#   ${APISENSOR_TOOLS_DIR:-$HOME/.cache/apisensor-tools}/node_modules/.bin/redocly
# Idempotent and quick when the pinned version is already there.  Needs the
# machine's Node.js (>= 20.19) and npm.
#
#   scripts/install-test-tools.sh           install what is missing
#   scripts/install-test-tools.sh --print   print the redocly path and exit
set -euo pipefail

REDOCLY_VERSION=2.77.0
tools_dir=${APISENSOR_TOOLS_DIR:-$HOME/.cache/apisensor-tools}
redocly=$tools_dir/node_modules/.bin/redocly

if [[ ${1:-} == --print ]]; then
    echo "$redocly"
    exit 0
fi

installed=$tools_dir/node_modules/@redocly/cli/package.json
if [[ -x $redocly && -f $installed ]] &&
    grep -q "\"version\": \"$REDOCLY_VERSION\"" "$installed"; then
    echo "install-test-tools: @redocly/cli $REDOCLY_VERSION already in $tools_dir"
    exit 0
fi

if ! command -v npm >/dev/null; then
    echo "install-test-tools: npm not found; install Node.js >= 20.19 with npm" >&2
    exit 1
fi

mkdir -p "$tools_dir"
echo "install-test-tools: installing @redocly/cli $REDOCLY_VERSION into $tools_dir"
npm install --prefix "$tools_dir" --no-audit --no-fund --loglevel=error \
    "@redocly/cli@$REDOCLY_VERSION"
echo "install-test-tools: done"
