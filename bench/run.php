<?php
// The benchmark driver; run it with bench/daemon.sh, which checks the build first.
//
//   php bench/run.php SO
//
// 1. submitItem() cost per item, side by side in one run: nothing (the loop
//    alone), the polyfill, the extension's shutdown runner, the extension's
//    daemon runner (with the daemon running); each in a fresh CLI process.
// 2. Daemon throughput: 4 producers hand 10-key records to a daemon with 2
//    workers and a no-op callable (batchSize 1000); from the first submit to the
//    daemon's last call, read from its status (delivered count, lastFlushAt).
declare(strict_types=1);

const ROUNDS = 200;
const PER_ROUND = 1000;
const PRODUCERS = 4;
const PER_PRODUCER = 250000;
const THROUGHPUT_RUNS = 3;

$so = $argv[1] ?? '';
$root = dirname(__DIR__);
$dir = rtrim(sys_get_temp_dir(), '/') . '/asyncbatch-bench-' . getmypid();
@mkdir($dir, 0700);
$spool = "$dir/spool";
$key = (crc32($spool) & 0x7fffffff) ?: 1;
$ini = [
    'asyncbatch.spool_dir' => $spool,
    'asyncbatch.failure_dir' => "$dir/failed",
    'asyncbatch.queue_key' => (string) $key,
    'error_log' => "$dir/php-errors.log",
    'log_errors' => '1',
    'display_errors' => 'stderr',
];

/** The argv of a PHP process with $load (ext, polyfill, none) and the bench settings. */
function php(string $load, array $ini, string $runner): array
{
    global $so, $root;
    // No php.ini: every side runs with the same (built-in) settings and modules.
    $args = [PHP_BINARY, '-n'];
    if ($load === 'ext') {
        array_push($args, '-d', "extension=$so");
    } elseif ($load === 'polyfill') {
        array_push($args, '-d', "auto_prepend_file=$root/php/autoload.php");
    }
    foreach ($ini + ['asyncbatch.runner' => $runner] as $k => $v) {
        array_push($args, '-d', "$k=$v");
    }
    return $args;
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

function json_or_die(array $r, string $what): array
{
    $j = json_decode(trim($r[1]), true);
    if ($r[0] !== 0 || !is_array($j)) {
        fwrite(STDERR, "bench: $what failed (exit $r[0]):\n$r[1]$r[2]");
        exit(1);
    }
    return $j;
}

$daemon = null;
function start_daemon(): void
{
    global $daemon, $ini, $root, $spool, $dir;
    $argv = array_merge(['setsid'], php('ext', $ini, 'daemon'), [
        "$root/php/bin/asyncbatch", 'daemon', '--bootstrap', "$root/bench/noop-jobs.php", '--workers', '2',
        '--log', "$dir/daemon.log",
    ]);
    $daemon = proc_open($argv, [0 => ['file', '/dev/null', 'r'], 1 => ['file', "$dir/daemon.out", 'a'],
        2 => ['file', "$dir/daemon.out", 'a']], $pipes);
    $pid = proc_get_status($daemon)['pid'];
    for ($i = 0; $i < 200; $i++) {
        $s = @json_decode((string) @file_get_contents("$spool/daemon.status"), true);
        if (is_array($s) && ($s['pid'] ?? 0) === $pid && count($s['workers'] ?? []) === 2) {
            return;
        }
        usleep(50000);
    }
    fwrite(STDERR, "bench: the daemon did not start:\n" . @file_get_contents("$dir/daemon.out")
        . @file_get_contents("$dir/daemon.log"));
    exit(1);
}

function stop_daemon(): void
{
    global $daemon;
    if ($daemon === null) {
        return;
    }
    $pid = proc_get_status($daemon)['pid'];
    posix_kill($pid, SIGTERM);
    for ($i = 0; $i < 150 && proc_get_status($daemon)['running']; $i++) {
        usleep(100000);
    }
    posix_kill(-$pid, SIGKILL);
    proc_close($daemon);
    $daemon = null;
}

register_shutdown_function(static function () use ($dir, $key): void {
    stop_daemon();
    if (function_exists('msg_queue_exists') && msg_queue_exists($key)) {
        msg_remove_queue(msg_get_queue($key));
    } else {
        exec(sprintf('ipcrm -Q %d 2>/dev/null', $key));
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

// ---------------------------------------------------------------------------
printf("asyncbatch benchmark: PHP %s, %d cores, %s\n", PHP_VERSION, (int) shell_exec('nproc'), php_uname('r'));
printf("extension: %s\n", $so);
printf("kernel.msgmax %s, kernel.msgmnb %s\n\n", trim((string) @file_get_contents('/proc/sys/kernel/msgmax')),
    trim((string) @file_get_contents('/proc/sys/kernel/msgmnb')));

echo "1. submitItem() per item, median of ", ROUNDS, " rounds of ", PER_ROUND, " submits (flush untimed between rounds)\n\n";
$sides = [
    'nothing (the loop alone)' => ['none', 'shutdown', 'none'],
    'polyfill (pure PHP)' => ['polyfill', 'shutdown', 'submit'],
    'extension, shutdown runner' => ['ext', 'shutdown', 'submit'],
    'extension, daemon runner' => ['ext', 'daemon', 'submit'],
];
$results = [];
foreach ($sides as $name => [$load, $runner, $mode]) {
    if ($runner === 'daemon') {
        start_daemon();
    }
    $argv = array_merge(php($load, $ini, $runner), ["$root/bench/submit.php", $mode, (string) ROUNDS, (string) PER_ROUND]);
    $results[$name] = json_or_die(run($argv), $name);
    if (($results[$name]['dropped'] ?? 0) > 0) {
        fwrite(STDERR, "bench: $name dropped items\n");
    }
}
$loop = $results['nothing (the loop alone)'];
$fmt = static fn (float $ns): string => $ns >= 1000 ? sprintf('%.2f µs', $ns / 1000) : sprintf('%.0f ns', $ns);
printf("  %-28s %22s %22s\n", '', '10-key record', '120-byte string');
printf("  %-28s %11s %10s %11s %10s\n", '', 'measured', 'net', 'measured', 'net');
foreach ($results as $name => $r) {
    $isLoop = $name === 'nothing (the loop alone)';
    printf(
        "  %-28s %11s %10s %11s %10s\n",
        $name,
        $fmt($r['record']['median']),
        $isLoop ? '' : $fmt(max(0.0, $r['record']['median'] - $loop['record']['median'])),
        $fmt($r['string']['median']),
        $isLoop ? '' : $fmt(max(0.0, $r['string']['median'] - $loop['string']['median'])),
    );
}
$net = static fn (string $side, string $kind): float
    => max(1e-9, $results[$side][$kind]['median'] - $loop[$kind]['median']);
printf(
    "\n  polyfill / shutdown runner: %.1fx (record), %.1fx (string); polyfill / daemon runner: %.1fx, %.1fx\n",
    $net('polyfill (pure PHP)', 'record') / $net('extension, shutdown runner', 'record'),
    $net('polyfill (pure PHP)', 'string') / $net('extension, shutdown runner', 'string'),
    $net('polyfill (pure PHP)', 'record') / $net('extension, daemon runner', 'record'),
    $net('polyfill (pure PHP)', 'string') / $net('extension, daemon runner', 'string'),
);
echo "  (net: minus the loop alone; targets: shutdown <= 150 ns, daemon <= 250 ns, at most half the polyfill's)\n\n";

// ---------------------------------------------------------------------------
printf("2. Daemon throughput: %d producers x %s records, 2 workers, no-op callable, batchSize 1000\n\n",
    PRODUCERS, number_format(PER_PRODUCER));
$delivered = static function () use ($spool): array {
    $s = json_decode((string) @file_get_contents("$spool/daemon.status"), true);
    return [(int) ($s['jobs']['bench']['delivered'] ?? 0), (float) ($s['jobs']['bench']['lastFlushAt'] ?? 0)];
};
$rates = [];
for ($run = 1; $run <= THROUGHPUT_RUNS; $run++) {
    [$before] = $delivered();
    $total = PRODUCERS * PER_PRODUCER;
    $procs = [];
    for ($p = 1; $p <= PRODUCERS; $p++) {
        $argv = array_merge(php('ext', $ini, 'daemon'), ["$root/bench/produce.php", (string) $p, (string) PER_PRODUCER]);
        $procs[] = proc_open($argv, [0 => ['file', '/dev/null', 'r'], 1 => ['pipe', 'w'], 2 => ['pipe', 'w']], $pipes);
        $outs[] = $pipes;
    }
    $reports = [];
    foreach ($procs as $i => $proc) {
        $out = stream_get_contents($outs[$i][1]);
        $err = stream_get_contents($outs[$i][2]);
        fclose($outs[$i][1]);
        fclose($outs[$i][2]);
        $reports[] = json_or_die([proc_close($proc), $out, $err], 'a producer');
    }
    $outs = [];
    $deadline = microtime(true) + 60;
    do {
        usleep(50000);
        [$now, $lastCall] = $delivered();
    } while ($now - $before < $total && microtime(true) < $deadline);
    if ($now - $before < $total) {
        fwrite(STDERR, sprintf("bench: the daemon delivered %d of %d within 60 s\n", $now - $before, $total));
        exit(1);
    }
    $first = min(array_column($reports, 'first'));
    $submitEnd = max(array_column($reports, 'last'));
    $spooled = array_sum(array_map(static fn ($r) => $r['stats']['spooled'], $reports));
    $elapsed = $lastCall - $first;
    $rates[] = $total / $elapsed;
    printf(
        "  run %d: %s items in %.2f s = %s items/s (producers submitted for %.2f s; %.0f%% went through the spool)\n",
        $run,
        number_format($total),
        $elapsed,
        number_format($total / $elapsed),
        $submitEnd - $first,
        100 * $spooled / $total,
    );
}
sort($rates);
printf("\n  median: %s items/s (target: >= 1,000,000 on 2 cores)\n", number_format($rates[intdiv(count($rates), 2)]));
stop_daemon();
