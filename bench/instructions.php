<?php
// The benchmark's "instructions" section (bench/bench.php): what a logging page
// costs in instructions, counted by valgrind's callgrind, which gives the same count
// for the same binary and inputs however loaded the machine is.
//
// Each variant runs twice in a php-fpm with one static worker and
// pm.max_requests = N, so the worker serves N real FastCGI requests and exits (and
// callgrind writes its counts): N1, then N2. Per request = (I(N2) - I(N1)) / (N2 - N1):
// start-up and exit cancel out, and every delivery of the N requests is counted,
// since the worker delivers (or hands off) what it holds before it exits. The
// daemon variant's daemon runs under callgrind too, one per run, stopped once it
// has delivered every item.
declare(strict_types=1);

/** Variants of the count, page variants first: [label, load, runner, page mode]. */
const IC_VARIANTS = VARIANTS + [
    'monolog' => ['(g) Monolog StreamHandler, a file (a peer)', 'none', 'shutdown', 'monolog'],
    'file' => ['(h) file_put_contents per record (a peer)', 'none', 'shutdown', 'file'],
];

/**
 * Where the delta's instructions go: the first bucket whose pattern matches a
 * function's name (or its object file) takes its own ("self") instructions.
 */
const IC_BUCKETS = [
    'decode and call' => '/decode|Reader::|ZvalBuilder|batch_to_array|zend_call_function|zend_call_known|PhpHost.*::call/',
    'encoding' => '/encode|msgpack|rmp_serde|http::json|php_json|smart_str|flt2dec|fmt::float/',
    'registration' => '/register(?!_shutdown)|JobConfig|config::|http_sink::sink_of|http_sink::|Jobs::/',
    'settings' => '/settings|ini::|zend_ini|cfg_get|php::ini|sapi_env|getenv/',
    'runner selection' => '/runner::select|select_runner|daemon_status|status_file|Mode::|choose/',
    'shutdown hook' => '/shutdown|user_shutdown|call_registered/',
    'journal' => '/journal|Journal/',
    'spool listing' => '/spool::|Spool::|readdir|opendir|closedir|getdents|scandir|glob/',
    'thread hand-off' => '/outbox|Outbox|crossbeam|channel|parking_lot|futex|Condvar|pthread_cond/',
    'HTTP post' => '/ureq|http::|curl|socket|send|recv|rustls/',
    'allocation' => '/malloc|calloc|realloc|(^|[^a-z])free|_emalloc|_efree|zend_mm|alloc::|dealloc|__rust_alloc|__rdl_/',
    'file I/O' => '/write|fopen|fclose|fflush|php_stream|plain_wrapper|open64|close|fstat|stat/',
    'PHP VM (PHP code)' => '/execute_ex|ZEND_.*HANDLER|zend_execute|zend_vm/',
];

function section_instructions(): void
{
    global $dir, $serverBinary;
    foreach (['valgrind', 'callgrind_annotate', 'strace'] as $tool) {
        if (trim((string) shell_exec('command -v ' . escapeshellarg($tool))) === '') {
            fail("$tool not found; run bash scripts/deps.sh");
        }
    }
    $quick = (bool) getenv('AB_BENCH_QUICK');
    [$n1, $n2] = $quick ? [20, 100] : [100, 500];
    $serverStats = "$dir/ic-server.stats";
    [, $addr] = start_counting_server($serverBinary, $serverStats, "$dir/ic-server.out");
    $ctx = ['sink' => "http://$addr/ingest", 'stats' => $serverStats];

    printf(
        "\n5. Instructions per page (valgrind --tool=callgrind), a php-fpm worker serving %d and then %d real FastCGI\n"
        . "   requests of the page logging %d records; per request = (I(%d) - I(%d)) / %d; system calls by strace -f\n",
        $n1, $n2, ITEMS_PER_PAGE, $n2, $n1, $n2 - $n1,
    );
    $rows = [];
    // AB_BENCH_VARIANTS=build,shutdown: only those (to look at one while changing it).
    $only = array_filter(explode(',', (string) getenv('AB_BENCH_VARIANTS')));
    foreach (IC_VARIANTS as $v => [$label]) {
        if ($only !== [] && !in_array($v, $only, true) && $v !== 'build') {
            continue;
        }
        $a = ic_run($v, $n1, $ctx);
        $b = ic_run($v, $n2, $ctx);
        $per = static fn (string $k): float => ($b[$k] - $a[$k]) / ($n2 - $n1);
        $functions = [];
        foreach ($b['functions'] as $name => $ir) {
            $functions[$name] = ($ir - ($a['functions'][$name] ?? 0)) / ($n2 - $n1);
        }
        foreach ($a['functions'] as $name => $ir) {
            $functions[$name] ??= -$ir / ($n2 - $n1);
        }
        $rows[$v] = [
            'request' => $per('request'),
            'background' => $per('background'),
            'daemon' => $per('daemon'),
            'functions' => $functions,
            'syscalls' => ic_syscalls($v, $ctx, $n1),
        ];
        printf("   %-46s %12s instructions per request\n", $label, number_format($rows[$v]['request'] + $rows[$v]['background']));
    }
    ic_report($rows);
}

/**
 * Runs variant $v's page $n times in a php-fpm under callgrind (and, for the daemon
 * runner, a daemon under callgrind); returns the worker's request-thread and
 * background-thread totals, the daemon's, and the worker's instructions per function.
 */
function ic_run(string $v, int $n, array $ctx): array
{
    global $dir, $root, $so;
    [, $load, $runner, $mode] = IC_VARIANTS[$v];
    [$d, $settings] = ic_workdir("$dir/ic-$v-$n", $runner);
    $callgrind = ['valgrind', '--tool=callgrind', '--separate-threads=yes', '--dump-instr=no'];
    $daemon = null;
    if ($runner === 'daemon') {
        $argv = [PHP_BINARY, '-n', '-d', "extension=$so"];
        foreach ($settings as $k => $val) {
            array_push($argv, '-d', "$k=$val");
        }
        $daemon = start(array_merge($callgrind, ["--callgrind-out-file=$d/daemon.%p"], $argv, [
            "$root/php/bin/asyncbatch", 'daemon', '--bootstrap', "$root/bench/daemon-jobs.php",
            '--workers', (string) DAEMON_WORKERS, '--log', "$d/daemon.log",
        ]), "$d/daemon.out", ['AB_BENCH_COUNT_DIR' => "$d/count"] + getenv());
        wait_for(static function () use ($d, $daemon): bool {
            $s = json_decode((string) @file_get_contents("$d/spool/daemon.status"), true);
            return is_array($s) && ($s['pid'] ?? 0) === $daemon && count($s['workers'] ?? []) === DAEMON_WORKERS;
        }, 120, "the daemon under callgrind ($v)", "$d/daemon.out");
    }
    $posted = ic_posted($ctx);
    [$master, $sock] = ic_fpm($v, $d, $settings, $ctx, ['pm.max_requests' => (string) $n], array_merge($callgrind, ["--callgrind-out-file=$d/fpm.%p"]));
    $worker = ic_worker($master, $d);
    ic_requests($v, $sock, $n);
    // The worker exits after its N-th request; callgrind writes its files then.
    wait_for(static fn (): bool => !is_running($worker) && glob("$d/fpm.$worker-*") !== [], 300, "the php-fpm worker's counts ($v)", "$d/fpm.out");
    ic_stop($master);
    if ($daemon !== null) {
        $want = $n * ITEMS_PER_PAGE;
        wait_for(static fn (): bool => ic_counted("$d/count") >= $want, 300, "the daemon's deliveries ($v)", "$d/daemon.log");
        ic_stop($daemon);
    }
    if ($mode === 'sink') {
        wait_for(static fn (): bool => ic_posted($ctx) - $posted >= $n * ITEMS_PER_PAGE, 60, "the HttpSink's posts ($v)", "$d/php.log");
    }
    if ($mode === 'count' && $runner !== 'daemon' && ic_counted("$d/count") !== $n * ITEMS_PER_PAGE) {
        fail(sprintf('%s: %d items delivered of %d', $v, ic_counted("$d/count"), $n * ITEMS_PER_PAGE));
    }
    $threads = glob("$d/fpm.$worker-*") ?: [];
    sort($threads);
    $total = static fn (array $files): int => array_sum(array_map('ic_total', $files));
    $functions = [];
    foreach ($threads as $i => $f) {
        // Background threads' functions apart, marked.
        foreach (ic_functions($f) as $name => $ir) {
            $name .= $i === 0 ? '' : ' (background)';
            $functions[$name] = ($functions[$name] ?? 0) + $ir;
        }
    }
    return [
        'request' => $total(array_slice($threads, 0, 1)),
        'background' => $total(array_slice($threads, 1)),
        'daemon' => $daemon === null ? 0 : $total(glob("$d/daemon.*-*") ?: []),
        'functions' => $functions,
    ];
}

/**
 * Makes a run's directory $d (its spool, failure store and count directory inside)
 * and returns it with the asyncbatch settings of a run with $runner.
 *
 * @return array{0: string, 1: array<string, string>}
 */
function ic_workdir(string $d, string $runner): array
{
    @mkdir($d, 0700);
    @mkdir("$d/count", 0700);
    return [$d, [
        'asyncbatch.spool_dir' => "$d/spool",
        'asyncbatch.failure_dir' => "$d/failed",
        'asyncbatch.queue_key' => (string) ((crc32("$d/spool") & 0x7fffffff) ?: 1),
        'asyncbatch.runner' => $runner,
    ]];
}

/**
 * Starts a php-fpm for variant $v with one static worker, $pool settings added to
 * its pool and $prefix (valgrind) before it; returns [master pid, socket].
 */
function ic_fpm(string $v, string $d, array $settings, array $ctx, array $pool, array $prefix = []): array
{
    global $root, $so, $isRoot;
    [, $load, , $mode] = IC_VARIANTS[$v];
    $fpm = trim((string) shell_exec('command -v php-fpm8.2 || command -v php-fpm || ls /usr/sbin/php-fpm8.2 2>/dev/null'));
    $sock = "$d/fpm.sock";
    $conf = "[global]\nerror_log = $d/fpm.log\ndaemonize = no\nprocess_control_timeout = 60\n\n[ic]\n"
        . ($isRoot ? "user = root\ngroup = root\n" : '')
        . "listen = $sock\npm = static\npm.max_children = 1\nclear_env = yes\n"
        . "env[AB_BENCH_MODE] = \"$mode\"\nenv[AB_BENCH_SINK] = \"{$ctx['sink']}\"\nenv[AB_BENCH_COUNT_DIR] = \"$d/count\"\n"
        . "php_admin_value[error_log] = $d/php.log\nphp_admin_value[log_errors] = On\n";
    foreach ($pool as $k => $val) {
        $conf .= "$k = $val\n";
    }
    file_put_contents("$d/fpm.conf", $conf);
    $argv = array_merge($prefix, [$fpm, '--nodaemonize', '--fpm-config', "$d/fpm.conf"]);
    if ($isRoot) {
        $argv[] = '--allow-to-run-as-root';
    }
    foreach ($settings as $k => $val) {
        array_push($argv, '-d', "$k=$val");
    }
    if ($load === 'ext') {
        array_push($argv, '-d', "extension=$so");
    } elseif ($load === 'polyfill') {
        array_push($argv, '-d', "auto_prepend_file=$root/php/autoload.php");
    }
    @unlink($sock);
    $master = start($argv, "$d/fpm.out");
    wait_for(static fn (): bool => file_exists($sock) || !is_running($master), 120, "php-fpm ($v)", "$d/fpm.out");
    if (!is_running($master)) {
        fail("php-fpm ($v) exited:\n" . @file_get_contents("$d/fpm.out"));
    }
    return [$master, $sock];
}

/** The pid of php-fpm master $master's one worker. */
function ic_worker(int $master, string $d): int
{
    $workers = [];
    wait_for(static function () use ($master, &$workers): bool {
        $workers = children($master);
        return count($workers) === 1;
    }, 120, 'the php-fpm worker', "$d/fpm.out");
    return $workers[0];
}

/** Sends $n requests of variant $v's page, one at a time; each must render. */
function ic_requests(string $v, string $sock, int $n): void
{
    global $root;
    for ($i = 0; $i < $n; $i++) {
        $out = fcgi_get($sock, "$root/bench/page.php", "/$v");
        if (!str_contains($out, '<ul>')) {
            fail("the page of $v did not render:\n$out");
        }
    }
}

/** SIGTERM to $pid's process group; waits until it is gone. */
function ic_stop(int $pid): void
{
    posix_kill(-$pid, SIGTERM);
    $deadline = microtime(true) + 120;
    while (is_running($pid) && microtime(true) < $deadline) {
        usleep(50000);
        // Reaps it: start() keeps the process handle, proc_get_status() waits for it.
        foreach ($GLOBALS['bench_processes'] as $p) {
            proc_get_status($p);
        }
    }
    if (is_running($pid)) {
        posix_kill(-$pid, SIGKILL);
    }
}

/** Items the counting server has received. */
function ic_posted(array $ctx): int
{
    $parts = explode(' ', trim((string) @file_get_contents($ctx['stats'])));
    return count($parts) === 3 ? (int) $parts[1] : 0;
}

/** Items the page's callables counted into $dir. */
function ic_counted(string $dir): int
{
    $n = 0;
    foreach (glob("$dir/delivered-*") ?: [] as $f) {
        $n += array_sum(array_map('intval', file($f, FILE_IGNORE_NEW_LINES) ?: []));
    }
    return $n;
}

/** The instructions a callgrind file counted. */
function ic_total(string $file): int
{
    $text = (string) file_get_contents($file);
    if (preg_match('/^(?:totals|summary):\s*(\d+)/m', $text, $m)) {
        return (int) $m[1];
    }
    fail("no totals in $file");
}

/** A callgrind file's instructions per function (self cost), by callgrind_annotate. */
function ic_functions(string $file): array
{
    $out = (string) shell_exec('callgrind_annotate --auto=no --threshold=100 --inclusive=no ' . escapeshellarg($file) . ' 2>/dev/null');
    $functions = [];
    foreach (explode("\n", $out) as $line) {
        // "1,234,567 (12.34%)  file:function [object]", or without the percentage.
        if (!preg_match('/^\s*([\d,]+)\s+(?:\([^)]*\)\s+)?(\S.*)$/', $line, $m) || str_contains($line, 'PROGRAM TOTALS')) {
            continue;
        }
        // Without the source file, the object file and callgrind's recursion marks.
        $name = preg_replace('/^(\?\?\?|[^:\s]*\/[^:\s]*|[^:\s]+\.[a-z]+):/', '', $m[2]);
        $name = preg_replace(['/ \[[^\]]*\]$/', "/'\\d+$/"], '', $name);
        $functions[$name] = ($functions[$name] ?? 0) + (int) str_replace(',', '', $m[1]);
    }
    return $functions;
}

/**
 * System calls per request of variant $v (request and background threads), by
 * strace -c -f on its warmed-up worker over $n requests.
 */
function ic_syscalls(string $v, array $ctx, int $n): float
{
    global $dir;
    [, , $runner] = IC_VARIANTS[$v];
    [$d, $settings] = ic_workdir("$dir/ic-$v-strace", $runner);
    if ($runner === 'daemon') {
        // The daemon runner hands off to the bench's own daemon (bench.php).
        global $ini;
        daemon();
        $settings = array_filter($ini, static fn (string $k): bool => str_starts_with($k, 'asyncbatch.'), ARRAY_FILTER_USE_KEY) + ['asyncbatch.runner' => 'daemon'];
    }
    [$master, $sock] = ic_fpm($v, $d, $settings, $ctx, []);
    $worker = ic_worker($master, $d);
    ic_requests($v, $sock, 20);
    // -f -p: every thread of the worker, and those it starts.
    $strace = start(['strace', '-f', '-c', '-o', "$d/strace.txt", '-p', (string) $worker], "$d/strace.out");
    wait_for(static fn (): bool => str_contains((string) @file_get_contents("$d/strace.out"), 'attached'), 30, 'strace', "$d/strace.out");
    ic_requests($v, $sock, $n);
    // Background threads finish their hand-off.
    usleep(300000);
    posix_kill($strace, SIGINT);
    wait_for(static fn (): bool => str_contains((string) @file_get_contents("$d/strace.txt"), 'total'), 30, 'strace -c', "$d/strace.out");
    ic_stop($master);
    return preg_match('/^\s*[\d.]+\s+[\d.]+\s+\d+\s+(\d+)\s+(?:\d+\s+)?total$/m', (string) file_get_contents("$d/strace.txt"), $m)
        ? (int) $m[1] / $n : NAN;
}

/** Prints the instruction table, the buckets of each variant's delta, and its top functions. */
function ic_report(array $rows): void
{
    $base = $rows['build'];
    $baseAll = $base['request'] + $base['background'];
    print "\n   Per page; Δ is over (a'), in the request thread and in all (request and background threads); the daemon's\n"
        . "   processes per item apart; system calls of the worker's threads\n";
    printf("   %-44s %10s %9s %10s %9s %10s %9s %8s\n", 'variant', 'request', 'Δ request', 'background', 'Δ all', 'Δ/record', 'daemon/it', 'syscalls');
    foreach ($rows as $v => $r) {
        $all = $r['request'] + $r['background'];
        $skip = in_array($v, ['none', 'build'], true);
        $delta = $skip ? NAN : $all - $baseAll;
        printf(
            "   %-44s %10s %9s %10s %9s %10s %9s %8.1f\n",
            IC_VARIANTS[$v][0],
            number_format($r['request']),
            $skip ? '-' : number_format($r['request'] - $base['request']),
            $r['background'] ? number_format($r['background']) : '-',
            is_nan($delta) ? '-' : number_format($delta),
            is_nan($delta) ? '-' : number_format($delta / ITEMS_PER_PAGE),
            $r['daemon'] ? number_format($r['daemon'] / ITEMS_PER_PAGE) : '-',
            $r['syscalls'],
        );
    }
    $names = array_keys(IC_BUCKETS);
    $names[] = 'other';
    $sums = [];
    $tops = [];
    foreach ($rows as $v => $r) {
        if (in_array($v, ['none', 'build'], true)) {
            continue;
        }
        $delta = [];
        foreach ($r['functions'] + $base['functions'] as $name => $_) {
            $d = ($r['functions'][$name] ?? 0) - ($base['functions'][$name] ?? 0);
            if (abs($d) >= 1) {
                $delta[$name] = $d;
            }
        }
        $sums[$v] = array_fill_keys($names, 0.0);
        foreach ($delta as $name => $d) {
            $sums[$v][ic_bucket($name)] += $d;
        }
        arsort($delta);
        $tops[$v] = array_slice($delta, 0, (int) (getenv('AB_BENCH_TOP') ?: 8), true);
    }
    print "\n   Where the delta over (a') goes: instructions per page, the functions' own (self) instructions by bucket\n";
    printf('   %-18s', 'bucket');
    foreach ($sums as $v => $_) {
        printf(' %13s', substr($v, 0, 13));
    }
    print "\n";
    foreach ($names as $b) {
        printf('   %-18s', $b);
        foreach ($sums as $s) {
            printf(' %13s', number_format($s[$b]));
        }
        print "\n";
    }
    foreach ($tops as $v => $top) {
        printf("\n   %s, the top functions of the delta:\n", IC_VARIANTS[$v][0]);
        foreach ($top as $name => $d) {
            printf("   %10s  %-16s %s\n", number_format($d), ic_bucket($name), substr($name, 0, 110));
        }
    }
}

function ic_bucket(string $function): string
{
    $function = str_replace(' (background)', '', $function);
    foreach (IC_BUCKETS as $bucket => $pattern) {
        if (preg_match($pattern, $function)) {
            return $bucket;
        }
    }
    return 'other';
}
