<?php
// A CLI producer of the HTTP sink tests: registers the job of http_sink_jobs.php
// (configured by the AB_HTTP_* environment), submits records, and prints its
// stats() as JSON.
//
//   php http_sink_cli.php PRODUCER COUNT [flush]
//
// Items: {"p": PRODUCER, "s": 0..COUNT-1, "msg": "...", "ctx": {...}}. With `flush`,
// flush() is called at the end (and its result printed).
declare(strict_types=1);

require __DIR__ . '/http_sink_jobs.php';

[, $producer, $count] = $argv;
$flush = ($argv[3] ?? '') === 'flush';
$job = getenv('AB_HTTP_JOB') ?: 'e2e';
$runner = new AsyncBatchRunner();
$start = hrtime(true);
for ($s = 0; $s < (int) $count; $s++) {
    $runner->submitItem($job, [
        'p' => (int) $producer,
        's' => $s,
        'msg' => "user signed in \u{2713} / étape $s",
        'ctx' => ['ip' => '203.0.113.7', 'ms' => 12.5, 'tags' => ['a', 'b'], 'ok' => true, 'none' => null],
    ]);
}
$elapsed = (hrtime(true) - $start) / 1e9;
$flushed = $flush ? $runner->flush($job) : null;
echo json_encode([
    'pid' => getmypid(),
    'elapsed' => $elapsed,
    'flushed' => $flushed,
    'stats' => $runner->stats()[$job] ?? null,
]), "\n";
