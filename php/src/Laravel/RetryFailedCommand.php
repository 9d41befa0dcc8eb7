<?php

declare(strict_types=1);

namespace AsyncBatch\Laravel;

use AsyncBatchRunner;
use Illuminate\Console\Command;

/**
 * `php artisan asyncbatch:retry-failed [job]`: the failed batches of the failure
 * store sent again through the jobs config/asyncbatch.php registers (the
 * application's own callables; the standalone `asyncbatch failed:retry` needs a
 * bootstrap file for that). A batch that fails again stays stored.
 */
final class RetryFailedCommand extends Command
{
    /** @var string */
    protected $signature = 'asyncbatch:retry-failed {job? : only this job\'s batches}';

    /** @var string */
    protected $description = 'Send the failed batches of asyncbatch\'s failure store again';

    public function handle(): int
    {
        $job = $this->argument('job');
        $delivered = AsyncBatchRunner::retryFailed(\is_string($job) ? $job : null);
        $this->line("asyncbatch: $delivered items delivered from the failure store;"
            . ' a batch that failed again stays stored (asyncbatch failed:list)');

        return self::SUCCESS;
    }
}
