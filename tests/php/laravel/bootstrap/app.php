<?php
declare(strict_types=1);

use Illuminate\Database\Schema\Blueprint;
use Illuminate\Queue\Events\JobProcessing;
use Illuminate\Support\Facades\Log;
use Illuminate\Support\Facades\Schema;

require_once __DIR__ . '/classes.php';

$app = new Illuminate\Foundation\Application(dirname(__DIR__));
$app->singleton(Illuminate\Contracts\Http\Kernel::class, Illuminate\Foundation\Http\Kernel::class);
$app->singleton(Illuminate\Contracts\Console\Kernel::class, Illuminate\Foundation\Console\Kernel::class);
$app->singleton(Illuminate\Contracts\Debug\ExceptionHandler::class, Illuminate\Foundation\Exceptions\Handler::class);
// Registered before the providers boot: these run before the provider's delivery.
$app->terminating(static function (): void {
    BatchWriter::$phase = 'terminate';
});
$app['events']->listen(JobProcessing::class, static function (): void {
    BatchWriter::$phase = 'job';
});
$app->booted(static function ($app): void {
    $app['router']->get('/', static function () {
        $req = (string) ($_GET['req'] ?? '0');
        for ($i = 0; $i < (int) ($_GET['k'] ?? 1); $i++) {
            Log::info("$req-$i", ['i' => $i]);
        }
        return (string) getmypid();
    });
    $console = $app->make(Illuminate\Contracts\Console\Kernel::class);
    // Queues LogJob(tag, k, --fail) on the database queue, its table made if need be.
    $console->command('e2e:push {tag} {k} {--fail}', function (string $tag, string $k) {
        // Laravel's SQLite connection wants the file to exist.
        touch(config('database.connections.sqlite.database'));
        if (!Schema::hasTable('jobs')) {
            Schema::create('jobs', static function (Blueprint $t): void {
                $t->bigIncrements('id');
                $t->string('queue')->index();
                $t->longText('payload');
                $t->unsignedTinyInteger('attempts');
                $t->unsignedInteger('reserved_at')->nullable();
                $t->unsignedInteger('available_at');
                $t->unsignedInteger('created_at');
            });
        }
        LogJob::dispatch($tag, $k, (bool) $this->option('fail'));
    });
    // Logs k records tagged tag, delivered when the command ends.
    $console->command('e2e:log {tag} {k}', function (string $tag, string $k) {
        for ($i = 0; $i < $k; $i++) {
            Log::info("$tag-$i");
        }
    });
});

return $app;
