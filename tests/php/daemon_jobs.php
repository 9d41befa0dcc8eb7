<?php
// The daemon's bootstrap in the end-to-end tests: registers the test jobs, whose
// callables append one line per batch to $AB_E2E_OUT (with flock):
//   "batch pid=4242 at=1763900000.123456 n=3 items=p1-0,p1-1,p1-2"
// An item is a string (written as is) or a record with keys p (producer) and s
// (sequence) (written "p{p}-{s}").
//
// Environment:
//   AB_E2E_OUT        the batch log (required)
//   AB_E2E_JOBS       comma-separated job identifiers (default e2e)
//   AB_E2E_BATCH      batchSize (default 1000)
//   AB_E2E_PERIOD     callPeriod in seconds (default 0.2)
//   AB_E2E_SLEEP_MS   work per batch, in ms (default 0); each slow batch appends a line
//                     to $AB_E2E_OUT.started when it starts
//   AB_E2E_MODE       deliver (default); fail: the callable throws (maxRetries 0);
//                     throw: this file throws; none: this file registers nothing;
//                     exit: this file calls exit(3);
//                     noop: the callable does nothing but count items in $AB_E2E_OUT.count
declare(strict_types=1);

$mode = getenv('AB_E2E_MODE') ?: 'deliver';
if ($mode === 'throw') {
    throw new RuntimeException('e2e: the bootstrap cannot reach its config');
}
if ($mode === 'none') {
    return;
}
if ($mode === 'exit') {
    exit(3);
}
$out = getenv('AB_E2E_OUT');
if (!is_string($out) || $out === '') {
    throw new RuntimeException('AB_E2E_OUT is not set');
}
$sleepMs = (int) (getenv('AB_E2E_SLEEP_MS') ?: 0);

$callable = static function (array $items) use ($out, $sleepMs, $mode): bool {
    if ($mode === 'fail') {
        throw new RuntimeException('e2e: the sink refused the batch');
    }
    if ($sleepMs > 0) {
        // Marks the start of a slow batch, so a test knows one is in hand.
        file_put_contents("$out.started", sprintf("%d %d\n", getmypid(), count($items)), FILE_APPEND | LOCK_EX);
        // Work that a signal does not cut short (usleep() returns early on one).
        $until = microtime(true) + $sleepMs / 1000;
        while (($left = $until - microtime(true)) > 0) {
            usleep((int) ceil($left * 1e6));
        }
    }
    if ($mode === 'noop') {
        $fh = fopen("$out.count", 'c+');
        flock($fh, LOCK_EX);
        $n = (int) stream_get_contents($fh) + count($items);
        ftruncate($fh, 0);
        rewind($fh);
        fwrite($fh, sprintf("%d %.6f\n", $n, microtime(true)));
        fclose($fh);
        return true;
    }
    $ids = [];
    foreach ($items as $item) {
        $ids[] = is_array($item) ? 'p' . $item['p'] . '-' . $item['s'] : (string) $item;
    }
    $line = sprintf("batch pid=%d at=%.6f n=%d items=%s\n", getmypid(), microtime(true), count($ids), implode(',', $ids));
    file_put_contents($out, $line, FILE_APPEND | LOCK_EX);
    return true;
};

$runner = new AsyncBatchRunner();
foreach (explode(',', getenv('AB_E2E_JOBS') ?: 'e2e') as $job) {
    $runner->registerAsyncJob($job, $callable, [
        'batchSize' => (int) (getenv('AB_E2E_BATCH') ?: 1000),
        'callPeriod' => (float) (getenv('AB_E2E_PERIOD') ?: 0.2),
        'maxRetries' => $mode === 'fail' ? 0 : 3,
        'retryDelay' => 0.01,
    ]);
}
