#!/usr/bin/env bash
# Builds loket four times, warnings as errors: a normal build (gcc), one with
# AddressSanitizer and UndefinedBehaviorSanitizer, a Release build (gcc -O3,
# what packagers build) and a clang build; and runs every test in each: unit
# tests, golden transcripts, fuzz corpora, the install tree, integration tests
# against a real server, and the browser test. A throwaway PostgreSQL cluster
# (tools/pg-cluster.sh) serves the tests of the PostgreSQL store.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/setup.sh --test

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

# A throwaway PostgreSQL cluster for the store's PostgreSQL tests, stopped and
# removed on any exit (tests that fail included).
pgdir=$(mktemp -d /tmp/loket-pg.XXXXXX)
trap 'tools/pg-cluster.sh stop "$pgdir"' EXIT
LOKET_TEST_PG=$(tools/pg-cluster.sh start "$pgdir")
export LOKET_TEST_PG
echo "== PostgreSQL for the tests: $LOKET_TEST_PG"

tools/build.sh build
tools/build.sh build-asan -DLOKET_SANITIZE=ON
tools/build.sh build-release -DCMAKE_BUILD_TYPE=Release
CC=clang tools/build.sh build-clang

status=0
echo "== tests, sanitizer build (build-asan)"
(cd build-asan && ctest --output-on-failure -j2 --timeout 300) || status=1
echo "== tests, normal build (build)"
(cd build && ctest --output-on-failure -j2 --timeout 300) || status=1
echo "== tests, Release build (build-release)"
(cd build-release && ctest --output-on-failure -j2 --timeout 300) || status=1
echo "== tests, clang build (build-clang)"
(cd build-clang && ctest --output-on-failure -j2 --timeout 300) || status=1
exit $status
