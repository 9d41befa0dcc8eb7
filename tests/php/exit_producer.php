<?php
// A CLI producer of the exit-bound tests: registers the job of http_sink_jobs.php
// (KIND sink, configured by the AB_HTTP_* environment) or of daemon_jobs.php (KIND
// plain, AB_E2E_* environment), submits COUNT string items "TAG-0".."TAG-{COUNT-1}"
// and ends. Its last statement prints one JSON line: stats() of the job and `end`,
// the unix time at which the script itself was done; what happens after that
// (the runner's shutdown, background threads) is the exit the tests measure.
//
//   php exit_producer.php KIND TAG COUNT
declare(strict_types=1);

[, $kind, $tag, $count] = $argv;
if ($kind === 'sink') {
    require __DIR__ . '/http_sink_jobs.php';
    $job = getenv('AB_HTTP_JOB') ?: 'e2e';
} else {
    require __DIR__ . '/daemon_jobs.php';
    $job = explode(',', getenv('AB_E2E_JOBS') ?: 'e2e')[0];
}
$runner = new AsyncBatchRunner();
for ($s = 0; $s < (int) $count; $s++) {
    $runner->submitItem($job, "$tag-$s");
}
$stats = $runner->stats()[$job] ?? null;
echo json_encode(['pid' => getmypid(), 'stats' => $stats, 'end' => microtime(true)]), "\n";
