<?php
// The daemon's bootstrap in the benchmark: job "bench" with a no-op callable,
// batches of 1000, and a short period so that the last partial batch goes quickly.
declare(strict_types=1);

(new AsyncBatchRunner())->registerAsyncJob('bench', static fn (array $items): bool => true, [
    'batchSize' => 1000,
    'callPeriod' => 0.05,
]);
