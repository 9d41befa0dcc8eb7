#!/usr/bin/env bash
# The benchmark of the HTTP sink, side by side in one run (about 90 s): requests/s
# and latency percentiles of a php-fpm page behind nginx that logs 20 records,
# with (a) no logging, (b) the polyfill's AsyncBatch\HttpSink, (c) the extension's;
# and the items per second the local HTTP server receives.
#
# Needs nginx, wrk and php-fpm (bash scripts/deps.sh installs them). Builds the
# test HTTP server (tests/examples/http_sink_server.rs) but not the extension:
# build it first (cargo build --release), or point ASYNCBATCH_SO at a build.
#
# Usage: bash bench/http_sink.sh
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
if ! command -v cargo >/dev/null && [[ -x "$HOME/.cargo/bin/cargo" ]]; then
    PATH="$HOME/.cargo/bin:$PATH"
fi
PATH="$PATH:/usr/sbin:/sbin"
SO=${ASYNCBATCH_SO:-$PWD/target/release/libasyncbatch.so}
if [[ ! -f $SO ]]; then
    echo "bench: $SO not found; build the extension first: cargo build --release" >&2
    exit 1
fi
SO=$(cd "$(dirname "$SO")" && pwd)/$(basename "$SO")
if ! php -n -d "extension=$SO" -r 'exit(class_exists("AsyncBatch\\HttpSink") ? 0 : 1);'; then
    echo "bench: $SO has no AsyncBatch\\HttpSink; rebuild it" >&2
    exit 1
fi
for tool in nginx wrk; do
    if ! command -v "$tool" >/dev/null; then
        echo "bench: $tool not found; run bash scripts/deps.sh" >&2
        exit 1
    fi
done
if ! command -v php-fpm8.2 >/dev/null && ! command -v php-fpm >/dev/null; then
    echo "bench: php-fpm not found; run bash scripts/deps.sh" >&2
    exit 1
fi
cargo build --quiet --release -p asyncbatch-e2e --example http_sink_server
SERVER=${CARGO_TARGET_DIR:-$PWD/target}/release/examples/http_sink_server
unset ASYNCBATCH_RUNNER
exec php bench/http_sink.php "$SO" "$SERVER"
