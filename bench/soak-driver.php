<?php
// The soak test's driver; run it with bench/soak.sh, which builds first.
//
//   php bench/soak-driver.php SO
//
// Starts the daemon (bench/soak-bootstrap.php), php-fpm with the daemon runner and
// nginx on loopback, drives bench/soak-page.php with wrk for AB_SOAK_SECONDS,
// SIGKILLs the daemon's whole process group every AB_SOAK_KILL_EVERY seconds and
// restarts it, samples memory every 10 s, lets the daemon drain, then checks item by
// item (bench/soak-check.php) and prints the report. See bench/soak.sh for the knobs.
declare(strict_types=1);

require __DIR__ . '/lib.php';
require __DIR__ . '/soak-check.php';

const FPM_CHILDREN = 4;
const DAEMON_WORKERS = 2;
const SAMPLE_EVERY = 10.0;
const PAUSE_MIN_MS = 500;
const PAUSE_MAX_MS = 3000;
const DRAIN_STABLE = 3.0;

function env_number(string $name, float $default, float $min): float
{
    $v = getenv($name);
    if ($v === false || $v === '') {
        return $default;
    }
    if (!is_numeric($v) || (float) $v < $min) {
        fail("$name must be a number >= $min, got '$v'");
    }
    return (float) $v;
}

$seconds = (int) env_number('AB_SOAK_SECONDS', 600, 10);
$killEvery = env_number('AB_SOAK_KILL_EVERY', 60, 0);
$connections = (int) env_number('AB_SOAK_CONNECTIONS', 4, 1);
$drainTimeout = env_number('AB_SOAK_DRAIN_TIMEOUT', 300, 10);
$keep = (bool) getenv('AB_SOAK_KEEP');

$so = $argv[1] ?? '';
$root = dirname(__DIR__);
$dir = rtrim(sys_get_temp_dir(), '/') . '/asyncbatch-soak-' . getmypid();
if (!@mkdir($dir, 0700)) {
    fail("cannot create $dir");
}
foreach (['submitted', 'delivered', 'tmp'] as $sub) {
    mkdir("$dir/$sub", 0700);
}
$spool = "$dir/spool";
// A queue key of our own: derived from the spool directory, never one in use.
$key = (crc32($spool) & 0x7fffffff) ?: 1;
while (msg_queue_exists($key)) {
    $key = ($key % 0x7ffffffe) + 1;
}
$ini = [
    'asyncbatch.runner' => 'daemon',
    'asyncbatch.spool_dir' => $spool,
    'asyncbatch.failure_dir' => "$dir/failed",
    'asyncbatch.queue_key' => (string) $key,
];
$isRoot = posix_geteuid() === 0;
$GLOBALS['soak'] = ['dir' => $dir, 'key' => $key, 'keepDir' => $keep, 'daemon' => null];

// ---------------------------------------------------------------------------
// Clean-up: at the end, on fail(), on Ctrl-C or a kill (turned into exit()).

register_shutdown_function(static function (): void {
    foreach ([SIGINT, SIGTERM, SIGHUP] as $signal) {
        pcntl_signal($signal, SIG_IGN);
    }
    stop_processes(15);
    $key = $GLOBALS['soak']['key'];
    if (msg_queue_exists($key)) {
        msg_remove_queue(msg_get_queue($key));
    }
    $dir = $GLOBALS['soak']['dir'];
    if ($GLOBALS['soak']['keepDir']) {
        fwrite(STDERR, "soak: kept $dir\n");
    } else {
        exec('rm -rf ' . escapeshellarg($dir));
    }
});
pcntl_async_signals(true);
foreach ([SIGINT, SIGTERM, SIGHUP] as $signal) {
    pcntl_signal($signal, static function (): never {
        fwrite(STDERR, "\nsoak: interrupted; stopping everything\n");
        exit(130);
    });
}

// ---------------------------------------------------------------------------
// The daemon.

function daemon_status(): ?array
{
    global $spool;
    $s = json_decode((string) @file_get_contents("$spool/daemon.status"), true);
    return is_array($s) ? $s : null;
}

/** Starts a daemon and waits until it runs with all its workers; returns its pid. */
function daemon_start(): int
{
    global $so, $ini, $root, $dir;
    $argv = [PHP_BINARY, '-n', '-d', "extension=$so"];
    foreach ($ini as $k => $v) {
        array_push($argv, '-d', "$k=$v");
    }
    array_push($argv, "$root/php/bin/asyncbatch", 'daemon', '--bootstrap', "$root/bench/soak-bootstrap.php",
        '--workers', (string) DAEMON_WORKERS, '--stop-timeout', '10', '--log', "$dir/daemon.log");
    $pid = start($argv, "$dir/daemon.out", ['AB_SOAK_DIR' => $dir] + getenv());
    $GLOBALS['soak']['daemon'] = $pid;
    wait_for(static function () use ($pid): bool {
        $s = daemon_status();
        return $s !== null && ($s['pid'] ?? 0) === $pid && count($s['workers'] ?? []) === DAEMON_WORKERS;
    }, 30, 'the daemon', "$dir/daemon.out");
    return $pid;
}

/** The handle start() kept for $pid; reaps it and forgets it. */
function forget_process(int $pid): void
{
    foreach ($GLOBALS['bench_processes'] as $i => $p) {
        if (proc_get_status($p)['pid'] === $pid) {
            $deadline = microtime(true) + 5;
            while (proc_get_status($p)['running'] && microtime(true) < $deadline) {
                usleep(10000);
            }
            proc_close($p);
            unset($GLOBALS['bench_processes'][$i]);
            $GLOBALS['bench_processes'] = array_values($GLOBALS['bench_processes']);
            return;
        }
    }
}

/** Whether $pid is gone (or a zombie, which holds nothing). */
function gone(int $pid): bool
{
    $stat = proc_stat("/proc/$pid/stat");
    return $stat === null || ($stat[1][0] ?? 'Z') === 'Z';
}

/** The daemon's processes by role: master, receiver, workers (as its status lists them). */
function daemon_roles(int $master): array
{
    $status = daemon_status();
    $workers = ($status['pid'] ?? 0) === $master ? array_map('intval', array_column($status['workers'] ?? [], 'pid')) : [];
    $roles = ['master' => $master, 'receiver' => 0, 'workers' => []];
    foreach (children($master) as $kid) {
        if (in_array($kid, $workers, true)) {
            $roles['workers'][] = $kid;
        } else {
            $roles['receiver'] = $kid;
        }
    }
    return $roles;
}

/** Workers the daemon's master restarted because they died (not our kills). */
function worker_restarts(int $master): int
{
    $status = daemon_status();
    return ($status['pid'] ?? 0) === $master ? (int) array_sum(array_column($status['workers'] ?? [], 'restarts')) : 0;
}

/** SIGKILLs the daemon's process group (master, receiver, workers) and waits until all are gone. */
function daemon_kill(int $master): array
{
    $roles = daemon_roles($master);
    $restarts = worker_restarts($master);
    $tree = process_tree($master);
    $queue = queue_messages();
    $segments = spool_segments();
    $at = microtime(true);
    posix_kill(-$master, SIGKILL);
    foreach ($tree as $pid) {
        posix_kill($pid, SIGKILL);
    }
    forget_process($master);
    $deadline = microtime(true) + 10;
    while (array_filter($tree, static fn (int $p): bool => !gone($p)) !== [] && microtime(true) < $deadline) {
        usleep(10000);
    }
    $left = array_values(array_filter($tree, static fn (int $p): bool => !gone($p)));
    if ($left !== []) {
        fail('daemon processes survived SIGKILL: ' . implode(' ', $left));
    }
    return ['at' => $at, 'master' => $master, 'roles' => $roles, 'queue' => $queue, 'segments' => $segments, 'restarts' => $restarts];
}

/** Messages on our queue now. */
function queue_messages(): int
{
    global $key;
    return msg_queue_exists($key) ? (int) (msg_stat_queue(msg_get_queue($key))['msg_qnum'] ?? 0) : 0;
}

/** Spool segments waiting now (written, being written, or being delivered). */
function spool_segments(): int
{
    global $spool;
    return count(glob("$spool/*.{seg,part}", GLOB_BRACE) ?: []);
}

/** Requests the page recorded so far. */
function recorded_requests(): int
{
    global $dir;
    $n = 0;
    clearstatcache();
    foreach (glob("$dir/submitted/*") ?: [] as $f) {
        $n += intdiv((int) filesize($f), 9);
    }
    return $n;
}

/** Bytes the callable wrote so far. */
function delivered_bytes(): int
{
    global $dir;
    $n = 0;
    clearstatcache();
    foreach (glob("$dir/delivered/*") ?: [] as $f) {
        $n += (int) filesize($f);
    }
    return $n;
}

/** RSS in KiB of the php-fpm workers and of the daemon's processes, now. */
function sample(string $phase, float $t, array $fpmWorkers, ?int $master, ?float $daemonSince): array
{
    $row = ['phase' => $phase, 't' => $t, 'fpm' => [], 'fpmPrivate' => [], 'fpmKinds' => [], 'daemon' => null];
    foreach ($fpmWorkers as $pid) {
        $mem = memory_kib($pid);
        $row['fpm'][$pid] = $mem['rss'];
        $row['fpmPrivate'][$pid] = $mem['private'];
        $row['fpmKinds'][$pid] = rss_by_kind($pid);
    }
    if ($master !== null && !gone($master)) {
        $roles = daemon_roles($master);
        $row['daemon'] = [
            'age' => microtime(true) - $daemonSince,
            'master' => memory_kib($master)['rss'],
            'receiver' => $roles['receiver'] ? memory_kib($roles['receiver'])['rss'] : 0,
            'workers' => array_map(static fn (int $p): int => memory_kib($p)['rss'], $roles['workers']),
        ];
    }
    return $row;
}

/**
 * RSS in KiB of a process by kind of mapping: private anonymous memory (PHP's
 * allocator, threads' heaps), the [heap] (brk), shared memory (opcache), files (code,
 * data), the rest (stacks, vdso).
 */
function rss_by_kind(int $pid): array
{
    $kinds = ['anon' => 0, 'heap' => 0, 'shared' => 0, 'files' => 0, 'other' => 0];
    $kind = 'other';
    foreach (explode("\n", (string) @file_get_contents("/proc/$pid/smaps")) as $l) {
        if (preg_match('/^[0-9a-f]+-[0-9a-f]+ (\S{4}) \S+ \S+ \d+\s*(.*)$/', $l, $m)) {
            $path = $m[2];
            $kind = match (true) {
                $m[1][3] === 's' => 'shared',
                $path === '' => 'anon',
                $path === '[heap]' => 'heap',
                $path[0] === '/' => 'files',
                default => 'other',
            };
        } elseif (str_starts_with($l, 'Rss:')) {
            $kinds[$kind] += (int) preg_replace('/\D/', '', $l);
        }
    }
    return $kinds;
}

function mib(int $kib): string
{
    return sprintf('%.1f', $kib / 1024);
}

function progress(array $row, int $requests, float $rate): void
{
    $fpm = $row['fpm'];
    $d = $row['daemon'];
    printf(
        "  t=%4.0fs  %-10s requests %10s (%5.0f/s)  queue %3d msgs  spool %4d segments  RSS MiB: php-fpm %s-%s  daemon %s\n",
        $row['t'], $row['phase'], number_format($requests), $rate, queue_messages(), spool_segments(),
        $fpm === [] ? '-' : mib(min($fpm)), $fpm === [] ? '-' : mib(max($fpm)),
        $d === null ? 'down' : sprintf('%s/%s/%s', mib($d['master']), mib($d['receiver']), implode('+', array_map('mib', $d['workers']))),
    );
}

// ---------------------------------------------------------------------------
// Set-up: daemon, php-fpm, nginx.

$so = (string) realpath($so);
if ($so === '' || !is_file($so)) {
    fail('usage: php bench/soak-driver.php path/to/libasyncbatch.so');
}
// A copy: a rebuild during the run must not change what the restarted daemons load.
if (!copy($so, "$dir/asyncbatch.so")) {
    fail("cannot copy $so");
}
$so = "$dir/asyncbatch.so";
$gitRev = trim((string) shell_exec('git -C ' . escapeshellarg($root) . ' rev-parse --short HEAD 2>/dev/null'));
$gitDirty = trim((string) shell_exec('git -C ' . escapeshellarg($root) . ' status --porcelain -- src core Cargo.toml Cargo.lock php 2>/dev/null')) !== '';
printf("soak: in %s, queue key 0x%x; %d s of load, the daemon SIGKILLed every %s\n", $dir, $key, $seconds,
    $killEvery > 0 ? "$killEvery s" : '(never)');

$daemonPid = daemon_start();
$daemonSince = microtime(true);

$fpm = trim((string) shell_exec('command -v php-fpm8.2 || command -v php-fpm || ls /usr/sbin/php-fpm8.2 2>/dev/null'));
if ($fpm === '') {
    fail('php-fpm not found; run bash scripts/deps.sh');
}
$conf = "[global]\nerror_log = $dir/fpm.log\ndaemonize = no\n\n[soak]\n"
    . ($isRoot ? "user = root\ngroup = root\n" : '')
    . "listen = $dir/fpm.sock\npm = static\npm.max_children = " . FPM_CHILDREN . "\nclear_env = yes\n"
    . "env[AB_SOAK_DIR] = \"$dir\"\n"
    . "php_admin_value[error_log] = $dir/php-errors.log\nphp_admin_value[log_errors] = On\n";
file_put_contents("$dir/fpm.conf", $conf);
$argv = [$fpm, '--nodaemonize', '--fpm-config', "$dir/fpm.conf"];
if ($isRoot) {
    $argv[] = '--allow-to-run-as-root';
}
foreach ($ini as $k => $v) {
    array_push($argv, '-d', "$k=$v");
}
array_push($argv, '-d', "extension=$so");
$fpmMaster = start($argv, "$dir/fpm.out");
wait_for(static fn (): bool => file_exists("$dir/fpm.sock") || !is_running($fpmMaster), 15, 'php-fpm', "$dir/fpm.out");
if (!is_running($fpmMaster)) {
    fail("php-fpm exited:\n" . @file_get_contents("$dir/fpm.out"));
}
$fpmWorkers = [];
wait_for(static function () use ($fpmMaster, &$fpmWorkers): bool {
    $fpmWorkers = children($fpmMaster);
    return count($fpmWorkers) === FPM_CHILDREN;
}, 10, 'the php-fpm workers', "$dir/fpm.out");

$port = free_port();
start_nginx($dir, $port, ['/soak' => ["$root/bench/soak-page.php", "$dir/fpm.sock"]]);
$url = "http://127.0.0.1:$port/soak";
$body = @file_get_contents($url);
if (!is_string($body) || !str_starts_with($body, 'ok ')) {
    fail("the page does not answer:\n" . $body . @file_get_contents("$dir/php-errors.log") . @file_get_contents("$dir/nginx-error.log"));
}
$setupRequests = 1;

// ---------------------------------------------------------------------------
// The load, the kills, the samples.

printf("soak: php-fpm master %d, workers %s; daemon %d; wrk -t1 -c%d on %s\n",
    $fpmMaster, implode(' ', $fpmWorkers), $daemonPid, $connections, $url);
$t0 = microtime(true);
$wrkPid = start(['wrk', '-t1', "-c$connections", "-d{$seconds}s", '--latency', $url], "$dir/wrk.out");
$kills = [];
$samples = [];
$nextSample = $t0 + SAMPLE_EVERY;
$nextKill = $killEvery > 0 ? $t0 + $killEvery : INF;
$lastRequests = recorded_requests();
$lastAt = $t0;
$take = static function (string $phase) use (&$samples, &$lastRequests, &$lastAt, $t0, $fpmWorkers, &$daemonPid, &$daemonSince): void {
    $now = microtime(true);
    $row = sample($phase, $now - $t0, $fpmWorkers, $daemonPid, $daemonSince);
    $samples[] = $row;
    $requests = recorded_requests();
    progress($row, $requests, ($requests - $lastRequests) / max(0.001, $now - $lastAt));
    $lastRequests = $requests;
    $lastAt = $now;
};
$crashes = [];
while (is_running($wrkPid) && !gone($wrkPid)) {
    $now = microtime(true);
    if (gone($daemonPid)) {
        // Not one of our kills: the daemon's master exited by itself.
        forget_process($daemonPid);
        $crashes[] = ['at' => $now, 'master' => $daemonPid];
        printf("  t=%4.0fs  DAEMON %d EXITED BY ITSELF; its output:\n%s\n", $now - $t0, $daemonPid, @file_get_contents("$dir/daemon.out"));
        $daemonPid = daemon_start();
        $daemonSince = microtime(true);
        continue;
    }
    if ($now >= $nextSample) {
        $take('load');
        $nextSample += SAMPLE_EVERY;
    }
    if ($now >= $nextKill && $now < $t0 + $seconds - 2) {
        $kill = daemon_kill($daemonPid);
        $pause = mt_rand(PAUSE_MIN_MS, PAUSE_MAX_MS) / 1000;
        usleep((int) ($pause * 1e6));
        $daemonPid = daemon_start();
        $daemonSince = microtime(true);
        $kill['pause'] = $pause;
        $kill['restartedAt'] = $daemonSince;
        $kill['ageAtKill'] = null;
        $kills[] = $kill;
        printf("  t=%4.0fs  killed daemon %d (receiver %d, workers %s) with %d queue messages and %d spool segments waiting; restarted as %d after %.1f s\n",
            $kill['at'] - $t0, $kill['master'], $kill['roles']['receiver'], implode(' ', $kill['roles']['workers']),
            $kill['queue'], $kill['segments'], $daemonPid, $daemonSince - $kill['at']);
        $nextKill += $killEvery;
    }
    usleep(100000);
    if ($now > $t0 + $seconds + 60) {
        fail('wrk did not finish');
    }
}
$loadSeconds = microtime(true) - $t0;
$take('end');
$wrkOut = (string) @file_get_contents("$dir/wrk.out");
$wrk = ['requests' => 0, 'errors' => 0, 'rps' => 0.0, 'non2xx' => 0, 'socket' => 0];
if (preg_match('/(\d+) requests in/', $wrkOut, $m)) {
    $wrk['requests'] = (int) $m[1];
}
if (preg_match('/Requests\/sec:\s+([\d.]+)/', $wrkOut, $m)) {
    $wrk['rps'] = (float) $m[1];
}
if (preg_match('/Non-2xx or 3xx responses: (\d+)/', $wrkOut, $m)) {
    $wrk['non2xx'] = (int) $m[1];
}
if (preg_match('/Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/', $wrkOut, $m)) {
    $wrk['socket'] = (int) $m[1] + (int) $m[2] + (int) $m[3] + (int) $m[4];
}
foreach (['50', '99'] as $p) {
    $wrk["p$p"] = preg_match("/^\\s+$p%\\s+([\\d.]+\\w+)\\s*$/m", $wrkOut, $m) ? $m[1] : '?';
}
if ($wrk['requests'] === 0) {
    fail("wrk failed:\n$wrkOut");
}

// ---------------------------------------------------------------------------
// Drain: until no segment waits, the queue is empty and nothing more is delivered.

echo "soak: load done; letting the daemon drain\n";
$drainStart = microtime(true);
$stableSince = null;
$lastBytes = -1;
$drained = false;
while (microtime(true) - $drainStart < $drainTimeout) {
    $bytes = delivered_bytes();
    if (spool_segments() === 0 && queue_messages() === 0 && $bytes === $lastBytes) {
        $stableSince ??= microtime(true);
        if (microtime(true) - $stableSince >= DRAIN_STABLE) {
            $drained = true;
            break;
        }
    } else {
        $stableSince = null;
    }
    $lastBytes = $bytes;
    if (microtime(true) >= $nextSample) {
        $take('drain');
        $nextSample += SAMPLE_EVERY;
    }
    usleep(250000);
}
$drainSeconds = microtime(true) - $drainStart - ($drained ? DRAIN_STABLE : 0);
$take('drained');
$leftSegments = spool_segments();
$leftMessages = queue_messages();

// The last daemon stops the normal way.
$lastRestarts = worker_restarts($daemonPid);
posix_kill($daemonPid, SIGTERM);
$deadline = microtime(true) + 15;
while (!gone($daemonPid) && microtime(true) < $deadline) {
    usleep(50000);
}
$daemonStopped = gone($daemonPid);
forget_process($daemonPid);
file_put_contents("$dir/kills.json", json_encode($kills, JSON_PRETTY_PRINT));
file_put_contents("$dir/samples.json", json_encode($samples, JSON_PRETTY_PRINT));

// ---------------------------------------------------------------------------
// The check and the report.

echo "soak: checking every item\n";
$checkStart = microtime(true);
$r = soak_check($dir, $kills);
$checkSeconds = microtime(true) - $checkStart;
$failures = count(glob("$dir/failed/*") ?: []);
$phpErrors = array_values(array_filter(explode("\n", (string) @file_get_contents("$dir/php-errors.log"))));
$daemonLog = array_values(array_filter(
    explode("\n", (string) @file_get_contents("$dir/daemon.log")),
    static fn (string $l): bool => $l !== '' && !preg_match('/asyncbatch daemon: (running \(pid|stopping$|stopped$)/', $l),
));
$served200 = $wrk['requests'] - $wrk['non2xx'];

$lost = $r['lost'] > 0 || !$drained || $r['badRecords'] !== [] || $r['requests'] < $served200 + $setupRequests;
$unexplained = $r['dupUnexplained'] > 0;

$out = [];
$line = static function (string $s = '') use (&$out): void {
    $out[] = $s;
};
$n = static fn (int|float $v): string => number_format($v);
$line();
$line('asyncbatch soak test — report');
$line(str_repeat('=', 100));
$line(sprintf('  build        asyncbatch %s%s, PHP %s, %d CPUs, kernel.msgmnb %s, kernel.msgmax %s',
    $gitRev ?: '?', $gitDirty ? ' (with uncommitted changes)' : '', PHP_VERSION, (int) trim((string) shell_exec('nproc')),
    trim((string) @file_get_contents('/proc/sys/kernel/msgmnb')), trim((string) @file_get_contents('/proc/sys/kernel/msgmax'))));
$line(sprintf('  set-up       nginx + php-fpm (%d static workers, runner=daemon) on loopback; wrk -t1 -c%d for %d s;',
    FPM_CHILDREN, $connections, $seconds));
$line(sprintf('               daemon with %d workers, SIGKILLed (whole process group) every %s, restarted after %.1f-%.1f s',
    DAEMON_WORKERS, $killEvery > 0 ? "$killEvery s" : '(never)', PAUSE_MIN_MS / 1000, PAUSE_MAX_MS / 1000));
$line(sprintf('  requests     %s served by wrk in %.0f s (%s/s, p50 %s, p99 %s); %s non-2xx, %s socket errors',
    $n($wrk['requests']), $loadSeconds, $n($wrk['rps']), $wrk['p50'], $wrk['p99'], $n($wrk['non2xx']), $n($wrk['socket'])));
$line(sprintf('               %s recorded by the page (%d php-fpm workers), %s of them the set-up check',
    $n($r['requests']), $r['workers'], $n($setupRequests)));
$line(sprintf('  items        submitted  %15s  (%s requests x %d)', $n($r['submitted']), $n($r['requests']), SOAK_CHECK_ITEMS));
$line(sprintf('               delivered  %15s  distinct submitted items', $n($r['submitted'] - $r['lost'])));
$line(sprintf('               copies     %15s  in %s batches by %d daemon worker processes', $n($r['deliveredItems']), $n($r['batches']), $r['deliveryFiles']));
$line(sprintf('               LOST       %15s%s', $n($r['lost']), $r['lost'] > 0 ? sprintf('  (in %s requests)', $n($r['lostRequests'])) : ''));
$line(sprintf('               duplicated %15s  items (%s extra copies)', $n($r['duplicated']), $n($r['extraCopies'])));
$line(sprintf('               unexpected %15s  (delivered, not submitted by a recorded request); foreign %s; torn batches %s',
    $n($r['unexpected']), $n($r['foreign']), $n($r['tornBatches'])));
if ($r['duplicated'] > 0) {
    $line(sprintf('  duplicates   %s in the last batch of a killed daemon worker (callable returned, progress not recorded),',
        $n($r['dupWorker'])));
    $line(sprintf('               %s in a queue message a killed receiver had journaled but not removed, %s unexplained',
        $n($r['dupReceiver']), $n($r['dupUnexplained'])));
    $line('               deliveries per duplicated item: ' . implode(', ', array_map(
        static fn (int $c, int $items): string => "$c copies: $items items", array_keys($r['copies']), $r['copies'])));
} else {
    $line('  duplicates   none');
}
$line(sprintf('  kills        %d', count($kills)));
if ($kills !== []) {
    $line(sprintf('     %3s %7s %8s %6s %8s %7s %9s %16s %12s', '#', 'at', 'daemon', 'queue', 'segments', 'pause', 'dup items', 'in worker batch', 'in message'));
    foreach ($kills as $k => $kill) {
        $pk = $r['perKill'][$k] ?? ['worker' => 0, 'workerBatches' => 0, 'receiver' => 0];
        $line(sprintf('     %3d %6.0fs %8d %6d %8d %6.1fs %9s %16s %12s', $k + 1, $kill['at'] - $t0, $kill['master'], $kill['queue'],
            $kill['segments'], $kill['restartedAt'] - $kill['at'], $n($pk['worker'] + $pk['receiver']),
            $pk['worker'] > 0 ? sprintf('%s (%d batch%s)', $n($pk['worker']), $pk['workerBatches'], $pk['workerBatches'] === 1 ? '' : 'es') : '0',
            $n($pk['receiver'])));
    }
}
$line(sprintf('  drain        %s in %.1f s after the load stopped (%d segments, %d queue messages left); daemon stopped by SIGTERM: %s',
    $drained ? 'done' : 'NOT DONE', $drainSeconds, $leftSegments, $leftMessages, $daemonStopped ? 'yes' : 'NO'));
$workerRestarts = $lastRestarts + array_sum(array_column($kills, 'restarts'));
$line(sprintf('  failures     %d files in the failure store; %d php-fpm error log lines; %d daemon log lines beyond start/stop;',
    $failures, count($phpErrors), count($daemonLog)));
$line(sprintf('               %d daemon workers restarted by the master (died by themselves); %d daemon exits not caused by the test',
    $workerRestarts, count($crashes)));
foreach (array_slice(array_merge($phpErrors, $daemonLog), 0, 8) as $l) {
    $line('               ' . $l);
}

// Memory: start (the first sample under load), middle, end of the load, after the drain.
$loadRows = array_values(array_filter($samples, static fn (array $s): bool => $s['phase'] === 'load' || $s['phase'] === 'end'));
$picks = [];
if ($loadRows !== []) {
    $picks['start'] = $loadRows[0];
    $picks['middle'] = $loadRows[intdiv(count($loadRows), 2)];
    $picks['end'] = $loadRows[count($loadRows) - 1];
}
foreach (array_reverse($samples) as $s) {
    if ($s['phase'] === 'drained') {
        $picks['drained'] = $s;
        break;
    }
}
$line('  memory       RSS MiB; php-fpm workers by pid; the daemon (its age since the last (re)start): master, receiver, workers');
$line(sprintf('     %-8s %6s  %-31s %-8s %-7s %-8s %s', '', 't', 'php-fpm ' . implode(' ', $fpmWorkers), 'daemon', 'master', 'receiver', 'workers'));
foreach ($picks as $label => $s) {
    $d = $s['daemon'];
    $line(sprintf('     %-8s %5.0fs  %-31s %-8s %-7s %-8s %s', $label, $s['t'],
        implode(' ', array_map(static fn (int $pid): string => sprintf('%6s', mib($s['fpm'][$pid] ?? 0)), $fpmWorkers)),
        $d === null ? 'down' : sprintf('%.0fs', $d['age']), $d === null ? '' : mib($d['master']),
        $d === null ? '' : mib($d['receiver']), $d === null ? '' : implode(' ', array_map('mib', $d['workers']))));
}
if (count($loadRows) >= 2) {
    $fpmGrowth = [];
    foreach ($fpmWorkers as $pid) {
        $fpmGrowth[] = ($picks['end']['fpm'][$pid] ?? 0) - ($picks['start']['fpm'][$pid] ?? 0);
    }
    $dMax = [];
    foreach ($samples as $s) {
        if ($s['daemon'] !== null) {
            $dMax[] = max([$s['daemon']['master'], $s['daemon']['receiver'], ...$s['daemon']['workers']]);
        }
    }
    $line(sprintf('     php-fpm workers, end - start: %s MiB RSS; largest daemon process over all %d samples: %s MiB (min %s)',
        implode(' ', array_map(static fn (int $g): string => sprintf('%+.1f', $g / 1024), $fpmGrowth)), count($samples),
        $dMax === [] ? '-' : mib(max($dMax)), $dMax === [] ? '-' : mib(min($dMax))));
    $private = static fn (array $s): string => implode(' ', array_map(static fn (int $pid): string => mib($s['fpmPrivate'][$pid] ?? 0), $fpmWorkers));
    $line(sprintf('     php-fpm workers, private (pages no other process maps): start %s, middle %s, end %s MiB',
        $private($picks['start']), $private($picks['middle']), $private($picks['end'])));
    $growth = [];
    foreach ($fpmWorkers as $pid) {
        foreach ($picks['end']['fpmKinds'][$pid] ?? [] as $kind => $kib) {
            $growth[$kind] = ($growth[$kind] ?? 0) + $kib - ($picks['start']['fpmKinds'][$pid][$kind] ?? 0);
        }
    }
    $line('     php-fpm workers, RSS end - start by mapping, all workers: ' . implode(', ', array_map(
        static fn (string $k, int $kib): string => sprintf('%s %+.1f', $k, $kib / 1024), array_keys($growth), $growth)) . ' MiB');
    // Each minute of the load: the largest worker's RSS, and the sum of the workers' private memory.
    $trend = [];
    foreach ($loadRows as $s) {
        $minute = (int) floor($s['t'] / 60 + 1e-6);
        $trend[$minute] = $s;
    }
    $line('     php-fpm each minute, largest RSS:    ' . implode(' ', array_map(static fn (array $s): string => mib(max($s['fpm'])), $trend)));
    $line('     php-fpm each minute, private (sum):  ' . implode(' ', array_map(static fn (array $s): string => mib(array_sum($s['fpmPrivate'])), $trend)));
}
$line(sprintf('  checked      in %.1f s; samples and kills in %s (kept: %s)', $checkSeconds, $dir, $keep || $lost || $unexplained ? 'yes' : 'no'));
if ($r['badRecords'] !== []) {
    $line('  records      ' . implode('; ', $r['badRecords']));
}
if ($r['requests'] < $served200 + $setupRequests) {
    $line(sprintf('  MISMATCH     wrk counted %s 2xx responses but the page recorded only %s requests', $n($served200), $n($r['requests'])));
}
foreach ($r['lostSamples'] as $s) {
    $line(sprintf('  lost         php-fpm worker %d, request %d, items %s', $s['pid'], $s['req'], $s['items'] ?? '?'));
}
foreach ($r['unexpectedSamples'] as $s) {
    $line('  unexpected   ' . $s);
}
foreach ($r['unexplainedSamples'] as $s) {
    $line('  unexplained  ' . $s);
}
$line(str_repeat('-', 100));
if ($lost) {
    $line('  RESULT       FAIL: items were lost' . ($drained ? '' : ' (or still waiting: the drain did not finish)'));
} elseif ($unexplained) {
    $line('  RESULT       FAIL: nothing lost, but some duplicates are not explained by a kill');
} else {
    $line(sprintf('  RESULT       PASS: nothing lost; %s', $r['duplicated'] > 0 ? 'every duplicate was in flight at a kill' : 'no duplicates'));
}
if ($crashes !== [] || $workerRestarts > 0) {
    $line('  NOTE         daemon processes died without being killed by the test (see failures above)');
}
echo implode("\n", $out), "\n";

if ($lost || $unexplained) {
    $GLOBALS['soak']['keepDir'] = true;
}
exit($lost ? 1 : ($unexplained ? 2 : 0));
