<?php
// The test application's classes, apart from bootstrap/app.php, which `php artisan
// config:cache` loads a second time.
declare(strict_types=1);

use Illuminate\Bus\Queueable;
use Illuminate\Contracts\Queue\ShouldQueue;
use Illuminate\Foundation\Bus\Dispatchable;
use Illuminate\Support\Facades\Log;

/**
 * The test job's callable (config/asyncbatch.php): works sleep_ms, then appends the
 * batch, the records' messages as items, to out (tests/src/batchlog.rs), and to
 * out.phase where it was called from: "terminate" (by the provider's terminating
 * callback), "job" (by its listener, after a queued job), or "shutdown" (by
 * asyncbatch's own shutdown function). Under php-fpm the query gives out and
 * sleep_ms; in artisan the environment (AB_OUT; AB_REFUSE=1 makes it fail).
 */
final class BatchWriter
{
    public static string $phase = 'shutdown';

    public function __invoke(array $records): bool
    {
        if (getenv('AB_REFUSE') === '1') {
            return false;
        }
        usleep((int) ($_GET['sleep_ms'] ?? 0) * 1000);
        $out = $_GET['out'] ?? getenv('AB_OUT');
        file_put_contents($out, sprintf("batch pid=%d at=%.6f n=%d items=%s\n", getmypid(), microtime(true),
            count($records), implode(',', array_column($records, 'message'))), FILE_APPEND | LOCK_EX);
        file_put_contents("$out.phase", self::$phase . "\n", FILE_APPEND | LOCK_EX);
        return true;
    }
}

/** A queued job that logs $k records tagged $tag, then throws if $fail. */
final class LogJob implements ShouldQueue
{
    use Dispatchable;
    use Queueable;

    public function __construct(public string $tag, public int $k, public bool $fail = false)
    {
    }

    public function handle(): void
    {
        for ($i = 0; $i < $this->k; $i++) {
            Log::info("{$this->tag}-$i");
        }
        if ($this->fail) {
            throw new RuntimeException("thrown-by-{$this->tag}");
        }
    }
}
