<?php
// One side of the submitItem benchmark, run by bench/bench.php in a process of its own:
//
//   php [-d extension=... | -d auto_prepend_file=php/autoload.php] bench/submit.php MODE ROUNDS PER_ROUND
//
// MODE none: the same loop without asyncbatch (the loop's own cost); any other
// MODE: submitItem() with whatever runner the settings select. Each round times
// PER_ROUND submits of the same item with hrtime(); between rounds, untimed,
// flush() delivers (shutdown runner, polyfill) or hands off (daemon runner) what
// the round queued. Prints JSON: median and best ns per item, per kind of item.
declare(strict_types=1);

$mode = $argv[1] ?? 'submit';
$rounds = (int) ($argv[2] ?? 200);
$perRound = (int) ($argv[3] ?? 1000);

// A 10-key log record, and a 120-byte log line.
$record = [
    'ts' => 1763900000.25,
    'level' => 'info',
    'channel' => 'app',
    'msg' => 'user signed in',
    'uid' => 4242,
    'ip' => '203.0.113.7',
    'path' => '/account/login',
    'ms' => 12.5,
    'status' => 200,
    'agent' => 'Mozilla/5.0 (X11; Linux x86_64)',
];
$line = str_pad('2025-11-23T12:00:00.123Z INFO app: user signed in uid=4242 ip=203.0.113.7 path=/account/login ms=12.5', 120, '.');
assert(strlen($line) === 120);

$runner = null;
if ($mode !== 'none') {
    require __DIR__ . '/jobs.php';
    $runner = new AsyncBatchRunner();
    // Nothing is delivered inside a timed round: batches and queues larger than a
    // round, a period longer than the run.
    bench_register_bench($runner, ['batchSize' => $perRound * 2, 'maxQueueSize' => $perRound * 2, 'callPeriod' => 3600]);
}

$out = [];
foreach (['record' => $record, 'string' => $line] as $kind => $item) {
    $perItem = [];
    for ($r = -3; $r < $rounds; $r++) { // 3 warm-up rounds
        if ($runner === null) {
            $t = hrtime(true);
            for ($i = 0; $i < $perRound; $i++) {
                $sink = $item;
            }
            $ns = hrtime(true) - $t;
        } else {
            $t = hrtime(true);
            for ($i = 0; $i < $perRound; $i++) {
                $runner->submitItem('bench', $item);
            }
            $ns = hrtime(true) - $t;
            $runner->flush('bench');
        }
        if ($r >= 0) {
            $perItem[] = $ns / $perRound;
        }
    }
    sort($perItem);
    $out[$kind] = ['median' => $perItem[intdiv(count($perItem), 2)], 'best' => $perItem[0]];
}
if ($runner !== null) {
    $stats = $runner->stats()['bench'];
    $out['submitted'] = $stats['submitted'];
    $out['dropped'] = $stats['dropped'];
}
echo json_encode($out), "\n";
