#!/usr/bin/env bash
# The suites again on PHP 8.4 (Debian trixie), in a root made with debootstrap.
#
#   bash scripts/trixie.sh                 makes the root, or brings it up to date
#   bash scripts/trixie.sh run CMD...      runs CMD in the root, in the repository
#   bash scripts/trixie.sh shell           a shell there
#   bash scripts/trixie.sh e2e-tests       the cargo test arguments of the end-to-end
#                                          tests that drive PHP (all but docker_steps)
#
# The root is $AB_TRIXIE_ROOT (default /var/cache/asyncbatch/trixie); it is made
# once and reused: a later run only installs packages added to TRIXIE_PACKAGES.
# trixie's rustc is older than ext-php-rs needs, so the machine's toolchain
# (~/.cargo, ~/.rustup) is mounted into the root, and the repository at the same
# path as outside; the build goes to target/trixie. Everything is mounted in a
# private mount namespace, so nothing stays mounted when the script ends, however
# it ends. Needs root (debootstrap, chroot, mount).
# ASYNCBATCH_SO points at that build, so scripts/phpt.sh and the end-to-end tests
# run there as they do outside. scripts/test.sh runs, in the root: the build, the
# phpt suite on both sides, and the end-to-end tests that drive PHP.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
TRIXIE=${AB_TRIXIE_ROOT:-/var/cache/asyncbatch/trixie}
MIRROR=${AB_TRIXIE_MIRROR:-http://deb.debian.org/debian}
CARGO_DIR=${CARGO_HOME:-$HOME/.cargo}
RUSTUP_DIR=${RUSTUP_HOME:-$HOME/.rustup}

# php8.4-*: the PHP under test (headers and run-tests.php, the CLI, php-fpm, curl
#   for the polyfill's HttpSink, phpdbg for phpt 129); libclang-dev, clang, gcc, libc6-dev: the build;
# libfcgi-bin, supervisor, procps, nginx-light, openssl, tinyproxy: the end-to-end tests; php-monolog: Monolog 3;
# php-symfony-http-kernel, php-symfony-service-contracts: Symfony 6.4;
# php-laravel-framework: Laravel 10 (tests/tests/frameworks.rs), php8.4-sqlite3 for its
#   queue worker (the database queue, in an SQLite file);
# git, make: scripts/phpize.sh (it copies the tracked sources, make runs cargo);
# python3: phpt/_otlp_check.py (with the packages scripts/deps.sh put in target/);
# python3-prometheus-client: tests/metrics/check_exposition.py (tests/tests/metrics.rs).
TRIXIE_PACKAGES=(
    php8.4-dev php8.4-cli php8.4-fpm php8.4-curl php8.4-phpdbg php8.4-sqlite3
    libclang-dev clang gcc libc6-dev
    libfcgi-bin supervisor procps nginx-light openssl tinyproxy
    php-monolog php-symfony-http-kernel php-symfony-service-contracts php-laravel-framework
    ca-certificates git make python3 python3-prometheus-client redis-server iproute2
)

if [[ ${1:-} == e2e-tests ]]; then
    # The end-to-end test files that drive PHP, as cargo test arguments: all but
    # the Dockerfile's, which builds a bookworm image, and deploy/'s monitoring
    # files, which promtool checks whatever the PHP.
    for f in "$ROOT"/tests/tests/*.rs; do
        name=$(basename "$f" .rs)
        [[ $name == docker_steps || $name == monitoring_files ]] || printf -- '--test %s ' "$name"
    done
    echo
    exit
fi
if [[ $(id -u) -ne 0 ]]; then
    echo "trixie.sh: needs root (debootstrap, chroot, mount); run it with sudo" >&2
    exit 1
fi
for dir in "$CARGO_DIR" "$RUSTUP_DIR"; do
    [[ -d $dir ]] || { echo "trixie.sh: $dir does not exist: install Rust with rustup first" >&2; exit 1; }
done

# in_root COMMAND...: runs the command in the root, in a private mount namespace
# with /proc, /dev, /tmp, /run, the repository and the toolchain mounted.
in_root() {
    unshare --mount --propagation private -- bash -euo pipefail -c '
        t=$1 repo=$2 cargo=$3 rustup=$4
        shift 4
        # The root a mount point, and /run its own: `ip netns exec` remounts / and
        # mounts namespaces under /run/netns (the multi-host tests).
        mount --bind "$t" "$t"
        mount -t tmpfs -o mode=755 tmpfs "$t/run"
        mount -t proc proc "$t/proc"
        mount --rbind /dev "$t/dev"
        mount -t tmpfs -o mode=1777 tmpfs "$t/dev/shm"
        mount -t tmpfs -o mode=1777 tmpfs "$t/tmp"
        mount -t sysfs sysfs "$t/sys"
        for d in "$repo" /root/.cargo /root/.rustup; do mkdir -p "$t$d"; done
        mount --bind "$repo" "$t$repo"
        mount --bind "$cargo" "$t/root/.cargo"
        mount --bind "$rustup" "$t/root/.rustup"
        cp /etc/resolv.conf "$t/etc/resolv.conf"
        exec chroot "$t" /usr/bin/env -i HOME=/root LANG=C.UTF-8 TERM="${TERM:-dumb}" \
            PATH=/root/.cargo/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
            DEBIAN_FRONTEND=noninteractive AB_REQUIRE_ROOT="${AB_REQUIRE_ROOT:-}" \
            CARGO_TARGET_DIR="$repo/target/trixie" \
            ASYNCBATCH_SO="$repo/target/trixie/release/libasyncbatch.so" "$@"
    ' in_root "$TRIXIE" "$ROOT" "$CARGO_DIR" "$RUSTUP_DIR" "$@"
}

make_root() {
    if ! command -v debootstrap >/dev/null; then
        echo "trixie.sh: installing debootstrap"
        apt-get install -y -q debootstrap >/dev/null
    fi
    local start=$SECONDS partial=$TRIXIE.partial
    rm -rf "$partial"
    mkdir -p "$(dirname "$TRIXIE")"
    echo "trixie.sh: debootstrap trixie $partial ($MIRROR)"
    debootstrap --variant=minbase trixie "$partial" "$MIRROR" >"$partial.log" 2>&1 \
        || { tail -20 "$partial.log" >&2; echo "trixie.sh: debootstrap failed (log: $partial.log)" >&2; exit 1; }
    rm -f "$partial.log"
    mv "$partial" "$TRIXIE"
    echo "trixie.sh: root made in $((SECONDS - start)) s"
}

install_packages() {
    local missing=()
    for pkg in "${TRIXIE_PACKAGES[@]}"; do
        chroot "$TRIXIE" dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q '^install ok installed$' \
            || missing+=("$pkg")
    done
    ((${#missing[@]})) || return 0
    local start=$SECONDS
    echo "trixie.sh: installing in the root: ${missing[*]}"
    # No daemon starts in the root when a package is installed.
    printf '#!/bin/sh\nexit 101\n' >"$TRIXIE/usr/sbin/policy-rc.d"
    chmod +x "$TRIXIE/usr/sbin/policy-rc.d"
    in_root apt-get update -q >/dev/null
    in_root apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
    echo "trixie.sh: packages installed in $((SECONDS - start)) s"
}

[[ -x $TRIXIE/usr/bin/apt-get ]] || make_root
install_packages

case ${1:-} in
    "") ;;
    run)
        shift
        (($#)) || { echo "usage: scripts/trixie.sh run COMMAND..." >&2; exit 2; }
        in_root bash -c 'cd "$1" && shift && exec "$@"' run "$ROOT" "$@"
        ;;
    shell) in_root bash -c "cd '$ROOT' && exec bash -i" ;;
    *)
        echo "usage: scripts/trixie.sh [run COMMAND... | shell | e2e-tests]" >&2
        exit 2
        ;;
esac
