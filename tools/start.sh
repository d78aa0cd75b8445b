#!/usr/bin/env bash
# Quick start: installs what is missing, builds, and starts loket on the
# bundled Chika/PANDAWA flow with its SQLite database (loket.db).
set -euo pipefail
cd "$(dirname "$0")/.."
tools/setup.sh
tools/build.sh build
if build/loket serve --help >/dev/null 2>&1; then
    port=${LOKET_PORT:-8080}
    echo "loket: web console at http://127.0.0.1:${port}/  (websocket ws://127.0.0.1:${port}/chat)"
    exec build/loket serve --flow flows/chika.json --db loket.db --port "$port" "$@"
fi
exec build/loket chat --flow flows/chika.json --db loket.db "$@"
