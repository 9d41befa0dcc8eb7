--TEST--
The Monolog handler registers its job when given a callable (its config applied, a later handler replacing it), uses a job registered elsewhere when not, and refuses a config without a callable or a bad config at construction
--SKIPIF--
<?php if (!is_file('/usr/share/php/Monolog/autoload.php')) die('skip php-monolog is not installed'); ?>
--INI--
asyncbatch.spool_dir={PWD}/097.spool
asyncbatch.failure_dir={PWD}/097.failed
error_log={PWD}/097.log
date.timezone=UTC
--FILE--
<?php
require __DIR__ . '/_monolog.inc';

use AsyncBatch\Monolog\AsyncBatchHandler;
use Monolog\Logger;

function messages(string $name): Closure
{
    return function (array $items) use ($name): bool {
        echo "$name: ", implode(', ', array_column($items, 'message')), "\n";
        return true;
    };
}

$r = new AsyncBatchRunner();
$log = new Logger('app', [new AsyncBatchHandler('logs', messages('first callable'), ['batchSize' => 2])]);
$log->info('one');
echo "logged one\n";
$log->info('two');
echo "logged two\n";
// As with registerAsyncJob(), registering the job again replaces callable and config.
new AsyncBatchHandler('logs', messages('second callable'), ['batchSize' => 1]);
$log->info('three');
echo "logged three\n";

$r->registerAsyncJob('audit', messages('registered elsewhere'));
$audit = new Logger('audit', [new AsyncBatchHandler('audit')]);
$audit->notice('four');
$r->flush();

$bad = [
    'a config without a callable' => fn () => new AsyncBatchHandler('audit', null, ['batchSize' => 5]),
    'a bad config' => fn () => new AsyncBatchHandler('logs', fn () => true, ['batchSize' => 0]),
    'an unknown config key' => fn () => new AsyncBatchHandler('logs', fn () => true, ['size' => 5]),
    'a bad job identifier' => fn () => new AsyncBatchHandler('', fn () => true),
];
foreach ($bad as $what => $make) {
    try {
        $make();
        echo "$what: accepted!\n";
    } catch (InvalidArgumentException $e) {
        echo "$what: ", get_class($e), ': ', $e->getMessage(), "\n";
    }
}
?>
--CLEAN--
<?php
require __DIR__ . '/_child.inc';
foreach (['spool', 'failed', 'log'] as $x) {
    ab_rmrf(__DIR__ . "/097.$x");
}
?>
--EXPECT--
logged one
first callable: one, two
logged two
second callable: three
logged three
registered elsewhere: four
a config without a callable: AsyncBatch\InvalidConfigException: A config for job 'audit' needs a callable to register the job with; without one the job must be registered elsewhere
a bad config: AsyncBatch\InvalidConfigException: Config key 'batchSize' of job 'logs' must be an integer >= 1, got 0
an unknown config key: AsyncBatch\InvalidConfigException: Unknown config key 'size' for job 'logs' (known keys: batchSize, callPeriod, maxRetries, retryDelay, maxQueueSize, withBatchId)
a bad job identifier: AsyncBatch\InvalidConfigException: Invalid job identifier '': it must be 1 to 128 bytes long with no NUL byte
