<?php
// A page that hands items to asyncbatch and answers at once.
//
// Query: out (batch log path), req (tag of this request), k (items to submit),
// batch (batchSize), sleep_ms (work per batch in the callable), retries
// (maxRetries), job (identifier, default e2e), mode:
//   deliver  the callable works sleep_ms, then appends one line per batch to out:
//            "batch pid=4242 at=1763900000.123456 n=4 items=r1-0,r1-1,r1-2,r1-3"
//   throw    the callable works sleep_ms, then throws: the batch ends in the
//            failure store
//   late     like deliver, and one more item "{req}-late" is submitted from a
//            destructor, which PHP runs after the shutdown functions, that is
//            after asyncbatch's delivery at the end of the request
//   hang_on  an item: a batch holding it makes the callable sleep 60 s first (for
//            php-fpm's request_terminate_timeout to kill the worker mid-batch)
// The body is the worker's pid.
declare(strict_types=1);

final class LateSubmitter
{
    public function __construct(
        private AsyncBatchRunner $runner,
        private string $job,
        private string $item,
    ) {
    }

    public function __destruct()
    {
        $this->runner->submitItem($this->job, $this->item);
    }
}

$out = $_GET['out'];
$req = $_GET['req'] ?? '0';
$count = (int) ($_GET['k'] ?? 1);
$sleepMs = (int) ($_GET['sleep_ms'] ?? 0);
$mode = $_GET['mode'] ?? 'deliver';
$job = $_GET['job'] ?? 'e2e';
$hangOn = $_GET['hang_on'] ?? null;

$runner = new AsyncBatchRunner();
$runner->registerAsyncJob(
    $job,
    static function (array $items) use ($out, $sleepMs, $mode, $hangOn): bool {
        if ($hangOn !== null && in_array($hangOn, $items, true)) {
            sleep(60);
        }
        usleep($sleepMs * 1000);
        if ($mode === 'throw') {
            throw new RuntimeException('e2e: the sink refused the batch');
        }
        $line = sprintf(
            "batch pid=%d at=%.6f n=%d items=%s\n",
            getmypid(),
            microtime(true),
            count($items),
            implode(',', $items),
        );
        file_put_contents($out, $line, FILE_APPEND | LOCK_EX);
        return true;
    },
    [
        'batchSize' => (int) ($_GET['batch'] ?? 100),
        'maxRetries' => (int) ($_GET['retries'] ?? 3),
        'retryDelay' => 0.01,
    ],
);

for ($i = 0; $i < $count; $i++) {
    $runner->submitItem($job, "$req-$i");
}
if ($mode === 'late') {
    $GLOBALS['late'] = new LateSubmitter($runner, $job, "$req-late");
}

header('Content-Type: text/plain');
echo getmypid();
