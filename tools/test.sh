#!/usr/bin/env bash
# Builds loket twice (a normal build and one with AddressSanitizer and
# UndefinedBehaviorSanitizer) and runs every test in both: unit tests, golden
# transcripts, integration tests against a real server, and the browser test.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/setup.sh --test

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

tools/build.sh build
tools/build.sh build-asan -DLOKET_SANITIZE=ON

status=0
echo "== tests, sanitizer build (build-asan)"
(cd build-asan && ctest --output-on-failure -j2 --timeout 300) || status=1
echo "== tests, normal build (build)"
(cd build && ctest --output-on-failure -j2 --timeout 300) || status=1
exit $status
