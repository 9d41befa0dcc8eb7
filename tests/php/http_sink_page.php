<?php
// A php-fpm page that hands items to an AsyncBatch\HttpSink job and answers at once.
//
// Query: url (the sink's URL), k (items to submit), batch (batchSize), period
// (callPeriod), retries (maxRetries), delay (retryDelay), timeout, format, gzip (0/1),
// job (identifier, default e2e), tag (any text, copied into the items), counters (a
// directory where each worker counts its requests, for ordering checks).
// Items: {"pid": worker pid, "n": the worker's request number, "s": 0..k-1, "tag": tag}.
// The body: {"pid": ..., "n": ...}.
declare(strict_types=1);

$n = 0;
if (isset($_GET['counters'])) {
    // One file per worker: a worker runs one request at a time, so no lock is needed.
    $file = $_GET['counters'] . '/n-' . getmypid();
    $n = (int) @file_get_contents($file) + 1;
    file_put_contents($file, (string) $n);
}

$options = [
    'batchSize' => (int) ($_GET['batch'] ?? 100),
    'callPeriod' => (float) ($_GET['period'] ?? 0.2),
    'maxRetries' => (int) ($_GET['retries'] ?? 3),
    'retryDelay' => (float) ($_GET['delay'] ?? 0.05),
    'timeout' => (float) ($_GET['timeout'] ?? 5),
    'format' => $_GET['format'] ?? 'json',
    'gzip' => ($_GET['gzip'] ?? '0') === '1',
];
$job = $_GET['job'] ?? 'e2e';
$runner = new AsyncBatchRunner();
$runner->registerAsyncJob($job, new AsyncBatch\HttpSink($_GET['url'], $options));

$tag = $_GET['tag'] ?? '';
$count = (int) ($_GET['k'] ?? 1);
for ($s = 0; $s < $count; $s++) {
    $runner->submitItem($job, ['pid' => getmypid(), 'n' => $n, 's' => $s, 'tag' => $tag]);
}

header('Content-Type: application/json');
echo json_encode(['pid' => getmypid(), 'n' => $n]);
