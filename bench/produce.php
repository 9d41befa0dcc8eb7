<?php
// A producer of the daemon throughput benchmark (bench/run.sh): submits COUNT 10-key log records
// to job "bench" as fast as it can, hands them off with flush(), and prints JSON:
// when the first and the last submit happened, and its stats().
//
//   php -d extension=... -d asyncbatch.runner=daemon ... bench/produce.php PRODUCER COUNT
declare(strict_types=1);

$producer = (int) $argv[1];
$count = (int) $argv[2];
require __DIR__ . '/jobs.php';
$runner = new AsyncBatchRunner();
bench_register_bench($runner);
$record = [
    'ts' => 1763900000.25, 'level' => 'info', 'channel' => 'app', 'msg' => 'user signed in',
    'uid' => 4242, 'ip' => '203.0.113.7', 'path' => '/account/login', 'ms' => 12.5,
    'producer' => $producer, 'seq' => 0,
];
$first = microtime(true);
for ($i = 0; $i < $count; $i++) {
    $record['seq'] = $i;
    $runner->submitItem('bench', $record);
}
$last = microtime(true);
$runner->flush('bench');
echo json_encode(['first' => $first, 'last' => $last, 'handedOff' => microtime(true),
    'stats' => $runner->stats()['bench']]), "\n";
