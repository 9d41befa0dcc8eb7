--TEST--
Behind a Monolog FingersCrossedHandler, records below the action level wait in its buffer and are queued, all of them, once an error comes; without an error nothing is delivered
--SKIPIF--
<?php if (!is_file('/usr/share/php/Monolog/autoload.php')) die('skip php-monolog is not installed'); ?>
--INI--
asyncbatch.spool_dir={PWD}/093.spool
asyncbatch.failure_dir={PWD}/093.failed
error_log={PWD}/093.log
date.timezone=UTC
--FILE--
<?php
require __DIR__ . '/_monolog.inc';

use AsyncBatch\Monolog\AsyncBatchHandler;
use Monolog\Handler\FingersCrossedHandler;
use Monolog\Logger;

function lines(string $job): Closure
{
    return function (array $items) use ($job): bool {
        echo "$job: batch of ", count($items), ': ';
        echo implode(', ', array_map(fn ($i) => "{$i['level_name']} {$i['message']}", $items)), "\n";
        return true;
    };
}
function submitted(string $job): int
{
    return (new AsyncBatchRunner())->stats()[$job]['submitted'] ?? 0;
}

$quiet = new Logger('app', [new FingersCrossedHandler(new AsyncBatchHandler('quiet', lines('quiet')), Logger::ERROR)]);
$quiet->debug('cache miss');
$quiet->info('request handled');
$quiet->warning('slow');

$log = new Logger('app', [new FingersCrossedHandler(new AsyncBatchHandler('logs', lines('logs')), Logger::ERROR)]);
$log->debug('cache miss');
$log->info('calling the payment service');
echo 'before the error: quiet ', submitted('quiet'), ', logs ', submitted('logs'), " submitted\n";
$log->error('payment failed');
echo 'after the error: logs ', submitted('logs'), " submitted\n";
$log->debug('after the error, passed through');
echo 'at the end: quiet ', submitted('quiet'), ', logs ', submitted('logs'), " submitted\n";
?>
--CLEAN--
<?php
require __DIR__ . '/_child.inc';
foreach (['spool', 'failed', 'log'] as $x) {
    ab_rmrf(__DIR__ . "/093.$x");
}
?>
--EXPECT--
before the error: quiet 0, logs 0 submitted
after the error: logs 3 submitted
at the end: quiet 0, logs 4 submitted
logs: batch of 4: DEBUG cache miss, INFO calling the payment service, ERROR payment failed, DEBUG after the error, passed through
