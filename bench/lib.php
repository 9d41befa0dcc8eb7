<?php
// Helpers of the benchmark driver (bench/bench.php): processes it starts and stops,
// wrk, and what /proc says about CPU time and memory.
declare(strict_types=1);

/** @var list<resource> processes to stop at exit, in their own process groups */
$GLOBALS['bench_processes'] = [];

function fail(string $message): never
{
    fwrite(STDERR, "bench: $message\n");
    exit(1);
}

/**
 * Stops every process started with start() when the driver exits: at the end, on
 * fail(), and on Ctrl-C or a kill (turned into exit()). Removes $dir.
 */
function cleanup_at_exit(string $dir): void
{
    register_shutdown_function(static function () use ($dir): void {
        // The daemon spools what it has not delivered and stops within seconds.
        stop_processes(12);
        if (getenv('AB_BENCH_KEEP')) {
            fwrite(STDERR, "bench: kept $dir\n");
        } else {
            exec('rm -rf ' . escapeshellarg($dir));
        }
    });
    if (function_exists('pcntl_async_signals')) {
        pcntl_async_signals(true);
        foreach ([SIGINT, SIGTERM, SIGHUP] as $signal) {
            pcntl_signal($signal, static function (): never {
                exit(130);
            });
        }
    }
}

/**
 * Stops every process started with start(), last started first: SIGTERM to its
 * process group (php-fpm's workers, nginx's, the daemon's go too), then SIGKILL to
 * what still runs after $grace seconds.
 */
function stop_processes(float $grace): void
{
    $processes = array_reverse($GLOBALS['bench_processes']);
    foreach ($processes as $p) {
        $status = proc_get_status($p);
        if ($status['running']) {
            posix_kill(-$status['pid'], SIGTERM);
        }
    }
    $deadline = microtime(true) + $grace;
    foreach ($processes as $p) {
        while (proc_get_status($p)['running'] && microtime(true) < $deadline) {
            usleep(50000);
        }
        $status = proc_get_status($p);
        if ($status['running']) {
            posix_kill(-$status['pid'], SIGKILL);
        }
        proc_close($p);
    }
    $GLOBALS['bench_processes'] = [];
}

/**
 * Starts nginx on 127.0.0.1:$port with its files in $dir, one exact location per
 * entry of $pages (path => [PHP script, php-fpm socket]), and waits until it listens.
 *
 * @param array<string, array{0: string, 1: string}> $pages
 */
function start_nginx(string $dir, int $port, array $pages): void
{
    $locations = '';
    foreach ($pages as $path => [$script, $socket]) {
        $locations .= "            location = $path {\n                include /etc/nginx/fastcgi_params;\n"
            . "                fastcgi_param SCRIPT_FILENAME $script;\n"
            . "                fastcgi_pass unix:$socket;\n            }\n";
    }
    @mkdir("$dir/tmp", 0700);
    $conf = (posix_geteuid() === 0 ? "user root root;\n" : '') . <<<NGINX
        worker_processes 1;
        daemon off;
        pid $dir/nginx.pid;
        error_log $dir/nginx-error.log warn;
        events { worker_connections 1024; }
        http {
            access_log off;
            client_body_temp_path $dir/tmp/body;
            fastcgi_temp_path $dir/tmp/fastcgi;
            proxy_temp_path $dir/tmp/proxy;
            uwsgi_temp_path $dir/tmp/uwsgi;
            scgi_temp_path $dir/tmp/scgi;
            server {
                listen 127.0.0.1:$port;
        $locations
            }
        }

        NGINX;
    file_put_contents("$dir/nginx.conf", $conf);
    start(['nginx', '-p', $dir, '-c', "$dir/nginx.conf", '-e', "$dir/nginx-error.log"], "$dir/nginx.out");
    wait_for(static fn (): bool => @fsockopen('127.0.0.1', $port) !== false, 10, 'nginx', "$dir/nginx-error.log");
}

/** Starts a process in its own process group (setsid), output to $log; returns its pid. */
function start(array $argv, string $log, ?array $env = null): int
{
    $cmd = 'exec setsid ' . implode(' ', array_map('escapeshellarg', $argv));
    $p = proc_open($cmd, [0 => ['file', '/dev/null', 'r'], 1 => ['file', $log, 'a'], 2 => ['file', $log, 'a']], $pipes, null, $env);
    if ($p === false) {
        fail('cannot start ' . $argv[0]);
    }
    $GLOBALS['bench_processes'][] = $p;
    return proc_get_status($p)['pid'];
}

/**
 * Starts the tests' counting HTTP server on a free loopback port, its counts in
 * $stats; returns its pid and address once it listens.
 *
 * @return array{0: int, 1: string}
 */
function start_counting_server(string $binary, string $stats, string $log): array
{
    $pid = start([$binary, '--listen', '127.0.0.1:0', '--stats', $stats], $log);
    $addr = null;
    wait_for(static function () use ($log, &$addr): bool {
        if (preg_match('/listening on (\S+)/', (string) @file_get_contents($log), $m)) {
            $addr = $m[1];
        }
        return $addr !== null;
    }, 10, 'the HTTP server', $log);
    return [$pid, $addr];
}

function is_running(int $pid): bool
{
    return posix_kill($pid, 0);
}

/** Waits until $ready() is true; fails with $what and the log after $timeout seconds. */
function wait_for(callable $ready, float $timeout, string $what, string $log): void
{
    $deadline = microtime(true) + $timeout;
    while (!$ready()) {
        if (microtime(true) > $deadline) {
            fail("$what did not come up:\n" . @file_get_contents($log));
        }
        usleep(20000);
    }
}

/** Runs a command to completion; returns [status, stdout, stderr]. */
function run(array $argv, array $env = []): array
{
    $p = proc_open($argv, [0 => ['file', '/dev/null', 'r'], 1 => ['pipe', 'w'], 2 => ['pipe', 'w']], $pipes, null, $env + getenv());
    $out = stream_get_contents($pipes[1]);
    $err = stream_get_contents($pipes[2]);
    fclose($pipes[1]);
    fclose($pipes[2]);
    return [proc_close($p), $out, $err];
}

/** The JSON a command printed; fails with its output otherwise. */
function json_or_die(array $result, string $what): array
{
    $json = json_decode(trim($result[1]), true);
    if ($result[0] !== 0 || !is_array($json)) {
        fail("$what failed (exit $result[0]):\n$result[1]$result[2]");
    }
    return $json;
}

function free_port(): int
{
    $s = stream_socket_server('tcp://127.0.0.1:0');
    $name = stream_socket_get_name($s, false);
    fclose($s);
    return (int) substr($name, strrpos($name, ':') + 1);
}

/** Runs wrk; returns requests/s, requests, errors and latency percentiles in ms. */
function wrk(string $url, float $seconds, int $connections): array
{
    $out = (string) shell_exec(sprintf('wrk -t1 -c%d -d%ds --latency %s 2>&1', $connections, (int) ceil($seconds), escapeshellarg($url)));
    $ms = static fn (string $v, string $unit): float => (float) $v * ['us' => 0.001, 'ms' => 1.0, 's' => 1000.0, 'm' => 60000.0][$unit];
    $r = ['rps' => 0.0, 'requests' => 0, 'errors' => 0];
    if (preg_match('/Requests\/sec:\s+([\d.]+)/', $out, $m)) {
        $r['rps'] = (float) $m[1];
    }
    if (preg_match('/(\d+) requests in/', $out, $m)) {
        $r['requests'] = (int) $m[1];
    }
    if (preg_match('/Non-2xx or 3xx responses: (\d+)/', $out, $m)) {
        $r['errors'] += (int) $m[1];
    }
    if (preg_match('/Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/', $out, $m)) {
        $r['errors'] += (int) $m[1] + (int) $m[2] + (int) $m[3] + (int) $m[4];
    }
    foreach (['50', '90', '99'] as $p) {
        $r["p$p"] = preg_match("/^\\s+$p%\\s+([\\d.]+)(us|ms|s|m)\\s*$/m", $out, $m) ? $ms($m[1], $m[2]) : NAN;
    }
    if ($r['requests'] === 0) {
        fail("wrk failed:\n$out");
    }
    return $r;
}

/** The fields of /proc/PID/stat after the name: [name, fields from the state on]. */
function proc_stat(string $file): ?array
{
    $stat = (string) @file_get_contents($file);
    $open = strpos($stat, '(');
    $close = strrpos($stat, ')');
    if ($open === false || $close === false) {
        return null;
    }
    return [substr($stat, $open + 1, $close - $open - 1), explode(' ', substr($stat, $close + 2))];
}

/** Direct children of $pid. */
function children(int $pid): array
{
    $kids = [];
    foreach (glob('/proc/[0-9]*/stat') ?: [] as $f) {
        $fields = proc_stat($f)[1] ?? [];
        if ((int) ($fields[1] ?? 0) === $pid) {
            $kids[] = (int) basename(dirname($f));
        }
    }
    return $kids;
}

/** $pid and all its descendants. */
function process_tree(int $pid): array
{
    $all = [$pid];
    foreach (children($pid) as $kid) {
        array_push($all, ...process_tree($kid));
    }
    return $all;
}

/**
 * CPU seconds (user + system) of the processes $pids: 'all' (threads that ended
 * included), 'asyncbatch' (asyncbatch's own threads: the HTTP sender, the daemon
 * runner's sender; they run beside the requests).
 */
function cpu_seconds(array $pids): array
{
    static $tick = null;
    $tick ??= 1 / max(1, (int) trim((string) shell_exec('getconf CLK_TCK')));
    $cpu = ['all' => 0.0, 'asyncbatch' => 0.0];
    foreach ($pids as $pid) {
        $fields = proc_stat("/proc/$pid/stat")[1] ?? null;
        if ($fields === null) {
            continue;
        }
        // utime and stime are the 12th and 13th fields from the state on.
        $cpu['all'] += ((int) $fields[11] + (int) $fields[12]) * $tick;
        foreach (glob("/proc/$pid/task/[0-9]*/stat") ?: [] as $f) {
            [$name, $t] = proc_stat($f) ?? ['', []];
            if (str_starts_with($name, 'asyncbatch-')) {
                $cpu['asyncbatch'] += ((int) $t[11] + (int) $t[12]) * $tick;
            }
        }
    }
    return $cpu;
}

/**
 * Memory of a process in KiB: 'rss'; 'pss' (shared pages divided among the
 * processes that map them); 'private' (pages no other process maps).
 */
function memory_kib(int $pid): array
{
    $rollup = (string) @file_get_contents("/proc/$pid/smaps_rollup");
    $field = static fn (string $name): int => preg_match("/^$name:\\s+(\\d+) kB/m", $rollup, $m) ? (int) $m[1] : 0;
    return ['rss' => $field('Rss'), 'pss' => $field('Pss'), 'private' => $field('Private_Clean') + $field('Private_Dirty')];
}

function median(array $values): float
{
    if ($values === []) {
        return NAN;
    }
    sort($values);
    return (float) $values[intdiv(count($values), 2)];
}

function mean(array $values): float
{
    return $values === [] ? NAN : array_sum($values) / count($values);
}

/** One FastCGI name-value pair. */
function fcgi_pair(string $name, string $value): string
{
    $len = static fn (string $s): string => strlen($s) < 128 ? chr(strlen($s)) : pack('N', strlen($s) | 0x80000000);
    return $len($name) . $len($value) . $name . $value;
}

/** A FastCGI record of $type for request 1. */
function fcgi_record(int $type, string $content): string
{
    return pack('CCnnCx', 1, $type, 1, strlen($content), 0) . $content;
}

/**
 * A GET of $script through php-fpm's socket $socket, as a web server sends it;
 * returns what php-fpm wrote (headers and body), or fails.
 */
function fcgi_get(string $socket, string $script, string $uri): string
{
    $conn = @stream_socket_client("unix://$socket", $errno, $error, 30);
    if ($conn === false) {
        fail("cannot connect to $socket: $error");
    }
    $params = '';
    $vars = [
        'GATEWAY_INTERFACE' => 'CGI/1.1', 'SERVER_PROTOCOL' => 'HTTP/1.1', 'REQUEST_METHOD' => 'GET',
        'SCRIPT_FILENAME' => $script, 'SCRIPT_NAME' => $uri, 'REQUEST_URI' => $uri, 'QUERY_STRING' => '',
        'SERVER_NAME' => 'localhost', 'SERVER_PORT' => '80', 'REMOTE_ADDR' => '127.0.0.1', 'REMOTE_PORT' => '40000',
    ];
    foreach ($vars as $k => $v) {
        $params .= fcgi_pair($k, $v);
    }
    // BEGIN_REQUEST (role responder, close the connection after), PARAMS, STDIN.
    fwrite($conn, fcgi_record(1, pack('nCx5', 1, 0)) . fcgi_record(4, $params) . fcgi_record(4, '') . fcgi_record(5, ''));
    $out = '';
    stream_set_timeout($conn, 120);
    while (true) {
        $header = stream_get_contents($conn, 8);
        if (!is_string($header) || strlen($header) < 8) {
            fail("php-fpm closed $socket mid-response");
        }
        $h = unpack('Cversion/Ctype/nid/nlength/Cpadding', $header);
        $content = $h['length'] + $h['padding'] > 0 ? (string) stream_get_contents($conn, $h['length'] + $h['padding']) : '';
        if ($h['type'] === 6) {
            $out .= substr($content, 0, $h['length']);
        } elseif ($h['type'] === 3) {
            break;
        }
    }
    fclose($conn);
    return $out;
}
