<?php
// A producer of the hostile-users tests (tests/tests/hostile_users.rs), run as an
// unprivileged user with the runner, directories and queue the test chooses by ini.
//
//   php hostile_producer.php OUT JOB COUNT MODE [PREFIX]
//
// Registers JOB, whose callable appends one line per batch to OUT
// ("n=3 items=JOB-0,JOB-1,JOB-2"), submits the string items "PREFIX-0" ..
// "PREFIX-{COUNT-1}" (PREFIX defaults to JOB), then, by MODE:
//   deliver  flush() now
//   spill    maxQueueSize 1: every submit puts the queue in the spool; then flush()
//   stuck    maxQueueSize 1, no flush(), and the callable exits the process when it is
//            called: the items stay in the spool, one segment each
//   fail     the callable returns false, maxRetries 0: flush() stores the batches as
//            failed
//   handoff  no flush(): with the daemon runner the items are handed off at exit
//   retry    submits nothing: registers JOB and calls retryFailed(JOB)
// and prints one JSON line: {"flushed": n|null, "retried": n|null, "error": "Class: msg"|null,
// "stats": stats()[JOB]|null}. What is left is the runner's at shutdown, as usual.
declare(strict_types=1);

[, $out, $job, $count, $mode] = $argv;
$count = (int) $count;
$prefix = $argv[5] ?? $job;

$callable = static function (array $items) use ($out, $mode): bool {
    if ($mode === 'fail') {
        return false;
    }
    if ($mode === 'stuck') {
        exit(0);
    }
    $line = sprintf("n=%d items=%s\n", count($items), implode(',', $items));
    file_put_contents($out, $line, FILE_APPEND | LOCK_EX);
    return true;
};
$config = ['batchSize' => 100, 'callPeriod' => 60, 'maxRetries' => 0, 'retryDelay' => 0];
if ($mode === 'spill' || $mode === 'stuck') {
    $config['maxQueueSize'] = 1;
}

$runner = new AsyncBatchRunner();
$runner->registerAsyncJob($job, $callable, $config);
$report = ['flushed' => null, 'retried' => null, 'error' => null];
try {
    if ($mode === 'retry') {
        $report['retried'] = AsyncBatchRunner::retryFailed($job);
    } else {
        for ($i = 0; $i < $count; $i++) {
            $runner->submitItem($job, "$prefix-$i");
        }
        if ($mode !== 'handoff' && $mode !== 'stuck') {
            $report['flushed'] = $runner->flush($job);
        }
    }
} catch (Throwable $e) {
    $report['error'] = get_class($e) . ': ' . $e->getMessage();
}
$report['stats'] = $runner->stats()[$job] ?? null;
echo json_encode($report, JSON_UNESCAPED_SLASHES), "\n";
