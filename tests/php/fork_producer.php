<?php
// A CLI producer that forks, for the exit-bound tests: registers the jobs of
// daemon_jobs.php (AB_E2E_* environment) and, CHILDREN times, submits COUNT items
// "parent{k}-{s}", forks a child that submits COUNT items "child{k}-{s}" and exits,
// and waits for that child while its own items are still being handed off. One
// JSON line per event:
//
//   {"child": k, "end": T}             the child's last statement, at unix time T
//   {"reaped": k, "at": T, "status": n} the parent saw child k exit, at T
//   {"parent": pid, "end": T}          the parent's last statement
//
//   php fork_producer.php CHILDREN COUNT
declare(strict_types=1);

require __DIR__ . '/daemon_jobs.php';

[, $children, $count] = $argv;
$job = explode(',', getenv('AB_E2E_JOBS') ?: 'e2e')[0];
$runner = new AsyncBatchRunner();
for ($k = 0; $k < (int) $children; $k++) {
    for ($s = 0; $s < (int) $count; $s++) {
        $runner->submitItem($job, "parent$k-$s");
    }
    $pid = pcntl_fork();
    if ($pid === -1) {
        exit("fork failed\n");
    }
    if ($pid === 0) {
        for ($s = 0; $s < (int) $count; $s++) {
            $runner->submitItem($job, "child$k-$s");
        }
        echo json_encode(['child' => $k, 'end' => microtime(true)]), "\n";
        exit(0);
    }
    pcntl_waitpid($pid, $status);
    $at = microtime(true);
    echo json_encode(['reaped' => $k, 'at' => $at, 'status' => pcntl_wexitstatus($status)]), "\n";
}
echo json_encode(['parent' => getmypid(), 'end' => microtime(true)]), "\n";
