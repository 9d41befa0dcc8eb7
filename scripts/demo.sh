#!/usr/bin/env bash
# The demo: builds the extension, then shows real batching with the embedded
# default, the shutdown runner, in under 15 seconds:
#   1. a CLI script hands 1,050 log records to a job with batchSize 100;
#   2. php-fpm serves 4 requests at once; each hands 25 records to a job whose
#      callable takes 200 ms per batch: the responses arrive in a few ms, the
#      batches are delivered afterwards.
#
# Usage: bash scripts/demo.sh
#        ASYNCBATCH_SO=/path/to/libasyncbatch.so bash scripts/demo.sh   (no build)
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$PWD
if ! command -v cargo >/dev/null && [[ -x "$HOME/.cargo/bin/cargo" ]]; then
    PATH="$HOME/.cargo/bin:$PATH"
fi

bash scripts/deps.sh >/dev/null
if [[ -n "${ASYNCBATCH_SO:-}" ]]; then
    SO=$ASYNCBATCH_SO # a build of your own: no cargo build
else
    echo "Building the extension (cargo build --release)..."
    cargo build --release --quiet
    SO=$ROOT/target/release/libasyncbatch.so
    if [[ -n "${CARGO_TARGET_DIR:-}" ]]; then
        SO=$(cd "$CARGO_TARGET_DIR" && pwd)/release/libasyncbatch.so
    fi
fi
[[ -f $SO ]] || { echo "demo: $SO is missing after the build" >&2; exit 1; }

DIR=$(mktemp -d "${TMPDIR:-/tmp}/asyncbatch-demo.XXXXXX")
FPM_PID=
cleanup() {
    if [[ -n $FPM_PID ]]; then
        kill -QUIT "$FPM_PID" 2>/dev/null || true
        for _ in $(seq 50); do kill -0 "$FPM_PID" 2>/dev/null || break; sleep 0.1; done
        kill -KILL -- "-$FPM_PID" 2>/dev/null || true
    fi
    rm -rf "$DIR"
}
trap cleanup EXIT

# Where asyncbatch keeps its spool and failed batches during the demo.
INI=(
    -d "extension=$SO"
    -d "asyncbatch.runner=shutdown"
    -d "asyncbatch.spool_dir=$DIR/spool"
    -d "asyncbatch.failure_dir=$DIR/failed"
)

echo
echo "=== 1. CLI: 1,050 log records, batchSize 100 ==================================="
env -u ASYNCBATCH_RUNNER php "${INI[@]}" scripts/demo/cli-batches.php 1050

echo
echo "=== 2. php-fpm: the response first, the batches after ============================="
WORKERS=4
USER_LINES=
RUN_AS_ROOT=()
if [[ $(id -u) -eq 0 ]]; then
    # php-fpm runs pools as root only when told to (-R) and given the user.
    USER_LINES=$'user = root\ngroup = root'
    RUN_AS_ROOT=(--allow-to-run-as-root)
fi
cat >"$DIR/php-fpm.conf" <<CONF
[global]
pid = $DIR/php-fpm.pid
error_log = $DIR/php-fpm.log
daemonize = no

[demo]
$USER_LINES
listen = $DIR/php-fpm.sock
pm = static
pm.max_children = $WORKERS
php_admin_value[error_log] = $DIR/php-errors.log
php_admin_flag[log_errors] = on
CONF
FPM=$(command -v php-fpm8.2 || command -v php-fpm || echo /usr/sbin/php-fpm8.2)
# setsid: php-fpm gets a process group of its own, which cleanup kills whole.
env -u ASYNCBATCH_RUNNER setsid "$FPM" --nodaemonize --fpm-config "$DIR/php-fpm.conf" \
    "${RUN_AS_ROOT[@]}" "${INI[@]}" >"$DIR/php-fpm.out" 2>&1 &
FPM_PID=$!
for _ in $(seq 100); do
    [[ -S $DIR/php-fpm.sock ]] && break
    sleep 0.05
done
if [[ ! -S $DIR/php-fpm.sock ]]; then
    echo "demo: php-fpm did not start:" >&2
    cat "$DIR/php-fpm.out" "$DIR/php-fpm.log" >&2 2>/dev/null || true
    exit 1
fi
sleep 0.2 # let the master fork its workers
echo "php-fpm is up with $WORKERS workers and the extension; sending $WORKERS requests at once:"
if ! php scripts/demo/fpm-client.php "$DIR/php-fpm.sock" "$ROOT/scripts/demo/fpm-page.php" \
    "$DIR/batches.log" "$WORKERS"; then
    echo "demo: not every record was delivered; logs:" >&2
    cat "$DIR/php-fpm.log" "$DIR/php-errors.log" >&2 2>/dev/null || true
    exit 1
fi
