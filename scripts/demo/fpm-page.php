<?php
// Demo, part 2: a web page under php-fpm. It hands 25 log records to asyncbatch
// and answers at once. The job's callable pretends to be a slow log service
// (200 ms per batch) and appends what it received to a file: asyncbatch calls
// it after the response has been sent (fastcgi_finish_request).
declare(strict_types=1);

$out = $_GET['out'];
$req = (int) $_GET['req'];

$runner = new AsyncBatchRunner();
$runner->registerAsyncJob(
    'logs',
    static function (array $records) use ($out): bool {
        usleep(200_000); // the slow log service
        file_put_contents($out, json_encode([
            'pid' => getmypid(),
            'at' => microtime(true),
            'size' => count($records),
            'first' => $records[0],
        ], JSON_UNESCAPED_SLASHES) . "\n", FILE_APPEND | LOCK_EX);
        return true;
    },
    ['batchSize' => 10],
);

for ($i = 1; $i <= 25; $i++) {
    $runner->submitItem('logs', ['req' => $req, 'n' => $i, 'message' => "step $i of request $req"]);
}

echo "served by worker ", getmypid(), "\n";
