<?php
// The soak test's checker (bench/soak.sh): compares what the page recorded as
// submitted ($DIR/submitted/PID, see bench/soak-page.php) with what the daemon's
// callable wrote as delivered ($DIR/delivered/WORKER_PID, see bench/soak-jobs.php),
// item by item: one byte per submitted item counts its deliveries.
//
// A duplicate is explained by a kill when
//   - its first copy was in the last batch a worker of a SIGKILLed daemon delivered
//     (the callable returned, the worker died before recording its progress), or
//   - it belongs to the one run of consecutive items of one php-fpm worker that the
//     daemon's receiver was journaling when it was killed (a queue message journaled,
//     not yet removed), at most one such run per kill.
// Anything else is unexplained.
//
// The soak driver calls soak_check(); by hand, on a directory it kept (AB_SOAK_KEEP=1
// or after a failure):  php bench/soak-check.php DIR
declare(strict_types=1);

const SOAK_CHECK_ITEMS = 20;
const SOAK_CHECK_RECORD_BYTES = 9;

/**
 * Checks $dir. $kills: list of ['at' => unix time, 'master' => pid, ...] of the
 * SIGKILLs. Returns the findings (see the keys below).
 */
function soak_check(string $dir, array $kills): array
{
    $r = [
        'requests' => 0,            // requests the page recorded
        'workers' => 0,             // php-fpm workers that served them
        'badRecords' => [],         // problems in the page's records
        'submitted' => 0,           // items of the recorded requests
        'deliveredItems' => 0,      // items in delivered batches (copies, unexpected included)
        'batches' => 0,
        'deliveryFiles' => 0,       // daemon worker processes that delivered
        'tornBatches' => 0,         // batches whose lines do not add up (a worker killed while writing)
        'unexpected' => 0,          // delivered items no recorded request submitted
        'unexpectedSamples' => [],
        'foreign' => 0,             // items that are not the soak's ("?" lines)
        'lost' => 0,
        'lostRequests' => 0,
        'lostSamples' => [],
        'duplicated' => 0,          // items delivered more than once
        'extraCopies' => 0,         // deliveries beyond the first
        'copies' => [],             // histogram: number of deliveries => items
        'dupWorker' => 0,           // duplicated items explained by a killed worker's batch in flight
        'dupReceiver' => 0,         // ... by a killed receiver's message in flight
        'dupUnexplained' => 0,
        'unexplainedSamples' => [],
        'perKill' => [],            // kill index => ['worker' => items, 'workerBatches' => n, 'receiver' => items, 'runs' => n]
    ];

    // What was submitted: per php-fpm worker, a count byte per item.
    $counts = [];
    foreach (glob("$dir/submitted/*") ?: [] as $file) {
        $pid = (int) basename($file);
        $data = (string) file_get_contents($file);
        $n = intdiv(strlen($data), SOAK_CHECK_RECORD_BYTES);
        if (strlen($data) % SOAK_CHECK_RECORD_BYTES !== 0) {
            $r['badRecords'][] = sprintf('worker %d: a torn record at the end (%d bytes)', $pid, strlen($data));
        }
        for ($k = 0; $k < $n; $k++) {
            if (substr($data, $k * SOAK_CHECK_RECORD_BYTES, SOAK_CHECK_RECORD_BYTES) !== sprintf("%08d\n", $k)) {
                $r['badRecords'][] = sprintf('worker %d: record %d is %s', $pid, $k, json_encode(substr($data, $k * SOAK_CHECK_RECORD_BYTES, SOAK_CHECK_RECORD_BYTES)));
                break;
            }
        }
        $counts[$pid] = str_repeat("\0", $n * SOAK_CHECK_ITEMS);
        $r['requests'] += $n;
        $r['workers']++;
    }
    $r['submitted'] = $r['requests'] * SOAK_CHECK_ITEMS;

    // What was delivered. Per delivery file, the index of its last batch.
    $files = glob("$dir/delivered/*") ?: [];
    $lastBatch = [];
    $saturated = false;
    foreach ($files as $file) {
        $r['deliveryFiles']++;
        $batch = -1;
        $expect = 0;
        $seen = 0;
        foreach (soak_lines($file) as $line) {
            if ($line[0] === 'B') {
                if ($batch >= 0 && $seen !== $expect) {
                    $r['tornBatches']++;
                }
                $batch++;
                $expect = (int) explode(' ', $line)[3];
                $seen = 0;
                $r['batches']++;
                continue;
            }
            if ($line[0] === '?') {
                $r['foreign']++;
                $r['deliveredItems']++;
                $seen++;
                continue;
            }
            [$pid, $req, $a, $b] = array_map('intval', explode(' ', $line));
            $n = $b - $a + 1;
            $r['deliveredItems'] += $n;
            $seen += $n;
            if (!isset($counts[$pid]) || ($req + 1) * SOAK_CHECK_ITEMS > strlen($counts[$pid]) || $a < 0 || $b >= SOAK_CHECK_ITEMS || $a > $b) {
                $r['unexpected'] += max(1, $n);
                if (count($r['unexpectedSamples']) < 5) {
                    $r['unexpectedSamples'][] = sprintf('%s: "%s"', basename($file), $line);
                }
                continue;
            }
            $s = &$counts[$pid];
            for ($o = $req * SOAK_CHECK_ITEMS + $a, $end = $req * SOAK_CHECK_ITEMS + $b; $o <= $end; $o++) {
                $c = ord($s[$o]);
                if ($c < 255) {
                    $s[$o] = chr($c + 1);
                } else {
                    $saturated = true;
                }
            }
            unset($s);
        }
        if ($batch >= 0 && $seen !== $expect) {
            $r['tornBatches']++;
        }
        $lastBatch[basename($file)] = $batch;
    }

    // Lost (count 0) and duplicated (count >= 2) items.
    $dups = [];     // pid => list of offsets
    foreach ($counts as $pid => $s) {
        $len = strlen($s);
        $o = 0;
        $lastLostReq = -1;
        while (($o += strspn($s, "\x01", $o)) < $len) {
            $c = ord($s[$o]);
            if ($c === 0) {
                $r['lost']++;
                $req = intdiv($o, SOAK_CHECK_ITEMS);
                if ($req !== $lastLostReq) {
                    $r['lostRequests']++;
                    $lastLostReq = $req;
                    if (count($r['lostSamples']) < 10) {
                        $r['lostSamples'][] = ['pid' => $pid, 'req' => $req];
                    }
                }
            } else {
                $r['duplicated']++;
                $r['extraCopies'] += $c - 1;
                $r['copies'][$c] = ($r['copies'][$c] ?? 0) + 1;
                $dups[$pid][] = $o;
            }
            $o++;
        }
        foreach ($r['lostSamples'] as &$sample) {
            if ($sample['pid'] === $pid && !isset($sample['items'])) {
                $chunk = substr($s, $sample['req'] * SOAK_CHECK_ITEMS, SOAK_CHECK_ITEMS);
                $sample['items'] = implode(',', array_keys(array_filter(str_split($chunk), static fn (string $b): bool => $b === "\0")));
            }
        }
        unset($sample);
    }
    if ($saturated) {
        $r['badRecords'][] = 'some item was delivered more than 255 times (counts saturated)';
    }
    if ($dups !== []) {
        soak_classify_duplicates($dir, $files, $lastBatch, $dups, $kills, $r);
    }
    ksort($r['copies']);
    return $r;
}

/** The complete lines of a file (a line torn by a kill, without its newline, is left out). */
function soak_lines(string $file): Generator
{
    $fh = fopen($file, 'rb');
    if ($fh === false) {
        return;
    }
    while (($line = fgets($fh)) !== false) {
        if ($line === '' || $line[-1] !== "\n") {
            break;
        }
        $line = rtrim($line, "\n");
        if ($line !== '') {
            yield $line;
        }
    }
    fclose($fh);
}

/** Finds every copy of the duplicated items, and decides what explains each. */
function soak_classify_duplicates(string $dir, array $files, array $lastBatch, array $dups, array $kills, array &$r): void
{
    $killedMasters = [];
    foreach ($kills as $k => $kill) {
        $killedMasters[$kill['master']] = $k;
        $r['perKill'][$k] = ['worker' => 0, 'workerBatches' => 0, 'receiver' => 0, 'runs' => 0];
    }
    $want = [];
    foreach ($dups as $pid => $offsets) {
        $want[$pid] = array_fill_keys($offsets, true);
    }
    // Every copy: [time, delivery file, batch index, master].
    $copies = [];
    foreach ($files as $file) {
        $name = basename($file);
        $batch = -1;
        $head = null;
        foreach (soak_lines($file) as $line) {
            if ($line[0] === 'B') {
                $batch++;
                $head = explode(' ', $line);
                continue;
            }
            if ($line[0] === '?') {
                continue;
            }
            [$pid, $req, $a, $b] = array_map('intval', explode(' ', $line));
            if (!isset($want[$pid])) {
                continue;
            }
            for ($i = $a; $i <= $b; $i++) {
                $o = $req * SOAK_CHECK_ITEMS + $i;
                if (isset($want[$pid][$o])) {
                    $copies[$pid][$o][] = [(float) $head[2], $name, $batch, (int) $head[1]];
                }
            }
        }
    }
    $workerBatches = [];
    foreach ($dups as $pid => $offsets) {
        sort($offsets);
        // Runs of consecutive duplicated items of this php-fpm worker.
        $runs = [];
        foreach ($offsets as $o) {
            $last = count($runs) - 1;
            if ($last >= 0 && end($runs[$last]) === $o - 1) {
                $runs[$last][] = $o;
            } else {
                $runs[] = [$o];
            }
        }
        foreach ($runs as $run) {
            $receiverItems = [];
            $firstAt = INF;
            foreach ($run as $o) {
                $list = $copies[$pid][$o] ?? [];
                usort($list, static fn (array $x, array $y): int => $x[0] <=> $y[0]);
                $first = $list[0] ?? null;
                if ($first !== null && isset($killedMasters[$first[3]]) && $first[2] === ($lastBatch[$first[1]] ?? -2)) {
                    $k = $killedMasters[$first[3]];
                    $r['dupWorker']++;
                    $r['perKill'][$k]['worker']++;
                    $workerBatches[$k][$first[1]] = true;
                    continue;
                }
                $receiverItems[] = $o;
                $firstAt = min($firstAt, $first[0] ?? INF);
            }
            if ($receiverItems === []) {
                continue;
            }
            // The kill before the run's first copy (1 s of slack for clocks and
            // a journal segment made ready just before the kill).
            $kill = null;
            foreach ($kills as $k => $kk) {
                if ($kk['at'] <= $firstAt + 1.0) {
                    $kill = $k;
                }
            }
            if ($kill !== null && $r['perKill'][$kill]['runs'] === 0) {
                $r['perKill'][$kill]['runs'] = 1;
                $r['perKill'][$kill]['receiver'] += count($receiverItems);
                $r['dupReceiver'] += count($receiverItems);
                continue;
            }
            $r['dupUnexplained'] += count($receiverItems);
            if (count($r['unexplainedSamples']) < 10) {
                $o = $receiverItems[0];
                $r['unexplainedSamples'][] = sprintf(
                    'worker %d request %d item %d (+%d more in the run): copies %s',
                    $pid, intdiv($o, SOAK_CHECK_ITEMS), $o % SOAK_CHECK_ITEMS, count($receiverItems) - 1,
                    implode('; ', array_map(static fn (array $c): string => sprintf('%.3f by %s batch %d of daemon %d', $c[0], $c[1], $c[2], $c[3]), $copies[$pid][$o] ?? [])),
                );
            }
        }
    }
    foreach ($workerBatches as $k => $set) {
        $r['perKill'][$k]['workerBatches'] = count($set);
    }
}

if (PHP_SAPI === 'cli' && realpath($_SERVER['SCRIPT_FILENAME'] ?? '') === __FILE__) {
    $dir = $argv[1] ?? '';
    if (!is_dir("$dir/submitted")) {
        fwrite(STDERR, "usage: php bench/soak-check.php DIR (a directory the soak test kept)\n");
        exit(2);
    }
    $kills = json_decode((string) @file_get_contents("$dir/kills.json"), true) ?: [];
    $r = soak_check($dir, $kills);
    echo json_encode($r, JSON_PRETTY_PRINT | JSON_UNESCAPED_SLASHES), "\n";
    exit($r['lost'] > 0 ? 1 : 0);
}
