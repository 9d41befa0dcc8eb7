<?php
// The benchmark's jobs, registered the same way by the page (bench/page.php), the
// CLI producers and the daemon's workers (bench/daemon-jobs.php):
//
// - "logs": the page's records. Its callable stands in for a transport: it adds
//   the batch's size to a file per process in AB_BENCH_COUNT_DIR, so the driver
//   can check that every item arrived. With a URL it is an AsyncBatch\HttpSink.
// - "bench": the CLI benchmarks' records; a no-op callable.
declare(strict_types=1);

/** Registers "logs": counted into AB_BENCH_COUNT_DIR, or posted to $sinkUrl. */
function bench_register_logs(AsyncBatchRunner $runner, ?string $sinkUrl = null): void
{
    $config = ['batchSize' => 500, 'callPeriod' => 0.5];
    if ($sinkUrl !== null) {
        $runner->registerAsyncJob('logs', new AsyncBatch\HttpSink($sinkUrl), $config);
        return;
    }
    $runner->registerAsyncJob('logs', static function (array $items): bool {
        $dir = getenv('AB_BENCH_COUNT_DIR');
        if (is_string($dir) && $dir !== '') {
            file_put_contents("$dir/delivered-" . getmypid(), count($items) . "\n", FILE_APPEND);
        }
        return true;
    }, $config);
}

/** Registers "bench": a no-op callable, batches of 1000 (and $config). */
function bench_register_bench(AsyncBatchRunner $runner, array $config = []): void
{
    $runner->registerAsyncJob('bench', static fn (array $items): bool => true, $config + [
        'batchSize' => 1000,
        'callPeriod' => 0.05,
    ]);
}
