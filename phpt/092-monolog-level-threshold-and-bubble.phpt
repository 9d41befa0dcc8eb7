--TEST--
The Monolog handler queues only records at or above its level (debug by default; an int, a name or a PSR-3 level) and, with bubble off, stops them from reaching the handlers below it
--SKIPIF--
<?php if (!is_file('/usr/share/php/Monolog/autoload.php')) die('skip php-monolog is not installed'); ?>
--INI--
asyncbatch.spool_dir={PWD}/092.spool
asyncbatch.failure_dir={PWD}/092.failed
error_log={PWD}/092.log
date.timezone=UTC
--FILE--
<?php
require __DIR__ . '/_monolog.inc';

use AsyncBatch\Monolog\AsyncBatchHandler;
use Monolog\Handler\TestHandler;
use Monolog\Logger;
use Psr\Log\LogLevel;

$deliver = function (array $items): bool {
    foreach ($items as $item) {
        echo "  queued: {$item['level_name']} {$item['message']}\n";
    }
    return true;
};
$r = new AsyncBatchRunner();
echo 'the default level: ', mono_level((new AsyncBatchHandler('logs', $deliver))->getLevel()), "\n";
foreach (['int' => Logger::WARNING, 'name' => 'WARNING', 'PSR-3 level' => LogLevel::WARNING] as $how => $level) {
    echo "level given as $how:\n";
    $h = new AsyncBatchHandler('logs', $deliver, [], $level);
    echo '  getLevel(): ', mono_level($h->getLevel()), "\n";
    $log = new Logger('app', [$h]);
    $log->debug('debug');
    $log->notice('notice');
    $log->warning('warning');
    $log->critical('critical');
    $r->flush('logs');
}

echo "bubble on (the default): the handler below sees every record\n";
$below = new TestHandler();
$log = new Logger('app', [new AsyncBatchHandler('logs', $deliver, [], 'ERROR'), $below]);
$log->info('info');
$log->error('error');
$r->flush('logs');
echo '  below: ', implode(', ', array_column($below->getRecords(), 'message')), "\n";

echo "bubble off: the records it handles stop there\n";
$below = new TestHandler();
$log = new Logger('app', [new AsyncBatchHandler('logs', $deliver, [], 'ERROR', false), $below]);
$log->info('info');
$log->error('error');
$r->flush('logs');
echo '  below: ', implode(', ', array_column($below->getRecords(), 'message')), "\n";
?>
--CLEAN--
<?php
require __DIR__ . '/_child.inc';
foreach (['spool', 'failed', 'log'] as $x) {
    ab_rmrf(__DIR__ . "/092.$x");
}
?>
--EXPECT--
the default level: 100
level given as int:
  getLevel(): 300
  queued: WARNING warning
  queued: CRITICAL critical
level given as name:
  getLevel(): 300
  queued: WARNING warning
  queued: CRITICAL critical
level given as PSR-3 level:
  getLevel(): 300
  queued: WARNING warning
  queued: CRITICAL critical
bubble on (the default): the handler below sees every record
  queued: ERROR error
  below: info, error
bubble off: the records it handles stop there
  queued: ERROR error
  below: info
