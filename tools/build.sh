#!/usr/bin/env bash
# Configures and builds loket into build/ (or the directory given), with any
# further CMake options after it: tools/build.sh build-asan -DLOKET_SANITIZE=ON
# Warnings are errors here (LOKET_WERROR); a plain `cmake` build only warns.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${1:-build}
shift || true
cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DLOKET_WERROR=ON "$@" >/dev/null
cmake --build "$dir" -j"$(nproc)"
