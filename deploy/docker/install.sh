#!/usr/bin/env bash
# The runtime stage of the Dockerfile: installs asyncbatch into Debian bookworm's
# PHP 8.2 (php-fpm and the CLI) with supervisord running php-fpm and the daemon.
# tests/tests/docker_steps.rs runs the same script on the host into a temporary
# root, then starts what it installed.
#
#   install.sh packages
#       apt-get the runtime packages (the image; on a host see scripts/deps.sh).
#
#   install.sh --extension FILE [--root DIR] [--user NAME] [--listen ADDRESS]
#       installs, at these paths in the image:
#         {PHP's extension dir}/asyncbatch.so        FILE
#         /etc/php/8.2/mods-available/asyncbatch.ini  deploy/asyncbatch.ini, enabled for
#             php-fpm and the CLI (conf.d/20-asyncbatch.ini, as phpenmod does)
#         /etc/php/8.2/fpm/php-fpm.conf, pool.d/www.conf   php-fpm in the foreground
#         /etc/supervisor/supervisord.conf            php-fpm and the daemon
#         /usr/share/php/asyncbatch/                  the Composer package php/, with
#             its CLI on PATH as /usr/local/bin/asyncbatch
#         /usr/local/bin/asyncbatch-healthcheck       the HEALTHCHECK
#         /var/www/app/                               the example application: a page
#             and config/asyncbatch-jobs.php (deploy/bootstrap.example.php)
#         /var/lib/asyncbatch/{spool,failed}          0700, owned by NAME
#       then checks that php and php-fpm load the extension and that php-fpm
#       accepts its configuration.
#
#   --extension FILE  the built extension (libasyncbatch.so)
#   --root DIR        install under DIR instead of / (a test on the host). The
#                     paths in the installed configuration move under DIR too, and
#                     the programs and the healthcheck find DIR's php.ini snippets
#                     through PHP_INI_SCAN_DIR; the system's php, php-fpm8.2 and
#                     supervisord are used as they are.
#   --user NAME       the user of php-fpm's pool and of the daemon: they share the
#                     spool, the failure store and the SysV queue. By default,
#                     www-data. Not run as root, only the current user.
#   --listen ADDRESS  where php-fpm takes FastCGI requests. By default, 9000
#                     (port 9000 on every interface, for a web server in another
#                     container).
set -euo pipefail

SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)

usage() {
    # The comment at the top of this file.
    awk 'NR == 1 { next } /^#/ { sub(/^# ?/, ""); print; next } { exit }' "${BASH_SOURCE[0]}" >&2
    exit 2
}

die() {
    echo "install.sh: $*" >&2
    exit 1
}

if [[ ${1:-} == packages ]]; then
    [[ $# -eq 1 ]] || usage
    # php8.2-fpm, php8.2-cli: the SAPIs the extension is built for.
    # php8.2-curl: curl for the application (most PHP HTTP clients use it).
    # supervisor: runs php-fpm and the daemon.
    # libfcgi-bin: cgi-fcgi, with which the HEALTHCHECK asks php-fpm for its ping.
    # ca-certificates: https from PHP (the example bootstrap posts with PHP streams).
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q
    apt-get install -y -q --no-install-recommends \
        php8.2-fpm php8.2-cli php8.2-curl supervisor libfcgi-bin ca-certificates
    rm -rf /var/lib/apt/lists/*
    exit 0
fi

root=
user=www-data
listen=9000
extension=
while (($#)); do
    [[ $# -ge 2 ]] || usage
    case $1 in
    --root) root=$2 ;;
    --user) user=$2 ;;
    --listen) listen=$2 ;;
    --extension) extension=$2 ;;
    *) usage ;;
    esac
    shift 2
done
[[ -n $extension ]] || usage
[[ -f $extension ]] || die "no extension at $extension"
root=${root%/}
if [[ -n $root ]]; then
    # It goes into sed and ini files as it is.
    [[ $root =~ ^/[A-Za-z0-9._/-]+$ ]] || die "--root needs an absolute path of letters, digits and ._/- (got '$root')"
    [[ $root != *..* ]] || die "--root must not contain '..' (got '$root')"
fi
[[ $listen =~ ^[A-Za-z0-9.:/_*-]+$|^\[[0-9A-Fa-f:]+\]:[0-9]+$ ]] || die "--listen: not an address: '$listen'"
group=$(id -gn "$user" 2>/dev/null) || die "no user '$user'"
if [[ $(id -u) -ne 0 && $(id -un) != "$user" ]]; then
    die "only root can install for another user: run as root, or give --user $(id -un)"
fi

php_version=$(php -r 'echo PHP_MAJOR_VERSION, ".", PHP_MINOR_VERSION;')
[[ $php_version == 8.2 ]] || die "php is PHP $php_version; this configuration is for PHP 8.2"
[[ -x /usr/sbin/php-fpm8.2 ]] || die "/usr/sbin/php-fpm8.2 is missing (Debian package php8.2-fpm)"
command -v supervisord >/dev/null || die "supervisord is missing (Debian package supervisor)"
extdir=$(php -r 'echo PHP_EXTENSION_DIR;')
etc=/etc/php/8.2

# Paths of the image that --root moves under DIR, in the files installed as well.
moved='/etc/php/|/etc/supervisor/|/usr/share/php/asyncbatch|/usr/local/bin/asyncbatch|/var/www/app|/var/lib/asyncbatch|/run/'

# relocate < text: the text with the image's paths under --root (unchanged without).
relocate() {
    if [[ -z $root ]]; then
        cat
    else
        sed -E "s#(^|[[:space:]=\"':]|//)($moved)#\\1$root\\2#g"
    fi
}

# swap FROM TO < text: the text with each line FROM replaced by TO (escapes such as
# \n in TO apply); fails when there is no line FROM, so that a change to the
# shipped files cannot go unnoticed here.
swap() {
    awk -v from="$1" -v to="$2" '
        $0 == from { print to; found = 1; next }
        { print }
        END { if (!found) { print "install.sh: no line \"" from "\" to replace" > "/dev/stderr"; exit 3 } }'
}

# write PATH [MODE] < text: writes the text to PATH (a path in the image) under --root.
write() {
    local dest=$root$1 mode=${2:-0644}
    install -d -m 0755 "$(dirname "$dest")"
    cat >"$dest.tmp"
    chmod "$mode" "$dest.tmp"
    mv -f "$dest.tmp" "$dest"
}

# with_scan_dir SAPI AFTER LINE < text: under --root, LINE (its @ replaced by the
# PHP_INI_SCAN_DIR that adds DIR's conf.d of SAPI) after the line AFTER; without
# --root, the text unchanged.
with_scan_dir() {
    local sapi=$1 after=$2 line=$3
    if [[ -z $root ]]; then
        cat
    else
        swap "$after" "$after\\n${line/@/:$root$etc/$sapi/conf.d}"
    fi
}

# The extension, and its ini snippet for php-fpm and the CLI.
install -D -m 0644 "$extension" "$root$extdir/asyncbatch.so"
if [[ -n $root ]]; then
    extension_line="extension=$root$extdir/asyncbatch.so"
else
    extension_line="extension=asyncbatch.so"
fi
swap "extension=asyncbatch.so" "$extension_line" <"$SRC/deploy/asyncbatch.ini" | relocate |
    write $etc/mods-available/asyncbatch.ini
for sapi in fpm cli; do
    install -d -m 0755 "$root$etc/$sapi/conf.d"
    ln -sfn ../../mods-available/asyncbatch.ini "$root$etc/$sapi/conf.d/20-asyncbatch.ini"
done

# php-fpm.
relocate <"$SRC/deploy/docker/php-fpm.conf" | write $etc/fpm/php-fpm.conf
swap "user = www-data" "user = $user" <"$SRC/deploy/docker/www.conf" |
    swap "group = www-data" "group = $group" |
    swap "listen = 9000" "listen = $listen" |
    relocate | write $etc/fpm/pool.d/www.conf

# supervisord.
supervisord_conf=$(swap "user=www-data" "user=$user" <"$SRC/deploy/docker/supervisord.conf" | relocate |
    with_scan_dir cli "[program:asyncbatch]" 'environment=PHP_INI_SCAN_DIR="@"' |
    with_scan_dir fpm "[program:php-fpm]" 'environment=PHP_INI_SCAN_DIR="@"')
if [[ $(id -u) -ne 0 ]]; then
    # supervisord cannot become root; it runs the programs as the current user.
    supervisord_conf=$(swap "user=root" "; user=root: not installed as root" <<<"$supervisord_conf")
fi
write /etc/supervisor/supervisord.conf <<<"$supervisord_conf"
install -d -m 0755 "$root/etc/supervisor/conf.d"
[[ -d $root/run ]] || install -d -m 0755 "$root/run"

# The Composer package (the CLI and the daemon's entry point), and the healthcheck.
package=$root/usr/share/php/asyncbatch
rm -rf "$package"
install -d -m 0755 "$package" "$root/usr/local/bin"
cp -R "$SRC/php/." "$package/"
chmod -R u=rwX,go=rX "$package"
chmod 0755 "$package/bin/asyncbatch"
ln -sfn ../../share/php/asyncbatch/bin/asyncbatch "$root/usr/local/bin/asyncbatch"
relocate <"$SRC/deploy/docker/healthcheck.sh" |
    with_scan_dir cli "set -u" 'PHP_INI_SCAN_DIR="@"; export PHP_INI_SCAN_DIR' |
    write /usr/local/bin/asyncbatch-healthcheck 0755

# The example application, until one is put in its place.
install -D -m 0644 "$SRC/deploy/docker/app/public/index.php" "$root/var/www/app/public/index.php"
install -D -m 0644 "$SRC/deploy/bootstrap.example.php" "$root/var/www/app/config/asyncbatch-jobs.php"

# The spool and the failure store: the volume of the image. Created here, so that
# a command run as root in the container cannot create them for root.
for dir in "" /spool /failed; do
    install -d -o "$user" -g "$group" -m 0700 "$root/var/lib/asyncbatch$dir"
done

# Both SAPIs load the extension with these settings; php-fpm accepts its configuration.
cli_env=() fpm_env=()
if [[ -n $root ]]; then
    cli_env=("PHP_INI_SCAN_DIR=:$root$etc/cli/conf.d")
    fpm_env=("PHP_INI_SCAN_DIR=:$root$etc/fpm/conf.d")
fi
version=$(env "${cli_env[@]}" php -r 'echo phpversion("asyncbatch");') ||
    die "php (the CLI) does not load the extension"
[[ -n $version ]] || die "php (the CLI) does not load the extension"
env "${fpm_env[@]}" /usr/sbin/php-fpm8.2 -m | grep -x asyncbatch >/dev/null ||
    die "php-fpm8.2 does not load the extension"
if ! tested=$(env "${fpm_env[@]}" /usr/sbin/php-fpm8.2 --test --fpm-config "$root$etc/fpm/php-fpm.conf" 2>&1); then
    die "php-fpm8.2 refuses its configuration: $tested"
fi
echo "install.sh: asyncbatch $version installed${root:+ under $root} for php-fpm8.2 and php $(php -r 'echo PHP_VERSION;'), user $user, FastCGI on $listen"
