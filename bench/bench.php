<?php
// The benchmark driver; run it with bench/run.sh, which builds first.
//
//   php bench/bench.php SO SERVER_BINARY [submit] [pages] [throughput] [redis] [instructions]
//
// Sections (all by default), each measured side by side in this one run:
//
//   submit      submitItem() per item, each side in a fresh CLI process: nothing
//               (the loop alone), the polyfill, the extension's shutdown runner,
//               its daemon runner.
//   pages       a php-fpm page behind nginx that logs 20 records, driven by wrk at
//               full load and one request at a time: no logging; the records built
//               and dropped; the polyfill; the extension with the shutdown runner,
//               the daemon runner and an HttpSink; the polyfill's HttpSink. Prints
//               requests/s, latency, where the CPU time went, and the memory of the
//               php-fpm workers with and without the extension.
//   throughput  the daemon: 4 producers hand it 10-key records; items/s to a
//               no-op callable.
//   redis       the same records through Redis: 4 producers, a forwarding daemon,
//               a redis-server on loopback (appendfsync always), a consumer with a
//               no-op callable; items/s end to end, beside the single-host daemon's.
//   instructions  the pages' variants and two peers counted by callgrind, per
//               request (bench/instructions.php).
declare(strict_types=1);

require __DIR__ . '/lib.php';

// AB_BENCH_QUICK=1: a shorter, rougher run (to try the set-up).
$quick = (bool) getenv('AB_BENCH_QUICK');
define('SUBMIT_ROUNDS', $quick ? 30 : 200);
const PER_ROUND = 1000;
define('PAGE_ROUNDS', $quick ? 1 : 2);
define('PAGE_SECONDS', $quick ? 2 : 6);
const WARMUP_SECONDS = 2;
const CONNECTIONS = 8;
const FPM_CHILDREN = 4;
const ITEMS_PER_PAGE = 20;
const PRODUCERS = 4;
define('PER_PRODUCER', $quick ? 50000 : 250000);
define('THROUGHPUT_RUNS', $quick ? 1 : 3);
const DAEMON_WORKERS = 2;

/** Page variants: label, what PHP loads (none, polyfill, ext), runner, page mode. */
const VARIANTS = [
    'none' => ['(a) no logging', 'none', 'shutdown', 'none'],
    'build' => ["(a') records built, dropped", 'none', 'shutdown', 'build'],
    'polyfill' => ['(b) polyfill, shutdown runner', 'polyfill', 'shutdown', 'count'],
    'shutdown' => ['(c) extension, shutdown runner', 'ext', 'shutdown', 'count'],
    'daemon' => ['(d) extension, daemon runner', 'ext', 'daemon', 'count'],
    'sink' => ['(e) extension, HttpSink', 'ext', 'shutdown', 'sink'],
    'polyfill-sink' => ['(f) polyfill, HttpSink', 'polyfill', 'shutdown', 'sink'],
];

require __DIR__ . '/instructions.php';

[, $so, $serverBinary] = $argv + [null, '', ''];
const SECTIONS = ['submit', 'pages', 'throughput', 'redis', 'instructions'];
$sections = array_slice($argv, 3) ?: SECTIONS;
foreach ($sections as $s) {
    if (!in_array($s, SECTIONS, true)) {
        fail("unknown section '$s' (sections: " . implode(', ', SECTIONS) . ')');
    }
}
$root = dirname(__DIR__);
$dir = rtrim(sys_get_temp_dir(), '/') . '/asyncbatch-bench-' . getmypid();
@mkdir($dir, 0700);
cleanup_at_exit($dir);
$isRoot = posix_geteuid() === 0;

// The daemon's spool and queue, shared by the daemon runner's pages and producers.
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
register_shutdown_function(static function () use ($key): void {
    // After the daemon stopped (the earlier shutdown function): its queue goes too.
    if (function_exists('msg_queue_exists') && msg_queue_exists($key)) {
        msg_remove_queue(msg_get_queue($key));
    } else {
        exec(sprintf('ipcrm -Q %d 2>/dev/null', $key));
    }
});

/** The argv of a PHP CLI process with $load (ext, polyfill, none), $ini and $runner. */
function php_cli(string $load, array $ini, string $runner): array
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

/** The daemon's status file, or null. */
function daemon_status(): ?array
{
    global $spool;
    $s = json_decode((string) @file_get_contents("$spool/daemon.status"), true);
    return is_array($s) ? $s : null;
}

/** Starts the daemon (once) with bench/daemon-jobs.php; returns its pid. */
function daemon(): int
{
    static $pid = null;
    global $ini, $root, $dir;
    if ($pid !== null) {
        return $pid;
    }
    @mkdir("$dir/count-daemon", 0700);
    $argv = array_merge(php_cli('ext', $ini, 'daemon'), [
        "$root/php/bin/asyncbatch", 'daemon', '--bootstrap', "$root/bench/daemon-jobs.php",
        '--workers', (string) DAEMON_WORKERS, '--log', "$dir/daemon.log",
    ]);
    $pid = start($argv, "$dir/daemon.out", ['AB_BENCH_COUNT_DIR' => "$dir/count-daemon"] + getenv());
    wait_for(static function () use ($pid): bool {
        $s = daemon_status();
        return $s !== null && ($s['pid'] ?? 0) === $pid && count($s['workers'] ?? []) === DAEMON_WORKERS;
    }, 15, 'the daemon', "$dir/daemon.out");
    return $pid;
}

/** The machine, for the record. */
function machine(): string
{
    $cpu = preg_match('/^model name\s*:\s*(.+)$/m', (string) @file_get_contents('/proc/cpuinfo'), $m) ? trim($m[1]) : 'unknown CPU';
    $mem = preg_match('/^MemTotal:\s+(\d+) kB/m', (string) @file_get_contents('/proc/meminfo'), $n) ? round((int) $n[1] / 1048576) : 0;
    $os = preg_match('/^PRETTY_NAME="(.+)"$/m', (string) @file_get_contents('/etc/os-release'), $o) ? $o[1] : PHP_OS;
    return sprintf('%s, %d cores (%s), %d GiB, Linux %s, PHP %s', $os, (int) shell_exec('nproc'), $cpu, $mem, php_uname('r'), PHP_VERSION);
}

printf("asyncbatch benchmark, %s\n", date('Y-m-d H:i'));
printf("machine: %s\n", machine());
printf("extension: %s\n", $so);

foreach ($sections as $section) {
    match ($section) {
        'submit' => section_submit(),
        'pages' => section_pages(),
        'throughput' => section_throughput(),
        'redis' => section_redis(),
        'instructions' => section_instructions(),
    };
}

// ---------------------------------------------------------------------------

function section_submit(): void
{
    global $ini, $root;
    printf("\n1. submitItem() per item: median of %d rounds of %d submits, each side in a fresh CLI process\n\n", SUBMIT_ROUNDS, PER_ROUND);
    $sides = [
        'nothing (the loop alone)' => ['none', 'shutdown', 'none'],
        'polyfill' => ['polyfill', 'shutdown', 'submit'],
        'extension, shutdown runner' => ['ext', 'shutdown', 'submit'],
        'extension, daemon runner' => ['ext', 'daemon', 'submit'],
    ];
    $results = [];
    foreach ($sides as $name => [$load, $runner, $mode]) {
        if ($runner === 'daemon') {
            daemon();
        }
        $argv = array_merge(php_cli($load, $ini, $runner), ["$root/bench/submit.php", $mode, (string) SUBMIT_ROUNDS, (string) PER_ROUND]);
        $results[$name] = json_or_die(run($argv), $name);
        if (($results[$name]['dropped'] ?? 0) > 0) {
            fail("$name dropped items");
        }
    }
    $loop = $results['nothing (the loop alone)'];
    $net = static fn (string $side, string $kind): float => max(1e-9, $results[$side][$kind]['median'] - $loop[$kind]['median']);
    $ns = static fn (float $v): string => $v >= 1000 ? sprintf('%.2f µs', $v / 1000) : sprintf('%.0f ns', $v);
    printf("  %-28s %12s %12s %12s\n", '', '10-key record', '120-byte str', 'vs polyfill');
    foreach ($results as $name => $r) {
        if ($name === 'nothing (the loop alone)') {
            printf("  %-28s %12s %12s\n", $name, $ns($r['record']['median']), $ns($r['string']['median']));
            continue;
        }
        printf(
            "  %-28s %12s %12s %12s\n",
            $name,
            $ns($net($name, 'record')),
            $ns($net($name, 'string')),
            $name === 'polyfill' ? '1.0x' : sprintf('%.1fx less', $net('polyfill', 'record') / $net($name, 'record')),
        );
    }
    echo "  (net of the loop alone; targets: a record in <= 150 ns with the shutdown runner, <= 250 ns with the\n"
        . "  daemon runner, and at most half the polyfill's cost)\n";
}

// ---------------------------------------------------------------------------

function section_pages(): void
{
    global $dir, $root, $so, $ini, $isRoot, $serverBinary;
    foreach (['nginx', 'wrk'] as $tool) {
        if (trim((string) shell_exec('command -v ' . escapeshellarg($tool))) === '') {
            fail("$tool not found; run bash scripts/deps.sh");
        }
    }
    // The HttpSink's endpoint: counts what it receives.
    $serverStats = "$dir/server.stats";
    [$serverPid, $addr] = start_counting_server($serverBinary, $serverStats, "$dir/server.out");
    $sinkUrl = "http://$addr/ingest";
    $daemonPid = daemon();

    // One php-fpm master per variant, the extension loaded before the fork as in production.
    $fpm = trim((string) shell_exec('command -v php-fpm8.2 || command -v php-fpm || ls /usr/sbin/php-fpm8.2 2>/dev/null'));
    $masters = [];
    foreach (VARIANTS as $v => [, $load, $runner, $mode]) {
        $sock = "$dir/fpm-$v.sock";
        $countDir = $v === 'daemon' ? "$dir/count-daemon" : "$dir/count-$v";
        @mkdir($countDir, 0700);
        $conf = "[global]\nerror_log = $dir/fpm-$v.log\ndaemonize = no\n\n[bench]\n"
            . ($isRoot ? "user = root\ngroup = root\n" : '')
            . "listen = $sock\npm = static\npm.max_children = " . FPM_CHILDREN . "\nclear_env = yes\n"
            // Quoted: to an ini parser, none is an empty value.
            . "env[AB_BENCH_MODE] = \"$mode\"\nenv[AB_BENCH_SINK] = \"$sinkUrl\"\nenv[AB_BENCH_COUNT_DIR] = \"$countDir\"\n"
            . "php_admin_value[error_log] = $dir/php-$v.log\nphp_admin_value[log_errors] = On\n";
        file_put_contents("$dir/fpm-$v.conf", $conf);
        $argv = [$fpm, '--nodaemonize', '--fpm-config', "$dir/fpm-$v.conf"];
        if ($isRoot) {
            $argv[] = '--allow-to-run-as-root';
        }
        // asyncbatch's settings as -d: the polyfill reads them with get_cfg_var().
        $settings = $v === 'daemon' ? array_filter($ini, static fn (string $k): bool => str_starts_with($k, 'asyncbatch.'), ARRAY_FILTER_USE_KEY) : [
            'asyncbatch.spool_dir' => "$dir/spool-$v",
            'asyncbatch.failure_dir' => "$dir/failed-$v",
        ];
        foreach ($settings + ['asyncbatch.runner' => $runner] as $k => $val) {
            array_push($argv, '-d', "$k=$val");
        }
        if ($load === 'ext') {
            array_push($argv, '-d', "extension=$so");
        } elseif ($load === 'polyfill') {
            array_push($argv, '-d', "auto_prepend_file=$root/php/autoload.php");
        }
        $masters[$v] = start($argv, "$dir/fpm-$v.out");
    }
    foreach (VARIANTS as $v => $_) {
        wait_for(static fn (): bool => file_exists("$dir/fpm-$v.sock") || !is_running($masters[$v]), 15, "php-fpm ($v)", "$dir/fpm-$v.out");
        if (!is_running($masters[$v])) {
            fail("php-fpm ($v) exited:\n" . @file_get_contents("$dir/fpm-$v.out"));
        }
    }
    $workers = [];
    wait_for(static function () use ($masters, &$workers): bool {
        foreach ($masters as $v => $pid) {
            $workers[$v] = children($pid);
        }
        return min(array_map('count', $workers)) === FPM_CHILDREN;
    }, 10, 'the php-fpm workers', "$dir/fpm-none.out");

    // nginx in front of them.
    $port = free_port();
    $pages = [];
    foreach (VARIANTS as $v => $_) {
        $pages["/$v"] = ["$root/bench/page.php", "$dir/fpm-$v.sock"];
    }
    start_nginx($dir, $port, $pages);
    foreach (VARIANTS as $v => $_) {
        $body = @file_get_contents("http://127.0.0.1:$port/$v");
        if (!is_string($body) || !str_contains($body, '<ul>')) {
            fail("the page does not answer on /$v:\n" . @file_get_contents("$dir/php-$v.log") . @file_get_contents("$dir/nginx-error.log"));
        }
    }

    if (getenv('AB_BENCH_HOLD')) {
        // To profile a variant: the set-up stays up until Ctrl-C.
        printf("\nholding: http://127.0.0.1:%d/{%s}\n", $port, implode(',', array_keys(VARIANTS)));
        foreach ($masters as $v => $pid) {
            printf("  %-14s php-fpm master %d, workers %s\n", $v, $pid, implode(' ', $workers[$v]));
        }
        printf("  daemon %d\n", $daemonPid);
        while (true) {
            sleep(60);
        }
    }
    printf(
        "\n2. A php-fpm page logging %d records: nginx + php-fpm (%d static workers per variant) on loopback, driven\n"
        . "   by wrk (1 thread); %d s per run, the variants in turn; the HttpSinks post to a local counting server\n",
        ITEMS_PER_PAGE, FPM_CHILDREN, PAGE_SECONDS,
    );
    foreach (VARIANTS as $v => $_) {
        wrk("http://127.0.0.1:$port/$v", WARMUP_SECONDS, CONNECTIONS);
    }
    sleep(1);
    $rest = array_map(static fn (array $pids): array => array_map('memory_kib', $pids), $workers);

    $ctx = compact('port', 'workers', 'serverPid', 'serverStats', 'daemonPid');
    printf("\n   full load, %d connections:\n", CONNECTIONS);
    $full = page_runs($ctx, CONNECTIONS, PAGE_ROUNDS);
    printf("\n   light load, 1 connection (one request at a time):\n");
    $light = page_runs($ctx, 1, 1);
    $after = array_map(static fn (array $pids): array => array_map('memory_kib', $pids), $workers);

    page_report(sprintf('full load (%d connections, mean of %d runs)', CONNECTIONS, PAGE_ROUNDS), $full);
    page_report('light load (1 connection)', $light);
    memory_report($rest, $after);
}

/** Items delivered so far for variant $v: what its callables counted, or the server received. */
function delivered_items(string $v, string $serverStats): int
{
    global $dir;
    if (VARIANTS[$v][3] === 'sink') {
        $parts = explode(' ', trim((string) @file_get_contents($serverStats)));
        return count($parts) === 3 ? (int) $parts[1] : 0;
    }
    $dirName = $v === 'daemon' ? "$dir/count-daemon" : "$dir/count-$v";
    $n = 0;
    foreach (glob("$dirName/delivered-*") ?: [] as $f) {
        $n += array_sum(array_map('intval', file($f, FILE_IGNORE_NEW_LINES) ?: []));
    }
    return $n;
}

/** Runs every variant $rounds times with $connections; prints each run, returns the runs per variant. */
function page_runs(array $ctx, int $connections, int $rounds): array
{
    $results = [];
    for ($round = 1; $round <= $rounds; $round++) {
        foreach (VARIANTS as $v => [$label, , , $mode]) {
            // Delivery that happens outside php-fpm: the daemon, the HttpSinks' endpoint.
            $elsewhere = match (true) {
                $v === 'daemon' => process_tree($ctx['daemonPid']),
                $mode === 'sink' => [$ctx['serverPid']],
                default => [],
            };
            $itemsBefore = delivered_items($v, $ctx['serverStats']);
            $cpuBefore = cpu_seconds($ctx['workers'][$v]);
            $elsewhereBefore = cpu_seconds($elsewhere)['all'];
            $r = wrk("http://127.0.0.1:{$ctx['port']}/$v", PAGE_SECONDS, $connections);
            $itemsDuring = delivered_items($v, $ctx['serverStats']);
            // What was still pending (batches of 500, callPeriod 0.5 s).
            usleep(1200000);
            $cpuAfter = cpu_seconds($ctx['workers'][$v]);
            $pages = max(1, $r['requests']);
            $r['cpuThread'] = 1e6 * ($cpuAfter['asyncbatch'] - $cpuBefore['asyncbatch']) / $pages;
            $r['cpuRequest'] = 1e6 * ($cpuAfter['all'] - $cpuBefore['all']) / $pages - $r['cpuThread'];
            $r['cpuElsewhere'] = 1e6 * (cpu_seconds($elsewhere)['all'] - $elsewhereBefore) / $pages;
            $r['itemsPerSecond'] = ($itemsDuring - $itemsBefore) / PAGE_SECONDS;
            $r['submitted'] = $mode === 'none' || $mode === 'build' ? 0 : $r['requests'] * ITEMS_PER_PAGE;
            $r['received'] = delivered_items($v, $ctx['serverStats']) - $itemsBefore;
            $results[$v][] = $r;
            printf("   run %d %-32s %8.0f req/s  p50 %5.2f ms  p99 %5.2f ms  %8.0f items/s delivered\n",
                $round, $label, $r['rps'], $r['p50'], $r['p99'], $r['itemsPerSecond']);
        }
    }
    return $results;
}

function page_report(string $title, array $results): void
{
    $m = static fn (string $v, string $k): float => mean(array_column($results[$v], $k));
    echo "\n   $title\n";
    printf("   %-32s %8s %8s %8s %8s %7s %7s %20s\n", '', 'req/s', 'p50 ms', 'p90 ms', 'p99 ms', 'vs (a)', 'p99', 'delivered/submitted');
    foreach (VARIANTS as $v => [$label, , , $mode]) {
        $errors = array_sum(array_column($results[$v], 'errors'));
        printf(
            "   %-32s %8.0f %8.2f %8.2f %8.2f %7s %7s %20s%s\n",
            $label,
            $m($v, 'rps'),
            $m($v, 'p50'),
            $m($v, 'p90'),
            $m($v, 'p99'),
            $v === 'none' ? '' : sprintf('%+.0f%%', 100 * ($m($v, 'rps') / $m('none', 'rps') - 1)),
            $v === 'none' ? '' : sprintf('%+.0f%%', 100 * ($m($v, 'p99') / $m('none', 'p99') - 1)),
            $mode === 'none' || $mode === 'build' ? '-' : sprintf('%d/%d', array_sum(array_column($results[$v], 'received')), array_sum(array_column($results[$v], 'submitted'))),
            $errors > 0 ? "  ($errors errors)" : '',
        );
    }
    echo "\n   CPU time per page, µs (user + system; 10 ms ticks):\n";
    printf("   %-32s %16s %18s %18s\n", '', 'php-fpm request', 'asyncbatch thread', 'daemon or server');
    foreach (VARIANTS as $v => [$label]) {
        printf("   %-32s %16.1f %18.1f %18.1f\n", $label, $m($v, 'cpuRequest'), $m($v, 'cpuThread'), $m($v, 'cpuElsewhere'));
    }
}

function memory_report(array $rest, array $after): void
{
    $mib = static fn (array $mems, string $k): float => median(array_column($mems, $k)) / 1024;
    echo "\n   Memory per php-fpm worker, MiB, median of the pool's workers. PSS counts shared pages (code, the\n"
        . "   master's copy-on-write memory) in proportion; private pages are the worker's alone:\n";
    printf("   %-32s %22s %22s\n", '', 'after warm-up', 'after the runs');
    printf("   %-32s %6s %6s %8s %6s %6s %8s\n", '', 'RSS', 'PSS', 'private', 'RSS', 'PSS', 'private');
    foreach (VARIANTS as $v => [$label]) {
        printf(
            "   %-32s %6.1f %6.1f %8.1f %6.1f %6.1f %8.1f\n",
            $label,
            $mib($rest[$v], 'rss'), $mib($rest[$v], 'pss'), $mib($rest[$v], 'private'),
            $mib($after[$v], 'rss'), $mib($after[$v], 'pss'), $mib($after[$v], 'private'),
        );
    }
    printf(
        "   the extension at rest, (c) - (a) after warm-up: %+.1f MiB RSS, %+.1f MiB PSS, %+.1f MiB private per worker\n"
        . "   (target: <= 2 MiB)\n",
        $mib($rest['shutdown'], 'rss') - $mib($rest['none'], 'rss'),
        $mib($rest['shutdown'], 'pss') - $mib($rest['none'], 'pss'),
        $mib($rest['shutdown'], 'private') - $mib($rest['none'], 'private'),
    );
}

// ---------------------------------------------------------------------------

function section_throughput(): void
{
    global $ini;
    daemon();
    printf("\n3. Daemon throughput: %d producers x %s 10-key records, %d workers, no-op callable, batchSize 1000\n\n",
        PRODUCERS, number_format(PER_PRODUCER), DAEMON_WORKERS);
    $delivered = static function (): array {
        $s = daemon_status();
        return [(int) ($s['jobs']['bench']['delivered'] ?? 0), (float) ($s['jobs']['bench']['lastFlushAt'] ?? 0)];
    };
    $rates = [];
    for ($run = 1; $run <= THROUGHPUT_RUNS; $run++) {
        [$before] = $delivered();
        $total = PRODUCERS * PER_PRODUCER;
        $reports = run_producers($ini);
        $deadline = microtime(true) + 60;
        do {
            usleep(50000);
            [$now, $lastCall] = $delivered();
        } while ($now - $before < $total && microtime(true) < $deadline);
        if ($now - $before < $total) {
            fail(sprintf('the daemon delivered %d of %d within 60 s', $now - $before, $total));
        }
        $first = min(array_column($reports, 'first'));
        $spooled = array_sum(array_map(static fn ($r) => $r['stats']['spooled'], $reports));
        $elapsed = $lastCall - $first;
        $rates[] = $total / $elapsed;
        printf(
            "   run %d: %s items in %.2f s = %s items/s (producers submitted for %.2f s; %.0f%% went through the spool)\n",
            $run, number_format($total), $elapsed, number_format($total / $elapsed),
            max(array_column($reports, 'last')) - $first, 100 * $spooled / $total,
        );
    }
    printf("\n   median: %s items/s (target: >= 1,000,000 on 2 cores); kernel.msgmnb %s bytes\n",
        number_format(median($rates)), trim((string) @file_get_contents('/proc/sys/kernel/msgmnb')));
}

/** Producers of PER_PRODUCER records each, with $ini; their reports. */
function run_producers(array $ini): array
{
    global $root;
    $procs = [];
    $pipes = [];
    for ($p = 1; $p <= PRODUCERS; $p++) {
        $argv = array_merge(php_cli('ext', $ini, 'daemon'), ["$root/bench/produce.php", (string) $p, (string) PER_PRODUCER]);
        $procs[] = proc_open($argv, [0 => ['file', '/dev/null', 'r'], 1 => ['pipe', 'w'], 2 => ['pipe', 'w']], $io);
        $pipes[] = $io;
    }
    $reports = [];
    foreach ($procs as $i => $proc) {
        $out = stream_get_contents($pipes[$i][1]);
        $err = stream_get_contents($pipes[$i][2]);
        fclose($pipes[$i][1]);
        fclose($pipes[$i][2]);
        $reports[] = json_or_die([proc_close($proc), $out, $err], 'a producer');
    }
    return $reports;
}

function section_redis(): void
{
    global $dir, $root, $ini;
    if (trim((string) shell_exec('command -v redis-server')) === '') {
        fail('redis-server is not installed (scripts/deps.sh installs it)');
    }
    $port = free_port();
    @mkdir("$dir/redis", 0700);
    $redis = start(['redis-server', '--bind', '127.0.0.1', '--port', (string) $port, '--dir', "$dir/redis",
        '--appendonly', 'yes', '--appendfsync', 'always', '--save', '', '--logfile', 'redis.log'], "$dir/redis.out");
    wait_for(static fn (): bool => trim((string) shell_exec("redis-cli -p $port ping 2>/dev/null")) === 'PONG',
        15, 'redis-server', "$dir/redis.out");
    $url = "redis://127.0.0.1:$port/0";
    // The producing host: its own spool and queue, its daemon forwarding.
    $fspool = "$dir/fwd-spool";
    $fini = ['asyncbatch.spool_dir' => $fspool, 'asyncbatch.queue_key' => (string) ((crc32($fspool) & 0x7fffffff) ?: 1)] + $ini;
    $argv = array_merge(php_cli('ext', $fini, 'daemon'), ["$root/php/bin/asyncbatch", 'daemon', '--bootstrap',
        "$root/bench/daemon-jobs.php", '--workers', (string) DAEMON_WORKERS, '--log', "$dir/forward.log", '--forward', $url]);
    $forwarder = start($argv, "$dir/forward.out", getenv());
    // The consuming host.
    $cspool = "$dir/consume-spool";
    $cini = ['asyncbatch.spool_dir' => $cspool, 'asyncbatch.queue_key' => (string) ((crc32($cspool) & 0x7fffffff) ?: 1)] + $ini;
    @mkdir("$dir/count-consume", 0700);
    $argv = array_merge(php_cli('ext', $cini, 'daemon'), ["$root/php/bin/asyncbatch", 'consume', '--bootstrap',
        "$root/bench/daemon-jobs.php", '--workers', (string) DAEMON_WORKERS, '--log', "$dir/consume.log", '--redis', $url]);
    $consumer = start($argv, "$dir/consume.out", ['AB_BENCH_COUNT_DIR' => "$dir/count-consume"] + getenv());
    $status = static function (string $file): ?array {
        $s = json_decode((string) @file_get_contents($file), true);
        return is_array($s) ? $s : null;
    };
    foreach ([[$forwarder, "$fspool/daemon.status", 'the forwarding daemon'], [$consumer, "$cspool/consume.status", 'the consumer']] as [$pid, $file, $what]) {
        wait_for(static function () use ($pid, $file, $status): bool {
            $s = $status($file);
            return $s !== null && ($s['pid'] ?? 0) === $pid && count($s['workers'] ?? []) === DAEMON_WORKERS;
        }, 15, $what, "$dir/" . ($what === 'the consumer' ? 'consume' : 'forward') . '.out');
    }
    register_shutdown_function(static function () use ($forwarder, $consumer, $redis): void {
        foreach ([$forwarder, $consumer] as $pid) {
            posix_kill($pid, SIGTERM);
        }
        usleep(300000);
        posix_kill($redis, SIGKILL);
    });
    printf("\n4. Through Redis: %d producers x %s 10-key records -> forwarding daemon (%d workers) -> redis-server\n"
        . "   (loopback, appendfsync always) -> consumer (%d workers), no-op callable, batchSize 1000\n\n",
        PRODUCERS, number_format(PER_PRODUCER), DAEMON_WORKERS, DAEMON_WORKERS);
    $delivered = static function () use ($status, $cspool): array {
        $s = $status("$cspool/consume.status");
        return [(int) ($s['jobs']['bench']['delivered'] ?? 0), (float) ($s['jobs']['bench']['lastFlushAt'] ?? 0)];
    };
    // Redis's own CPU time and the bytes it took in, to say where the ceiling is.
    $info = static function () use ($port): array {
        $text = (string) shell_exec("redis-cli -p $port INFO 2>/dev/null");
        preg_match('/used_cpu_user:([0-9.]+)/', $text, $u);
        preg_match('/used_cpu_sys:([0-9.]+)/', $text, $y);
        preg_match('/total_net_input_bytes:(\d+)/', $text, $n);
        return [(float) ($u[1] ?? 0) + (float) ($y[1] ?? 0), (int) ($n[1] ?? 0)];
    };
    $rates = [];
    for ($run = 1; $run <= THROUGHPUT_RUNS; $run++) {
        [$before] = $delivered();
        [$cpu0, $in0] = $info();
        $total = PRODUCERS * PER_PRODUCER;
        $reports = run_producers($fini);
        $deadline = microtime(true) + 120;
        do {
            usleep(50000);
            [$now, $lastCall] = $delivered();
        } while ($now - $before < $total && microtime(true) < $deadline);
        if ($now - $before < $total) {
            fail(sprintf('the consumer delivered %d of %d within 120 s (logs in %s)', $now - $before, $total, $dir));
        }
        $first = min(array_column($reports, 'first'));
        $elapsed = $lastCall - $first;
        $rates[] = $total / $elapsed;
        [$cpu1, $in1] = $info();
        printf("   run %d: %s items in %.2f s = %s items/s end to end; redis-server: %.2f s of CPU (%.0f%% of the run), %s in\n",
            $run, number_format($total), $elapsed, number_format($total / $elapsed), $cpu1 - $cpu0,
            100 * ($cpu1 - $cpu0) / $elapsed, number_format(($in1 - $in0) / 1048576, 1) . ' MiB');
    }
    printf("\n   median: %s items/s through Redis (target: >= 1,000,000 on 2 cores; the single-host daemon's is above)\n",
        number_format(median($rates)));
}
