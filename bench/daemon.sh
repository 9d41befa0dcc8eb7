#!/usr/bin/env bash
# The benchmark of the daemon runner, printed side by side in one run (under a
# minute): submitItem() cost per item for nothing (the loop alone), the polyfill,
# the shutdown runner and the daemon runner; then the daemon's throughput from 4
# producers to a no-op callable.
#
# It builds nothing: build the extension first (cargo build --release), or point
# ASYNCBATCH_SO at a build.
#
# Usage: bash bench/daemon.sh
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
SO=${ASYNCBATCH_SO:-$PWD/target/release/libasyncbatch.so}
if [[ ! -f $SO ]]; then
    echo "bench: $SO not found; build the extension first: cargo build --release" >&2
    exit 1
fi
SO=$(cd "$(dirname "$SO")" && pwd)/$(basename "$SO")
if ! php -n -d "extension=$SO" -r 'exit(class_exists("AsyncBatch\\Internal\\Daemon") ? 0 : 1);'; then
    echo "bench: $SO has no daemon runner (AsyncBatch\\Internal\\Daemon); rebuild it" >&2
    exit 1
fi
unset ASYNCBATCH_RUNNER
exec php bench/run.php "$SO"
