#!/usr/bin/env bash
# Runs the libFuzzer targets with clang for a while each, growing the corpus
# in a scratch directory (copy finds worth keeping into tests/fuzz/corpus/).
#   tools/fuzz.sh [SECONDS_PER_TARGET]
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-60}
CC=clang tools/build.sh build-fuzz -DLOKET_FUZZ=ON -DLOKET_SANITIZE=ON -DLOKET_GATEWAY=ON
for t in build-fuzz/tests/fuzz/fuzz_*; do
    name=$(basename "$t")
    corpus=tests/fuzz/corpus/${name#fuzz_}
    scratch=build-fuzz/corpus/${name#fuzz_}
    mkdir -p "$scratch"
    echo "== $name for ${secs}s"
    "$t" -max_total_time="$secs" -max_len=65536 "$scratch" "$corpus"
done
