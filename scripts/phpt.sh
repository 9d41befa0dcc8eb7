#!/usr/bin/env bash
# Runs the phpt behaviour suite against the extension or the polyfill.
#
#   scripts/phpt.sh ext|polyfill [run-tests.php args...]
#
# With -m, each test runs under valgrind (memcheck, USE_ZEND_ALLOC=0): any invalid
# read or write, use of uninitialised memory or leak fails it. AB_VALGRIND=1 tells
# the tests (phpt/_time.inc): their wall-clock limits are not checked there, only
# printed. The tests' HTTP server (php -S, without the extension) runs outside
# valgrind: it is not the code under test.
#
# After the suite: what the tests' time limits measured, the tests skipped (and
# why), and those that failed once and passed only when run-tests.php ran them
# again (it does that for tests using microtime() or sleep()): a flaky test.
# With AB_REQUIRE_ROOT=1 (CI, as root) a test skipped for a missing prerequisite
# (root, an installed package) fails the suite.
#
# The tests are copied to a fresh temporary directory first, so the {PWD} dirs the
# tests create for one side never meet those of the other. Exits non-zero when a
# test fails.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
SIDE=${1:-}
case "$SIDE" in
    ext|polyfill) shift ;;
    *)
        echo "usage: scripts/phpt.sh ext|polyfill [run-tests.php args...]" >&2
        exit 2
        ;;
esac

PHP=$(command -v php) || { echo "phpt.sh: php not found in PATH" >&2; exit 1; }
RUN_TESTS=$("$PHP" -r 'echo PHP_EXTENSION_DIR;')/build/run-tests.php
# Debian keeps it in the extension directory; a PHP built from source (scripts/zts.sh)
# under its prefix.
if [ ! -f "$RUN_TESTS" ] && command -v php-config >/dev/null; then
    prefix=$(php-config --prefix)
    for candidate in "$(php-config --extension-dir)/build" "$prefix/lib/php/$(php-config --phpapi)/build" \
        "$prefix/lib/php/build"; do
        if [ -f "$candidate/run-tests.php" ]; then
            RUN_TESTS=$candidate/run-tests.php
            break
        fi
    done
fi
[ -f "$RUN_TESTS" ] || { echo "phpt.sh: run-tests.php not found (install php-dev)" >&2; exit 1; }

LOAD=()
if [ "$SIDE" = ext ]; then
    SO=${ASYNCBATCH_SO:-$ROOT/target/release/libasyncbatch.so}
    if [ ! -f "$SO" ]; then
        echo "phpt.sh: $SO not found; build it first: cargo build --release" >&2
        exit 1
    fi
    export ASYNCBATCH_SO=$SO
    LOAD=(-d "extension=$SO")
    if ! "$PHP" "${LOAD[@]}" -r 'exit(extension_loaded("asyncbatch") ? 0 : 1);'; then
        echo "phpt.sh: $SO does not load as the asyncbatch extension" >&2
        exit 1
    fi
else
    # The polyfill side still needs the built extension for the tests that compare
    # the two implementations (phpt/_child.inc: ab_other_php_args()).
    SO=${ASYNCBATCH_SO:-$ROOT/target/release/libasyncbatch.so}
    if [ -f "$SO" ]; then export ASYNCBATCH_SO=$SO; else unset ASYNCBATCH_SO; fi
    if "$PHP" -r 'exit(extension_loaded("asyncbatch") ? 0 : 1);'; then
        echo "phpt.sh: the asyncbatch extension is loaded by php.ini; the polyfill cannot be tested" >&2
        exit 1
    fi
    LOAD=(-d "auto_prepend_file=$ROOT/php/autoload.php")
fi

WORK=$(mktemp -d "${TMPDIR:-/tmp}/asyncbatch-phpt-$SIDE.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
cp -R "$ROOT/phpt" "$WORK/phpt"

export ASYNCBATCH_ROOT=$ROOT
export AB_TIMINGS=$WORK/timings.txt
export NO_INTERACTION=1
export TEST_PHP_EXECUTABLE=$PHP
unset TEST_PHP_ARGS ASYNCBATCH_RUNNER

# A test's time limit: run-tests.php's 60 s would end phpt 127 (100,000 requests
# of the polyfill) on a loaded machine; a hang still ends.
TIMEOUT=(--set-timeout 240)
JOBS=(-j2)
[ "$(nproc 2>/dev/null || echo 1)" -gt 1 ] || JOBS=()

# Arguments naming tests under phpt/ select those tests (in the copy); others go to run-tests.php.
ARGS=()
TESTS=()
for a in "$@"; do
    case "$a" in
        phpt/*|*/phpt/*) TESTS+=("phpt/${a##*phpt/}") ;;
        *) ARGS+=("$a") ;;
    esac
done
[ ${#TESTS[@]} -gt 0 ] || TESTS=(phpt)

# -m (memcheck) or -M TOOL: run-tests.php runs each test under valgrind.
unset AB_VALGRIND
for a in "${ARGS[@]}"; do
    case "$a" in
        -m|-M) export AB_VALGRIND=1 ;;
    esac
done
if [ -n "${AB_VALGRIND:-}" ]; then
    export VALGRIND_OPTS="${VALGRIND_OPTS:+$VALGRIND_OPTS }--trace-children-skip-by-arg=*_http_router.php*"
fi

if [ "${AB_REQUIRE_ROOT:-}" = 1 ] && [ "$(id -u)" -ne 0 ]; then
    echo "phpt.sh: AB_REQUIRE_ROOT=1 but not running as root: the tests that need root would be skipped" >&2
    exit 1
fi

echo "phpt: $SIDE, $(ls "$WORK"/phpt/*.phpt | wc -l) tests, in $WORK"
set +e
(cd "$WORK" && "$PHP" "$RUN_TESTS" -p "$PHP" -q --show-diff \
    "${JOBS[@]}" "${TIMEOUT[@]}" "${LOAD[@]}" "${ARGS[@]}" "${TESTS[@]}") >"$WORK/output.txt" 2>&1
STATUS=$?
set -e
cat "$WORK/output.txt"

# Under valgrind (-m), show what it found: a test with an error or a leak is "leaked".
for mem in "$WORK"/phpt/*.mem; do
    [ -e "$mem" ] || continue
    echo "--- valgrind: ${mem##*/}"
    cat "$mem"
done

# run-tests.php colours its result lines and writes progress lines ending in a
# carriage return; the summaries below read the lines without either.
PLAIN=$(sed -E 's/\x1b\[[0-9;]*m//g; s/.*\r//' "$WORK/output.txt")

if [ -s "$AB_TIMINGS" ]; then
    echo "--- time limits: what the tests measured${AB_VALGRIND:+ (under valgrind: not checked)}"
    sort "$AB_TIMINGS"
fi

SKIPPED=$(grep -E '^SKIP ' <<<"$PLAIN" | sed -E 's/^SKIP .*\[(phpt\/[^]]*)\] reason: /\1: /' || true)
if [ -n "$SKIPPED" ]; then
    echo "--- skipped ($(wc -l <<<"$SKIPPED")), and why"
    echo "$SKIPPED"
fi

RETRIED=$(grep -E 'passed on retry attempt' <<<"$PLAIN" | sed -E 's/.*\[(phpt\/[^]]*)\].*/\1/' | sort -u || true)
if [ -n "$RETRIED" ]; then
    echo "--- FLAKY: failed once, passed when run again ($(wc -l <<<"$RETRIED")):"
    echo "$RETRIED"
fi

# Skips for what the machine lacks, not for what one side does not have.
MISSING=$(grep -Ei 'needs root|not installed|not available|not loaded|is not built|needs posix' <<<"$SKIPPED" || true)
if [ "${AB_REQUIRE_ROOT:-}" = 1 ] && [ -n "$MISSING" ]; then
    echo "phpt: $SIDE: FAILED: AB_REQUIRE_ROOT=1 and tests were skipped for want of a prerequisite:" >&2
    echo "$MISSING" >&2
    exit 1
fi

# run-tests.php exits 1 on failures; also catch failures and borked tests in its summary.
if [ $STATUS -ne 0 ] || grep -Eq '^Tests (failed|borked|leaked) *: *[1-9]' "$WORK/output.txt" \
    || ! grep -q '^Tests passed' "$WORK/output.txt"; then
    echo "phpt: $SIDE: FAILED" >&2
    exit 1
fi
echo "phpt: $SIDE: all passed"
