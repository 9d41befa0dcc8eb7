--TEST--
The Monolog handler's reset() (Logger::reset(), as a long-running worker calls between requests) and close() deliver the job's records now; close() again delivers only what came since; destroying the handler delivers nothing before the end; a flush that fails is logged, not thrown
--SKIPIF--
<?php if (!is_file('/usr/share/php/Monolog/autoload.php')) die('skip php-monolog is not installed'); ?>
--INI--
asyncbatch.spool_dir={PWD}/124.spool
asyncbatch.failure_dir={PWD}/124.failed
error_log={PWD}/124.log
date.timezone=UTC
--FILE--
<?php
require __DIR__ . '/_monolog.inc';

use AsyncBatch\Monolog\AsyncBatchHandler;
use Monolog\Logger;

$print = function (array $items): bool {
    echo '  delivered: ', implode(', ', array_column($items, 'message')), "\n";
    return true;
};
$log = new Logger('app', [new AsyncBatchHandler('logs', $print, ['batchSize' => 100, 'callPeriod' => 3600])]);
$log->info('request 1: a');
$log->info('request 1: b');
echo "Logger::reset():\n";
$log->reset();
$log->info('request 2: c');
echo "close():\n";
$log->close();
echo "close() again:\n";
$log->close();
$log->info('request 3: d');
echo "the logger and its handler destroyed:\n";
unset($log);
gc_collect_cycles();

echo "a handler whose job is not registered:\n";
$orphan = new Logger('app', [new AsyncBatchHandler('nowhere')]);
$orphan->info('lost?');
$orphan->reset();
$orphan->close();
foreach (file(__DIR__ . '/124.log', FILE_IGNORE_NEW_LINES) as $line) {
    echo '  logged: ', preg_replace('/^\[[^]]*\] /', '', $line), "\n";
}
echo "end of script\n";
?>
--CLEAN--
<?php
require __DIR__ . '/_child.inc';
foreach (['spool', 'failed', 'log'] as $x) {
    ab_rmrf(__DIR__ . "/124.$x");
}
?>
--EXPECTF--
Logger::reset():
  delivered: request 1: a, request 1: b
close():
  delivered: request 2: c
close() again:
the logger and its handler destroyed:
a handler whose job is not registered:
  logged: asyncbatch: job 'nowhere': a Monolog record was not queued (%s): {"message":"lost?"%s}
  logged: asyncbatch: job 'nowhere': the Monolog handler's reset() could not flush the job (AsyncBatch\UnknownJobException: %s)
  logged: asyncbatch: job 'nowhere': the Monolog handler's close() could not flush the job (AsyncBatch\UnknownJobException: %s)
end of script
  delivered: request 3: d
