<?php

/**
 * The image's example page, in place of an application: it registers the jobs
 * (config/asyncbatch-jobs.php, the file the daemon loads too) and hands log records
 * off to asyncbatch. Mount or copy your application over /var/www/app.
 *
 * `?records=N` submits N records (1 to 1000, default 1).
 */

declare(strict_types=1);

require dirname(__DIR__) . '/config/asyncbatch-jobs.php';

$runner = new AsyncBatchRunner();
$records = max(1, min(1000, (int) ($_GET['records'] ?? 1)));
$uri = (string) ($_SERVER['REQUEST_URI'] ?? '/');
for ($i = 0; $i < $records; $i++) {
    // Returns at once: the daemon (or, without one, this worker after the
    // response) delivers the records in batches.
    $runner->submitItem('logs', [
        'ts' => microtime(true),
        'level' => 'info',
        'msg' => "example record $i",
        'ctx' => ['uri' => $uri, 'pid' => getmypid()],
    ]);
}

header('Content-Type: text/plain; charset=utf-8');
printf("submitted %d log %s to the job 'logs'\n", $records, $records === 1 ? 'record' : 'records');
