<?php
// The daemon's bootstrap in the benchmark: the jobs of bench/jobs.php.
declare(strict_types=1);

require __DIR__ . '/jobs.php';

$runner = new AsyncBatchRunner();
bench_register_logs($runner);
bench_register_bench($runner);
