--TEST--
The Monolog handler's handleBatch() queues every record it is given that is at or above its level, processed and normalised like single ones: a BufferHandler's flush, and a direct call
--SKIPIF--
<?php if (!is_file('/usr/share/php/Monolog/autoload.php')) die('skip php-monolog is not installed'); ?>
--INI--
asyncbatch.spool_dir={PWD}/094.spool
asyncbatch.failure_dir={PWD}/094.failed
error_log={PWD}/094.log
date.timezone=UTC
--FILE--
<?php
require __DIR__ . '/_monolog.inc';

use AsyncBatch\Monolog\AsyncBatchHandler;
use Monolog\Handler\BufferHandler;
use Monolog\Handler\TestHandler;
use Monolog\Logger;

$r = new AsyncBatchRunner();
$handler = new AsyncBatchHandler('logs', function (array $items): bool {
    echo 'batch of ', count($items), ': ';
    $context = fn (array $i): string => str_replace(__DIR__, 'DIR', json_encode($i['context'] + $i['extra'], JSON_UNESCAPED_SLASHES));
    echo implode(', ', array_map(fn ($i) => "{$i['level_name']} {$i['message']} " . $context($i), $items)), "\n";
    return true;
}, ['batchSize' => 100], Logger::INFO);
$handler->pushProcessor(function ($record) {
    $record['extra']['pid'] = 'p';
    return $record;
});

echo "through a BufferHandler:\n";
$buffer = new BufferHandler($handler);
$log = new Logger('app', [$buffer]);
for ($i = 1; $i <= 3; $i++) {
    $log->info("record $i", ['at' => new DateTimeImmutable("2024-05-0$i 00:00:00")]);
}
$log->debug('below the level');
echo 'submitted before the flush: ', $r->stats()['logs']['submitted'], "\n";
$buffer->flush();
echo 'submitted after the flush: ', $r->stats()['logs']['submitted'], "\n";
$r->flush('logs');

echo "a direct call:\n";
$test = new TestHandler();
(new Logger('app', [$test]))->warning('w', ['e' => new LogicException('x')]);
(new Logger('app', [$test]))->debug('d');
(new Logger('app', [$test]))->error('e', ['n' => NAN]);
$handler->handleBatch($test->getRecords());
echo 'submitted: ', $r->stats()['logs']['submitted'], "\n";
$r->flush('logs');
?>
--CLEAN--
<?php
require __DIR__ . '/_child.inc';
foreach (['spool', 'failed', 'log'] as $x) {
    ab_rmrf(__DIR__ . "/094.$x");
}
?>
--EXPECT--
through a BufferHandler:
submitted before the flush: 0
submitted after the flush: 3
batch of 3: INFO record 1 {"at":"2024-05-01T00:00:00.000000+00:00","pid":"p"}, INFO record 2 {"at":"2024-05-02T00:00:00.000000+00:00","pid":"p"}, INFO record 3 {"at":"2024-05-03T00:00:00.000000+00:00","pid":"p"}
a direct call:
submitted: 5
batch of 2: WARNING w {"e":{"class":"LogicException","message":"x","code":0,"file":"DIR/094-monolog-handle-batch-queues-every-record.php:35"},"pid":"p"}, ERROR e {"n":"NaN","pid":"p"}
