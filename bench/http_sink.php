<?php
// The driver of the HTTP sink benchmark; run it with bench/http_sink.sh, which
// checks the build and builds the test server first.
//
//   php bench/http_sink.php SO SERVER_BINARY
//
// Starts the counting HTTP server (tests/examples/http_sink_server.rs), three
// php-fpm masters (no asyncbatch; the polyfill; the extension, loaded before the
// fork as in production), all behind one nginx on loopback, and drives
// bench/http-sink-page.php with wrk: (a) no logging, (b) the polyfill's HttpSink,
// (c) the extension's HttpSink, in turn: at full load (CONNECTIONS connections,
// every core busy; ROUNDS rounds) and at light load (one connection: one request
// at a time). Prints requests/s and latency percentiles side by side, and the
// items the server received per second, and where the CPU time went (per page: the
// workers' request threads, their HTTP sender threads, the server).
declare(strict_types=1);

const ROUNDS = 2;
const SECONDS = 6;
const WARMUP_SECONDS = 2;
const CONNECTIONS = 8;
const LIGHT_CONNECTIONS = 1;
const FPM_CHILDREN = 4;
const ITEMS_PER_PAGE = 20;
const VARIANTS = [
    'none' => '(a) no logging',
    'build' => "(a') records built, not sent",
    'polyfill' => '(b) polyfill HttpSink',
    'extension' => '(c) extension HttpSink',
];

[, $so, $serverBinary] = $argv;
$root = dirname(__DIR__);
$dir = rtrim(sys_get_temp_dir(), '/') . '/asyncbatch-bench-http-' . getmypid();
@mkdir($dir, 0700);
@mkdir("$dir/tmp", 0700);
$isRoot = posix_geteuid() === 0;
/** @var list<resource> processes to stop at the end */
$processes = [];

register_shutdown_function(static function () use (&$processes, $dir): void {
    foreach (array_reverse($processes) as $p) {
        $status = proc_get_status($p);
        if ($status['running']) {
            // Their own process groups: php-fpm's workers and nginx's go too.
            posix_kill(-$status['pid'], SIGTERM);
            posix_kill($status['pid'], SIGTERM);
        }
    }
    usleep(300000);
    foreach ($processes as $p) {
        $status = proc_get_status($p);
        if ($status['running']) {
            posix_kill(-$status['pid'], SIGKILL);
        }
        proc_close($p);
    }
    exec('rm -rf ' . escapeshellarg($dir));
});

// Ctrl-C or a kill ends the run through exit(), so the shutdown function above
// still stops what was started.
if (function_exists('pcntl_async_signals')) {
    pcntl_async_signals(true);
    foreach ([SIGINT, SIGTERM, SIGHUP] as $signal) {
        pcntl_signal($signal, static function (): never {
            exit(130);
        });
    }
}

function fail(string $message): never
{
    fwrite(STDERR, "bench: $message\n");
    exit(1);
}

/** Starts a process in its own process group, output to $log. */
function start(array $argv, string $log): mixed
{
    global $processes;
    $cmd = 'exec setsid ' . implode(' ', array_map('escapeshellarg', $argv));
    $p = proc_open($cmd, [0 => ['file', '/dev/null', 'r'], 1 => ['file', $log, 'a'], 2 => ['file', $log, 'a']], $pipes);
    if ($p === false) {
        fail('cannot start ' . $argv[0]);
    }
    $processes[] = $p;
    return $p;
}

function waitFor(callable $ready, float $timeout, string $what, string $log): void
{
    $deadline = microtime(true) + $timeout;
    while (!$ready()) {
        if (microtime(true) > $deadline) {
            fail("$what did not come up:\n" . @file_get_contents($log));
        }
        usleep(20000);
    }
}

function freePort(): int
{
    $s = stream_socket_server('tcp://127.0.0.1:0');
    $name = stream_socket_get_name($s, false);
    fclose($s);
    return (int) substr($name, strrpos($name, ':') + 1);
}

/** [requests, items, bytes] the server received so far. */
function serverCounts(string $file): array
{
    $parts = explode(' ', trim((string) @file_get_contents($file)));
    return count($parts) === 3 ? array_map('intval', $parts) : [0, 0, 0];
}

/** Child processes of $pid (php-fpm's workers). */
function children(int $pid): array
{
    $kids = [];
    foreach (glob('/proc/[0-9]*/stat') ?: [] as $f) {
        $stat = (string) @file_get_contents($f);
        $fields = explode(' ', substr($stat, (int) strrpos($stat, ')') + 2));
        if ((int) ($fields[1] ?? 0) === $pid) {
            $kids[] = (int) basename(dirname($f));
        }
    }
    return $kids;
}

/** utime + stime, in clock ticks, of a /proc/.../stat file, and the name in it. */
function statTicks(string $file): ?array
{
    $stat = (string) @file_get_contents($file);
    $open = strpos($stat, '(');
    $close = strrpos($stat, ')');
    if ($open === false || $close === false) {
        return null;
    }
    // Fields from the state on: utime and stime are the 12th and 13th.
    $fields = explode(' ', substr($stat, $close + 2));
    return [substr($stat, $open + 1, $close - $open - 1), (int) $fields[11] + (int) $fields[12]];
}

/**
 * CPU seconds (user + system) of the processes $pids: ['all' => everything they
 * used (threads that ended included), 'sender' => asyncbatch's HTTP sender threads].
 */
function cpuSeconds(array $pids): array
{
    static $tick = null;
    $tick ??= 1 / max(1, (int) trim((string) shell_exec('getconf CLK_TCK')));
    $cpu = ['all' => 0.0, 'sender' => 0.0];
    foreach ($pids as $pid) {
        $cpu['all'] += (statTicks("/proc/$pid/stat")[1] ?? 0) * $tick;
        foreach (glob("/proc/$pid/task/[0-9]*/stat") ?: [] as $f) {
            [$comm, $ticks] = statTicks($f) ?? ['', 0];
            if ($comm === 'asyncbatch-http') {
                $cpu['sender'] += $ticks * $tick;
            }
        }
    }
    return $cpu;
}

// The HTTP server.
$stats = "$dir/server.stats";
$serverProcess = start([$serverBinary, '--listen', '127.0.0.1:0', '--stats', $stats], "$dir/server.out");
$addr = null;
waitFor(function () use ($dir, &$addr): bool {
    if (preg_match('/listening on (\S+)/', (string) @file_get_contents("$dir/server.out"), $m)) {
        $addr = $m[1];
    }
    return $addr !== null;
}, 10, 'the HTTP server', "$dir/server.out");
$sinkUrl = "http://$addr/ingest";

// The php-fpm masters.
$fpmBinary = trim((string) shell_exec('command -v php-fpm8.2 || command -v php-fpm || ls /usr/sbin/php-fpm8.2 2>/dev/null'));
/** @var array<string, int> php-fpm master pid per variant */
$masters = [];
foreach (array_keys(VARIANTS) as $v) {
    $sock = "$dir/fpm-$v.sock";
    $conf = "[global]\nerror_log = $dir/fpm-$v.log\ndaemonize = no\n\n[bench]\n";
    if ($isRoot) {
        $conf .= "user = root\ngroup = root\n";
    }
    $conf .= "listen = $sock\npm = static\npm.max_children = " . FPM_CHILDREN . "\n"
        . "clear_env = yes\n"
        . match ($v) { 'none' => '', 'build' => "env[AB_BENCH_BUILD] = 1\n", default => "env[AB_BENCH_SINK] = $sinkUrl\n" }
        . "php_admin_value[error_log] = $dir/php-$v.log\nphp_admin_value[log_errors] = On\n"
        . "php_admin_value[asyncbatch.spool_dir] = $dir/spool-$v\n"
        . "php_admin_value[asyncbatch.failure_dir] = $dir/failed-$v\n";
    if ($v === 'polyfill') {
        $conf .= "php_admin_value[auto_prepend_file] = $root/php/autoload.php\n";
    }
    file_put_contents("$dir/fpm-$v.conf", $conf);
    $argv = [$fpmBinary, '--nodaemonize', '--fpm-config', "$dir/fpm-$v.conf"];
    if ($isRoot) {
        $argv[] = '--allow-to-run-as-root';
    }
    if ($v === 'extension') {
        array_push($argv, '-d', "extension=$so", '-d', 'asyncbatch.runner=shutdown',
            '-d', "asyncbatch.spool_dir=$dir/spool-$v", '-d', "asyncbatch.failure_dir=$dir/failed-$v");
    }
    $p = start($argv, "$dir/fpm-$v.out");
    waitFor(fn () => file_exists($sock) || !proc_get_status($p)['running'], 15, "php-fpm ($v)", "$dir/fpm-$v.out");
    if (!proc_get_status($p)['running']) {
        fail("php-fpm ($v) exited:\n" . @file_get_contents("$dir/fpm-$v.out"));
    }
    $masters[$v] = proc_get_status($p)['pid'];
}

// nginx in front of them.
$port = freePort();
$locations = '';
foreach (array_keys(VARIANTS) as $v) {
    $locations .= "        location = /$v {\n"
        . "            include /etc/nginx/fastcgi_params;\n"
        . "            fastcgi_param SCRIPT_FILENAME $root/bench/http-sink-page.php;\n"
        . "            fastcgi_pass unix:$dir/fpm-$v.sock;\n"
        . "        }\n";
}
$nginxConf = ($isRoot ? "user root root;\n" : '') . <<<NGINX
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
file_put_contents("$dir/nginx.conf", $nginxConf);
start(['nginx', '-p', $dir, '-c', "$dir/nginx.conf", '-e', "$dir/nginx-error.log"], "$dir/nginx.out");
waitFor(fn () => @fsockopen('127.0.0.1', $port) !== false, 10, 'nginx', "$dir/nginx-error.log");
foreach (array_keys(VARIANTS) as $v) {
    $body = @file_get_contents("http://127.0.0.1:$port/$v");
    if (!is_string($body) || !str_contains($body, '<ul>')) {
        fail("the page does not answer on /$v:\n" . @file_get_contents("$dir/php-$v.log") . @file_get_contents("$dir/nginx-error.log"));
    }
}

/** Runs wrk; returns requests/s, requests, and latency percentiles in ms. */
function wrk(string $url, int $seconds, int $connections): array
{
    $out = (string) shell_exec(sprintf('wrk -t1 -c%d -d%ds --latency %s 2>&1', $connections, $seconds, escapeshellarg($url)));
    $ms = static function (string $v, string $unit): float {
        return (float) $v * ['us' => 0.001, 'ms' => 1.0, 's' => 1000.0, 'm' => 60000.0][$unit];
    };
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

printf(
    "asyncbatch HttpSink benchmark: nginx + php-fpm (%d static workers per variant) on loopback, %d cores;\n"
    . "wrk -t1, %d s per run, variants in turn; the page logs %d records to a sink at %s\n",
    FPM_CHILDREN,
    (int) trim((string) shell_exec('nproc')),
    SECONDS,
    ITEMS_PER_PAGE,
    $sinkUrl,
);
foreach (array_keys(VARIANTS) as $v) {
    wrk("http://127.0.0.1:$port/$v", WARMUP_SECONDS, CONNECTIONS);
}
usleep(1500000);

/** Runs every variant $rounds times with $connections; prints each run, returns the runs per variant. */
function measure(int $port, string $stats, int $connections, int $rounds): array
{
    global $masters, $serverProcess;
    $serverPid = proc_get_status($serverProcess)['pid'];
    $results = [];
    for ($round = 1; $round <= $rounds; $round++) {
        foreach (array_keys(VARIANTS) as $v) {
            $workers = children($masters[$v]);
            [$postsBefore, $itemsBefore] = serverCounts($stats);
            $cpuBefore = cpuSeconds($workers);
            $serverBefore = cpuSeconds([$serverPid])['all'];
            $r = wrk("http://127.0.0.1:$port/$v", SECONDS, $connections);
            [$postsDuring, $itemsDuring] = serverCounts($stats);
            // What was still pending (the extension's last batch, callPeriod 0.5 s).
            usleep(1200000);
            [, $itemsAfter] = serverCounts($stats);
            // CPU per page, the tail included (the sender posts its last batch then).
            $cpuAfter = cpuSeconds($workers);
            $pages = max(1, $r['requests']);
            $r['cpuSender'] = 1e6 * ($cpuAfter['sender'] - $cpuBefore['sender']) / $pages;
            $r['cpuMain'] = 1e6 * ($cpuAfter['all'] - $cpuBefore['all']) / $pages - $r['cpuSender'];
            $r['cpuServer'] = 1e6 * (cpuSeconds([$serverPid])['all'] - $serverBefore) / $pages;
            $r['itemsPerSecond'] = ($itemsDuring - $itemsBefore) / SECONDS;
            $r['itemsPerPost'] = $postsDuring > $postsBefore ? ($itemsDuring - $itemsBefore) / ($postsDuring - $postsBefore) : 0;
            $r['submitted'] = $v === 'none' ? 0 : $r['requests'] * ITEMS_PER_PAGE;
            $r['received'] = $itemsAfter - $itemsBefore;
            $results[$v][] = $r;
            printf("  run %d %-29s %8.0f req/s  p50 %6.2f ms  p99 %6.2f ms  %9.0f items/s to the server, %.0f per POST\n",
                $round, VARIANTS[$v], $r['rps'], $r['p50'], $r['p99'], $r['itemsPerSecond'], $r['itemsPerPost']);
        }
    }
    return $results;
}

function report(string $title, array $results): void
{
    $mean = static fn (array $rs, string $k): float => array_sum(array_column($rs, $k)) / count($rs);
    echo "\n$title\n", str_pad('', 30), sprintf("%10s %10s %10s %10s %14s %20s\n", 'req/s', 'p50 ms', 'p90 ms', 'p99 ms', 'items/s recv', 'received/submitted');
    foreach (VARIANTS as $v => $label) {
        $rs = $results[$v];
        $submitted = array_sum(array_column($rs, 'submitted'));
        $received = array_sum(array_column($rs, 'received'));
        $errors = array_sum(array_column($rs, 'errors'));
        printf(
            "%-30s%10.0f %10.2f %10.2f %10.2f %14.0f %20s%s\n",
            $label,
            $mean($rs, 'rps'),
            $mean($rs, 'p50'),
            $mean($rs, 'p90'),
            $mean($rs, 'p99'),
            $mean($rs, 'itemsPerSecond'),
            in_array($v, ['none', 'build'], true) ? '-' : sprintf('%d/%d', $received, $submitted),
            $errors > 0 ? "  ($errors errors)" : '',
        );
    }
    foreach (['none' => '(a)', 'build' => "(a')"] as $base => $name) {
        $a = $results[$base];
        foreach (['polyfill', 'extension'] as $v) {
            printf(
                "%s vs %-4s req/s %+.1f%%, p50 %+.1f%%, p99 %+.1f%%\n",
                substr(VARIANTS[$v], 0, 3),
                "$name:",
                100 * ($mean($results[$v], 'rps') / $mean($a, 'rps') - 1),
                100 * ($mean($results[$v], 'p50') / $mean($a, 'p50') - 1),
                100 * ($mean($results[$v], 'p99') / $mean($a, 'p99') - 1),
            );
        }
    }
    printf("(a') builds the same 20 records and drops them: (c) vs (a') is what asyncbatch itself costs the page.\n");
    echo "\nCPU per page, in microseconds (user + system, 10 ms ticks):\n", str_pad('', 30),
        sprintf("%16s %16s %16s\n", 'php-fpm request', 'HTTP sender', 'test server');
    foreach (VARIANTS as $v => $label) {
        printf("%-30s%16.1f %16.1f %16.1f\n", $label, $mean($results[$v], 'cpuMain'), $mean($results[$v], 'cpuSender'), $mean($results[$v], 'cpuServer'));
    }
}

printf("\nfull load: %d connections\n", CONNECTIONS);
$full = measure($port, $stats, CONNECTIONS, ROUNDS);
printf("\nlight load: %d connection (one request at a time)\n", LIGHT_CONNECTIONS);
$light = measure($port, $stats, LIGHT_CONNECTIONS, 1);
report(sprintf('full load (%d connections, mean of %d runs):', CONNECTIONS, ROUNDS), $full);
report(sprintf('light load (%d connection):', LIGHT_CONNECTIONS), $light);
echo "\n(received counts the items that reached the server during and up to 1.2 s after each run; submitted,\n"
    . "the pages wrk saw answered x 20: pages still running when wrk stopped make received a little larger)\n";
