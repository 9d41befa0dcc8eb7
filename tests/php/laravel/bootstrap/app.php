<?php
declare(strict_types=1);

use Illuminate\Support\Facades\Log;

/**
 * The test job's callable (config/asyncbatch.php): works sleep_ms, then appends the
 * batch, the records' messages as items, to out (tests/src/batchlog.rs), and to
 * out.phase where it was called from: "terminate" (by the provider's terminating
 * callback) or "shutdown" (by asyncbatch's own shutdown function).
 */
final class BatchWriter
{
    public static string $phase = 'shutdown';

    public function __invoke(array $records): bool
    {
        usleep((int) ($_GET['sleep_ms'] ?? 0) * 1000);
        $out = $_GET['out'];
        file_put_contents($out, sprintf("batch pid=%d at=%.6f n=%d items=%s\n", getmypid(), microtime(true),
            count($records), implode(',', array_column($records, 'message'))), FILE_APPEND | LOCK_EX);
        file_put_contents("$out.phase", self::$phase . "\n", FILE_APPEND | LOCK_EX);
        return true;
    }
}

$app = new Illuminate\Foundation\Application(dirname(__DIR__));
$app->singleton(Illuminate\Contracts\Http\Kernel::class, Illuminate\Foundation\Http\Kernel::class);
$app->singleton(Illuminate\Contracts\Console\Kernel::class, Illuminate\Foundation\Console\Kernel::class);
$app->singleton(Illuminate\Contracts\Debug\ExceptionHandler::class, Illuminate\Foundation\Exceptions\Handler::class);
// Registered before the providers boot: it runs before the provider's flush.
$app->terminating(static function (): void {
    BatchWriter::$phase = 'terminate';
});
$app->booted(static function ($app): void {
    $app['router']->get('/', static function () {
        $req = (string) ($_GET['req'] ?? '0');
        for ($i = 0; $i < (int) ($_GET['k'] ?? 1); $i++) {
            Log::info("$req-$i", ['i' => $i]);
        }
        return (string) getmypid();
    });
});

return $app;
