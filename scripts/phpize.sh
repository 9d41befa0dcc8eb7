#!/usr/bin/env bash
# The install PHP people (and PIE) run: phpize && ./configure && make && make install,
# on a copy of the tracked sources, against the PHP in PATH.
#
#   bash scripts/phpize.sh
#
# Checks that the installed module loads in that PHP (php -n, nothing else loaded),
# and that ./configure refuses a PHP the extension does not build for, naming it.
# The sources are copied to target/phpize-src, cargo builds in target/phpize-<PHP
# version> (kept, so a second run only builds what changed), and make install goes
# to a temporary INSTALL_ROOT: nothing outside target/ is touched.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
for tool in phpize php-config php make autoconf; do
    command -v "$tool" >/dev/null || { echo "phpize.sh: $tool not found: install php-dev (bash scripts/deps.sh)" >&2; exit 1; }
done
if ! command -v cargo >/dev/null && [[ -x "$HOME/.cargo/bin/cargo" ]]; then
    PATH="$HOME/.cargo/bin:$PATH"
fi
VERSION=$(php-config --version)
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
SRC=$TARGET/phpize-src
BUILD=$TARGET/phpize-${VERSION%.*}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/asyncbatch-phpize.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

echo "phpize.sh: PHP $VERSION, sources copied to $SRC"
rm -rf "$SRC"
mkdir -p "$SRC"
# The tracked (and new, not ignored) files; without git (or outside a checkout),
# everything but target/ and .git.
if (cd "$ROOT" && git ls-files -z --cached --others --exclude-standard >"$WORK/files" 2>/dev/null); then
    (cd "$ROOT" && tar --null -cf - -T "$WORK/files") | tar -xf - -C "$SRC"
else
    (cd "$ROOT" && tar --exclude=./target --exclude=./.git -cf - .) | tar -xf - -C "$SRC"
fi

cd "$SRC"
phpize >"$WORK/phpize.log" 2>&1 || { cat "$WORK/phpize.log" >&2; exit 1; }
./configure CARGO_TARGET_DIR="$BUILD" >"$WORK/configure.log" 2>&1 || { cat "$WORK/configure.log" >&2; exit 1; }
grep -E '^checking (whether to enable asyncbatch|the PHP asyncbatch|the version of Rust)' "$WORK/configure.log"
make -j"$(nproc)"
make install INSTALL_ROOT="$WORK/root"

SO=$WORK/root$(php-config --extension-dir)/asyncbatch.so
[[ -f $SO ]] || { echo "phpize.sh: make install did not install $SO" >&2; exit 1; }
LOADED=$(php -n -d "extension=$SO" -r 'echo extension_loaded("asyncbatch") ? phpversion("asyncbatch") : "not loaded";')
echo "phpize.sh: make install put asyncbatch.so in the extension directory; php -n loads it: asyncbatch $LOADED"
[[ $LOADED != "not loaded" ]] || exit 1

# A php-config of PHP 8.1: ./configure stops, naming the version.
mkdir -p "$WORK/old"
cat >"$WORK/old/php-config" <<EOF
#!/bin/sh
case "\$1" in
    --version) echo 8.1.31 ;;
    --vernum) echo 80131 ;;
    *) exec php-config "\$@" ;;
esac
EOF
chmod +x "$WORK/old/php-config"
if ./configure --with-php-config="$WORK/old/php-config" >"$WORK/old.log" 2>&1; then
    echo "phpize.sh: ./configure accepted PHP 8.1" >&2
    exit 1
fi
grep -F 'asyncbatch builds for PHP 8.2 to 8.5' "$WORK/old.log" | sed 's/^/phpize.sh: PHP 8.1 refused: /'
grep -qF "is PHP 8.1.31" "$WORK/old.log" || { tail -5 "$WORK/old.log" >&2; exit 1; }
echo "phpize.sh: ok"
