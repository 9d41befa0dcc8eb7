#!/bin/sh
# The image's HEALTHCHECK: php-fpm answers its ping, and the asyncbatch daemon
# runs (`asyncbatch status` exits 0 only then). Prints what it found; exits 1 when
# either is down.
set -u

pool=/etc/php/8.2/fpm/pool.d/www.conf

# Where php-fpm listens, from the pool: a port (every interface), host:port or a
# unix socket.
listen=$(sed -n 's/^[[:space:]]*listen[[:space:]]*=[[:space:]]*//p' "$pool" | tail -n 1)
case $listen in
/*) address=$listen ;;
0.0.0.0:* | \*:* | \[::\]:*) address=127.0.0.1:${listen##*:} ;;
*:*) address=$listen ;;
'') echo "no listen line in $pool"; exit 1 ;;
*) address=127.0.0.1:$listen ;;
esac

# cgi-fcgi sends its environment as the request's parameters: only these.
fcgi=$(command -v cgi-fcgi) || { echo "cgi-fcgi is missing (Debian package libfcgi-bin)"; exit 1; }
answer=$(env -i SCRIPT_NAME=/ping SCRIPT_FILENAME=/ping REQUEST_METHOD=GET \
    "$fcgi" -bind -connect "$address" 2>&1)
case $answer in
*pong*) echo "php-fpm: answers on $address" ;;
*)
    echo "php-fpm: no answer on $address: $answer"
    exit 1
    ;;
esac

# The daemon's own view: per-job counters, queue, spool, last error.
/usr/local/bin/asyncbatch status || exit 1
