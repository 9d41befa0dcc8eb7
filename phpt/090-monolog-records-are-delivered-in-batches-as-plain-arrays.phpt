--TEST--
Monolog records go to the job as plain arrays of Monolog's shape, in batches: message, context, level, level_name, channel, datetime (microseconds and time zone), extra
--SKIPIF--
<?php if (!is_file('/usr/share/php/Monolog/autoload.php')) die('skip php-monolog is not installed'); ?>
--INI--
asyncbatch.spool_dir={PWD}/090.spool
asyncbatch.failure_dir={PWD}/090.failed
error_log={PWD}/090.log
date.timezone=UTC
--FILE--
<?php
require __DIR__ . '/_monolog.inc';

use AsyncBatch\Monolog\AsyncBatchHandler;
use Monolog\DateTimeImmutable;
use Monolog\Logger;

function at(string $time, string $zone): DateTimeImmutable
{
    return DateTimeImmutable::createFromFormat('Y-m-d H:i:s.u', $time, new DateTimeZone($zone));
}

$log = new Logger('app', [new AsyncBatchHandler('logs', mono_printer(), ['batchSize' => 2])]);
$log->pushProcessor(function ($record) {
    $record['extra']['request_id'] = 'r-1';
    return $record;
});

$log->addRecord(Logger::INFO, 'user signed in', ['uid' => 42, 'ip' => '203.0.113.7'], at('2024-05-01 12:34:56.123456', 'Europe/Paris'));
echo "logged 1\n";
$log->addRecord(Logger::WARNING, "slow query\nsecond line", ['ms' => 1250.5, 'ok' => false, 'tags' => ['db', 'slow'], 'none' => null], at('2024-05-01 10:34:56.000001', 'UTC'));
echo "logged 2\n";
$log->error('payment failed', ['order' => ['id' => 7, 'total' => 19.99]]);
echo "logged 3, end of script\n";
?>
--CLEAN--
<?php
require __DIR__ . '/_child.inc';
foreach (['spool', 'failed', 'log'] as $x) {
    ab_rmrf(__DIR__ . "/090.$x");
}
?>
--EXPECT--
logged 1
delivered: batch of 2
array (
  'message' => 'user signed in',
  'context' => 
  array (
    'uid' => 42,
    'ip' => '203.0.113.7',
  ),
  'level' => 200,
  'level_name' => 'INFO',
  'channel' => 'app',
  'datetime' => '2024-05-01T12:34:56.123456+02:00',
  'extra' => 
  array (
    'request_id' => 'r-1',
  ),
)
array (
  'message' => 'slow query
second line',
  'context' => 
  array (
    'ms' => 1250.5,
    'ok' => false,
    'tags' => 
    array (
      0 => 'db',
      1 => 'slow',
    ),
    'none' => NULL,
  ),
  'level' => 300,
  'level_name' => 'WARNING',
  'channel' => 'app',
  'datetime' => '2024-05-01T10:34:56.000001+00:00',
  'extra' => 
  array (
    'request_id' => 'r-1',
  ),
)
logged 2
logged 3, end of script
delivered: batch of 1
array (
  'message' => 'payment failed',
  'context' => 
  array (
    'order' => 
    array (
      'id' => 7,
      'total' => 19.99,
    ),
  ),
  'level' => 400,
  'level_name' => 'ERROR',
  'channel' => 'app',
  'datetime' => 'NOW',
  'extra' => 
  array (
    'request_id' => 'r-1',
  ),
)
