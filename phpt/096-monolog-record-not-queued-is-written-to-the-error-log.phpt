--TEST--
A Monolog record that cannot be queued, even cut down, or whose job is not registered, is written to PHP's error log in one line, as JSON, and the application goes on
--SKIPIF--
<?php if (!is_file('/usr/share/php/Monolog/autoload.php')) die('skip php-monolog is not installed'); ?>
--INI--
asyncbatch.spool_dir={PWD}/096.spool
asyncbatch.failure_dir={PWD}/096.failed
error_log={PWD}/096.log
asyncbatch.max_item_size=300
date.timezone=UTC
--FILE--
<?php
require __DIR__ . '/_monolog.inc';

use AsyncBatch\Monolog\AsyncBatchHandler;
use Monolog\Logger;

// No callable: the job must be registered elsewhere, and here it is not.
$log = new Logger('app', [new AsyncBatchHandler('nobody')]);
$log->error("disk full\nsecond line", ['disk' => '/dev/sda1', 'free' => 0.0]);
echo "still running\n";

// Cut down to 1 KiB, the message is still over 300 bytes.
$log = new Logger('app', [new AsyncBatchHandler('logs', mono_printer())]);
$log->warning(str_repeat('m', 5000));
$log->info('fits');
echo "still running\n";
(new AsyncBatchRunner())->flush('logs');

// A formatter that returns an object (neither data nor JsonSerializable): logged, not queued as "[stdClass]".
$handler = new AsyncBatchHandler('logs', mono_printer());
$handler->setFormatter(new class extends Monolog\Formatter\NormalizerFormatter {
    public function format($record)
    {
        return (object) ['msg' => $record['message']];
    }
});
(new Logger('app', [$handler]))->info('an object');
echo "still running\n";
(new AsyncBatchRunner())->flush('logs');

foreach (ab_log_lines(__DIR__ . '/096.log') as $line) {
    echo preg_replace(['/"datetime":"[^"]+"/', '/m{1000,}/'], ['"datetime":"NOW"', 'm...'], $line), "\n";
}
?>
--CLEAN--
<?php
require __DIR__ . '/_child.inc';
foreach (['spool', 'failed', 'log'] as $x) {
    ab_rmrf(__DIR__ . "/096.$x");
}
?>
--EXPECT--
still running
still running
delivered: batch of 1
array (
  'message' => 'fits',
  'context' => 
  array (
  ),
  'level' => 200,
  'level_name' => 'INFO',
  'channel' => 'app',
  'datetime' => 'NOW',
  'extra' => 
  array (
  ),
)
still running
asyncbatch: job 'nobody': a Monolog record was not queued (Unknown job 'nobody': register it with registerAsyncJob() first): {"message":"disk full\nsecond line","context":{"disk":"/dev/sda1","free":0.0},"level":400,"level_name":"ERROR","channel":"app","datetime":"NOW","extra":[]}
asyncbatch: job 'logs': a Monolog record was not queued, even cut down (Cannot queue item for job 'logs': it is 1269 bytes encoded, over asyncbatch.max_item_size (300)): {"message":"m...... (5000 bytes, truncated)","context":[],"level":300,"level_name":"WARNING","channel":"app","datetime":"NOW","extra":{"truncated":"Cannot queue item for job 'logs': it is 5111 bytes encoded, over asyncbatch.max_item_size (300)"}}
asyncbatch: job 'logs': a Monolog record was not queued (Cannot queue item for job 'logs': $item is an object of class stdClass; items may contain only null, bool, int, float, string, arrays and JsonSerializable objects): (stdClass) {"msg":"an object"}
