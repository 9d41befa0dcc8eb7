#!/usr/bin/env bash
# The soak test of the daemon runner (not part of CI; about 11 minutes by default):
# checks that no item is lost while the daemon is SIGKILLed again and again under
# load, and that memory stays flat.
#
#   - builds the extension (cargo build --release);
#   - starts, in a private temporary directory (spool, failure store, logs) with a
#     SysV queue key of its own: the daemon (2 workers, bootstrap
#     bench/soak-bootstrap.php), php-fpm (4 static workers, asyncbatch.runner=daemon)
#     behind nginx on loopback, serving bench/soak-page.php;
#   - drives the page with wrk (1 thread, AB_SOAK_CONNECTIONS connections) for
#     AB_SOAK_SECONDS. Each request submits 20 items tagged (php-fpm worker pid,
#     request number in that worker, index) and records itself in a per-worker file
#     once its submits returned; the daemon's callable appends what it delivers to a
#     file per daemon worker (bench/soak-jobs.php);
#   - every AB_SOAK_KILL_EVERY seconds SIGKILLs the daemon's whole process group
#     (master, receiver, workers) and restarts it after a random 0.5-3 s pause;
#   - samples the RSS of each php-fpm worker and of the daemon's processes every 10 s;
#   - stops the load, lets the daemon drain (no segment left in the spool, the queue
#     empty, nothing more delivered for 3 s; at most AB_SOAK_DRAIN_TIMEOUT seconds),
#     stops it with SIGTERM, checks item by item (bench/soak-check.php) and prints a
#     report: requests, items submitted and delivered, lost, duplicates and the kill
#     each belongs to (a killed worker's batch in flight, or the queue message a killed
#     receiver was journaling), memory at start, middle and end, the kills.
#
# Exit status: 0 when nothing was lost and every duplicate is explained by a kill,
# 1 when items were lost (or the drain did not finish), 2 for unexplained duplicates.
# Everything it started, and its queue, is removed at the end and on Ctrl-C; the
# temporary directory too, unless AB_SOAK_KEEP=1 or the test failed (then it is kept
# as evidence: php bench/soak-check.php DIR checks it again).
#
# Needs what scripts/deps.sh installs (php, php-fpm, nginx, wrk).
#
# Usage: bash bench/soak.sh
#   AB_SOAK_SECONDS=600        load duration
#   AB_SOAK_KILL_EVERY=60      seconds between daemon kills (0: never)
#   AB_SOAK_CONNECTIONS=4      wrk connections
#   AB_SOAK_DRAIN_TIMEOUT=300  longest wait for the daemon to drain
#   AB_SOAK_KEEP=1             keep the temporary directory
set -euo pipefail

NAME=soak
source "$(dirname "${BASH_SOURCE[0]}")/preflight.sh"
for ext in posix pcntl sysvmsg; do
    if ! php -r "exit(extension_loaded('$ext') ? 0 : 1);"; then
        echo "soak: the PHP CLI needs the $ext extension" >&2
        exit 1
    fi
done

echo "soak: building (cargo build --release)"
cargo build --quiet --release
SO=${CARGO_TARGET_DIR:-$PWD/target}/release/libasyncbatch.so
if ! php -n -d "extension=$SO" -r 'exit(extension_loaded("asyncbatch") ? 0 : 1);'; then
    echo "soak: $SO does not load as the asyncbatch extension" >&2
    exit 1
fi
# The soak chooses the runner itself.
unset ASYNCBATCH_RUNNER
exec php bench/soak-driver.php "$SO"
