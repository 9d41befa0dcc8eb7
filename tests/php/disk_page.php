<?php
// A php-fpm page of the disk-full tests: hands items to a job and answers at once
// with the worker's pid; when the request is over (after asyncbatch's delivery at
// its end), appends the job's stats() to a file.
//
// Query: req (tag of the items "{req}-{i}"), k (items), batch (batchSize),
// job (identifier, default e2e), stats (file the stats line is appended to),
// flush (1: flush() the job before answering), and the callable:
//   mode=deliver  sleeps sleep_ms per batch, then appends one line per batch to out:
//                 "batch pid=4242 at=1763900000.123456 n=2 items=r1-0,r1-1"
//   mode=sink     an AsyncBatch\HttpSink posting to url (maxRetries 0)
// The stats line: {"pid": ..., "req": ..., "stats": {...}}.
declare(strict_types=1);

/** Writes the stats when PHP destroys the globals: after the shutdown functions. */
final class StatsReport
{
    public function __construct(
        private AsyncBatchRunner $runner,
        private string $job,
        private string $req,
        private string $file,
    ) {
    }

    public function __destruct()
    {
        $line = json_encode([
            'pid' => getmypid(),
            'req' => $this->req,
            'stats' => $this->runner->stats()[$this->job] ?? null,
        ]) . "\n";
        file_put_contents($this->file, $line, FILE_APPEND | LOCK_EX);
    }
}

$req = $_GET['req'] ?? '0';
$job = $_GET['job'] ?? 'e2e';
$count = (int) ($_GET['k'] ?? 1);
$mode = $_GET['mode'] ?? 'deliver';
$config = ['batchSize' => (int) ($_GET['batch'] ?? 100), 'maxRetries' => 0];

$runner = new AsyncBatchRunner();
if ($mode === 'sink') {
    $runner->registerAsyncJob($job, new AsyncBatch\HttpSink($_GET['url'], ['timeout' => 2, 'callPeriod' => 0.05]), $config);
} else {
    $out = $_GET['out'];
    $sleepMs = (int) ($_GET['sleep_ms'] ?? 0);
    $runner->registerAsyncJob($job, static function (array $items) use ($out, $sleepMs): bool {
        usleep($sleepMs * 1000);
        $line = sprintf("batch pid=%d at=%.6f n=%d items=%s\n", getmypid(), microtime(true), count($items), implode(',', $items));
        file_put_contents($out, $line, FILE_APPEND | LOCK_EX);
        return true;
    }, $config);
}
for ($i = 0; $i < $count; $i++) {
    $runner->submitItem($job, "$req-$i");
}
if (($_GET['flush'] ?? '') === '1') {
    $runner->flush($job);
}
if (isset($_GET['stats'])) {
    $GLOBALS['statsReport'] = new StatsReport($runner, $job, $req, $_GET['stats']);
}

header('Content-Type: text/plain');
echo getmypid();
