#!/usr/bin/env bash
# PHP 8.4 ZTS (thread-safe), built from Debian's php8.4 source package inside the
# trixie root (scripts/trixie.sh), and the suites run against it.
#
#   bash scripts/zts.sh              builds PHP, or reuses the build; prints its version
#   bash scripts/zts.sh run CMD...   runs CMD in the root, in the repository, with that
#                                    PHP first in PATH and the extension built to
#                                    target/zts (ASYNCBATCH_SO points at it)
#
# Debian ships no ZTS PHP, so it is built: the source package SOURCE_VERSION (the
# .dsc pinned by its SHA-256, the tarballs checked by dpkg-source against the
# .dsc), Debian's patches applied, configured with ZTS and the few extensions the
# suites use (the CLI, phpdbg for the unsupported-SAPI test, pcntl and posix for
# the fork tests, curl for the polyfill's HttpSink, zlib, mbstring, ctype, filter,
# tokenizer). It is installed in PREFIX in the root, once: a later run finds it
# there and builds nothing. It takes 3 to 8 minutes on 2 cores. Needs root, as
# scripts/trixie.sh does.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
TRIXIE=${AB_TRIXIE_ROOT:-/var/cache/asyncbatch/trixie}
MIRROR=${AB_TRIXIE_MIRROR:-http://deb.debian.org/debian}
# The mirror keeps older source packages than the binary ones it serves: trixie's
# php8.4 is newer, but its source is not there.
SOURCE_VERSION=8.4.16-1
DSC_SHA256=9f2172c07beb78b91fe6388c88343c82d38552f3955def7e0706eb09f6311840
PREFIX=/opt/php-${SOURCE_VERSION%-*}-zts
BUILD_PACKAGES=(curl dpkg-dev xz-utils autoconf pkg-config zlib1g-dev libcurl4-openssl-dev)
IN_ROOT_PATH=$PREFIX/bin:/root/.cargo/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

trixie() { bash "$ROOT/scripts/trixie.sh" "$@"; }

built() {
    [[ -x $TRIXIE$PREFIX/bin/php ]] \
        && trixie run "$PREFIX/bin/php" -r 'exit(PHP_ZTS && is_executable(PHP_BINDIR . "/phpdbg") ? 0 : 1);'
}

build() {
    local start=$SECONDS missing=() pkg
    for pkg in "${BUILD_PACKAGES[@]}"; do
        chroot "$TRIXIE" dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q '^install ok installed$' \
            || missing+=("$pkg")
    done
    if ((${#missing[@]})); then
        echo "zts.sh: installing in the root: ${missing[*]}"
        trixie run apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
    fi
    echo "zts.sh: building PHP $SOURCE_VERSION ZTS into $PREFIX (in $TRIXIE)"
    # The build runs in the root's /var/tmp (its /tmp is a tmpfs while a command runs).
    rm -rf "$TRIXIE/var/tmp/asyncbatch-zts"
    mkdir -p "$TRIXIE/var/tmp/asyncbatch-zts"
    trixie run env MIRROR="$MIRROR" V="$SOURCE_VERSION" SUM="$DSC_SHA256" PREFIX="$PREFIX" \
        bash -euo pipefail -c '
        cd /var/tmp/asyncbatch-zts
        pool=$MIRROR/pool/main/p/php8.4
        dsc=php8.4_$V.dsc
        curl -fsS -o "$dsc" "$pool/$dsc" || { echo "zts.sh: cannot download $pool/$dsc" >&2; exit 1; }
        echo "$SUM  $dsc" | sha256sum -c --quiet - \
            || { echo "zts.sh: $dsc does not have the pinned SHA-256" >&2; exit 1; }
        # The files the .dsc lists (its Checksums-Sha256 section); dpkg-source checks them.
        for f in $(awk "/^Checksums-Sha256:/ { s = 1; next } /^[^ ]/ { s = 0 } s { print \$3 }" "$dsc"); do
            curl -fsS -o "$f" "$pool/$f" || { echo "zts.sh: cannot download $pool/$f" >&2; exit 1; }
        done
        dpkg-source -x "$dsc" src >/dev/null
        cd src
        # Debian s patches change configure.ac: configure is made again.
        ./buildconf --force >build.log 2>&1
        ./configure --prefix="$PREFIX" --with-config-file-path="$PREFIX/etc" \
            --enable-zts --disable-all --enable-cli --disable-cgi --enable-phpdbg \
            --enable-pcntl --enable-posix --enable-mbstring --disable-mbregex --enable-ctype \
            --enable-tokenizer --enable-filter --with-zlib --with-curl >>build.log 2>&1 \
            || { tail -30 build.log >&2; echo "zts.sh: configure failed" >&2; exit 1; }
        make -j"$(nproc)" >>build.log 2>&1 || { tail -30 build.log >&2; echo "zts.sh: make failed" >&2; exit 1; }
        make install >>build.log 2>&1 || { tail -30 build.log >&2; echo "zts.sh: make install failed" >&2; exit 1; }
        mkdir -p "$PREFIX/etc" "$PREFIX/share"
        # Debian s PHP libraries (Monolog) are found as with Debian s own PHP.
        echo "include_path = \".:/usr/share/php\"" >"$PREFIX/etc/php.ini"
        # phpize looks for its m4 files beside the PHP it belongs to.
        ln -sfn /usr/share/aclocal "$PREFIX/share/aclocal"
    '
    rm -rf "$TRIXIE/var/tmp/asyncbatch-zts"
    echo "zts.sh: built in $((SECONDS - start)) s"
}

trixie
built || build
built || { echo "zts.sh: $PREFIX/bin/php is not a ZTS PHP with phpdbg after the build" >&2; exit 1; }

case ${1:-} in
    "") trixie run "$PREFIX/bin/php" -v | head -1 ;;
    run)
        shift
        (($#)) || { echo "usage: scripts/zts.sh run COMMAND..." >&2; exit 2; }
        trixie run env PATH="$IN_ROOT_PATH" CARGO_TARGET_DIR="$ROOT/target/zts" \
            ASYNCBATCH_SO="$ROOT/target/zts/release/libasyncbatch.so" "$@"
        ;;
    *)
        echo "usage: scripts/zts.sh [run COMMAND...]" >&2
        exit 2
        ;;
esac
