<?php
// A producer of the daemon tests: submits records to a job and prints its stats()
// as JSON at the end. Run with the runner the test chooses (ini or ASYNCBATCH_RUNNER).
//
//   php daemon_producer.php JOB PRODUCER COUNT [CHUNK PAUSE_MS [KIND [SHUTDOWN_OUT]]]
//
// Items: KIND record (default) is a 10-key log record with p = PRODUCER and
// s = 0..COUNT-1; KIND string is "p{PRODUCER}-{s}". CHUNK items are submitted, then
// the producer sleeps PAUSE_MS, and so on (default: all at once). The job's callable,
// called only by the shutdown runner, appends to SHUTDOWN_OUT like daemon_jobs.php.
declare(strict_types=1);

[, $job, $producer, $count] = $argv;
$producer = (int) $producer;
$count = (int) $count;
$chunk = (int) ($argv[4] ?? $count) ?: $count;
$pauseMs = (int) ($argv[5] ?? 0);
$kind = $argv[6] ?? 'record';
$shutdownOut = $argv[7] ?? '/dev/null';

$runner = new AsyncBatchRunner();
$runner->registerAsyncJob($job, static function (array $items) use ($shutdownOut): bool {
    $ids = [];
    foreach ($items as $item) {
        $ids[] = is_array($item) ? 'p' . $item['p'] . '-' . $item['s'] : (string) $item;
    }
    $line = sprintf("batch pid=%d at=%.6f n=%d items=%s\n", getmypid(), microtime(true), count($ids), implode(',', $ids));
    file_put_contents($shutdownOut, $line, FILE_APPEND | LOCK_EX);
    return true;
}, ['batchSize' => 1000, 'callPeriod' => 60]);

$start = hrtime(true);
for ($s = 0; $s < $count; $s++) {
    if ($kind === 'string') {
        $runner->submitItem($job, "p$producer-$s");
    } else {
        $runner->submitItem($job, [
            'p' => $producer,
            's' => $s,
            'ts' => 1763900000.25,
            'level' => 'info',
            'channel' => 'app',
            'msg' => 'user signed in',
            'uid' => 4242,
            'ip' => '203.0.113.7',
            'path' => '/account/login',
            'ms' => 12.5,
        ]);
    }
    if ($pauseMs > 0 && ($s + 1) % $chunk === 0) {
        usleep($pauseMs * 1000);
    }
}
$elapsed = (hrtime(true) - $start) / 1e9;
$handedOff = $runner->flush($job);
echo json_encode([
    'pid' => getmypid(),
    'elapsed' => $elapsed,
    'flushed' => $handedOff,
    'stats' => $runner->stats()[$job] ?? null,
]), "\n";
