#!/usr/bin/env bash
# Installs the Debian packages loket needs that are missing (only those).
#   tools/setup.sh          what building and running need
#   tools/setup.sh --test   also what the tests need (python3, node, chromium, clang,
#                           the PostgreSQL server, Twilio's helper library python3-twilio)
# A tool already on the PATH counts as present, whichever package brought it
# (Node.js from another source ships its own npm, which Debian's npm conflicts
# with).
set -euo pipefail
cd "$(dirname "$0")/.."

# package[:command that stands for it]
build_pkgs=(gcc:gcc make:make cmake:cmake pkg-config:pkg-config libcjson-dev libsqlite3-dev
            libwebsockets-dev libssl-dev libcurl4-openssl-dev libedit-dev libpq-dev
            libev-dev libwebsockets-evlib-ev)
test_pkgs=(python3:python3 nodejs:node npm:npm chromium:chromium clang:clang postgresql
           python3-twilio)

want=("${build_pkgs[@]}")
if [ "${1:-}" = "--test" ]; then
    want+=("${test_pkgs[@]}")
fi

missing=()
for entry in "${want[@]}"; do
    pkg=${entry%%:*}
    cmd=${entry#*:}
    if [ "$cmd" != "$entry" ] && command -v "$cmd" >/dev/null 2>&1; then
        continue
    fi
    if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
        missing+=("$pkg")
    fi
done

if [ ${#missing[@]} -gt 0 ]; then
    echo "setup: installing ${missing[*]}"
    sudo=""
    if [ "$(id -u)" != 0 ]; then sudo="sudo"; fi
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# The browser test drives Debian's chromium with playwright-core from npm.
if [ "${1:-}" = "--test" ] && [ -f tests/integration/browser/package.json ]; then
    if [ ! -d tests/integration/browser/node_modules/playwright-core ]; then
        (cd tests/integration/browser && npm ci --no-audit --no-fund --loglevel=error)
    fi
fi
