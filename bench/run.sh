#!/usr/bin/env bash
# The benchmark, in one command: builds the extension and the counting HTTP server,
# then measures, side by side in one run (about 10 minutes on 2 cores):
#
#   submit      submitItem() per item: the polyfill, the shutdown runner, the daemon
#               runner, against the loop alone
#   pages       a php-fpm page behind nginx logging 20 records, driven by wrk: no
#               logging, the polyfill, the extension (shutdown runner, daemon
#               runner, HttpSink), the polyfill's HttpSink; requests/s, latency, CPU
#               per page, and memory per php-fpm worker with and without the extension
#   throughput  the daemon's items/s from 4 producers to a no-op callable
#   redis       the same records through Redis (a forwarding daemon, redis-server,
#               a consumer), end to end
#   instructions  the page's variants and two peers (Monolog, file_put_contents),
#               counted by callgrind: instructions per request, where they go,
#               system calls
#
# Needs what scripts/deps.sh installs (php, php-fpm, nginx, wrk, valgrind, strace).
#
# Usage: bash bench/run.sh [submit] [pages] [throughput] [redis] [instructions]   (all by default)
#        AB_BENCH_QUICK=1 bash bench/run.sh                    (shorter, rougher: to try it)
set -euo pipefail

NAME=bench
source "$(dirname "${BASH_SOURCE[0]}")/preflight.sh"

echo "bench: building (cargo build --release)"
cargo build --quiet --release
cargo build --quiet --release -p asyncbatch-e2e --example http_sink_server
TARGET=${CARGO_TARGET_DIR:-$PWD/target}/release
SO=$TARGET/libasyncbatch.so
if ! php -n -d "extension=$SO" -r 'exit(extension_loaded("asyncbatch") ? 0 : 1);'; then
    echo "bench: $SO does not load as the asyncbatch extension" >&2
    exit 1
fi
# The benchmark chooses runners itself.
unset ASYNCBATCH_RUNNER
exec php bench/bench.php "$SO" "$TARGET/examples/http_sink_server" "$@"
