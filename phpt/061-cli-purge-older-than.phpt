--TEST--
asyncbatch failed:purge --older-than keeps batches that failed more recently
--INI--
asyncbatch.spool_dir={PWD}/061.spool
asyncbatch.failure_dir={PWD}/061.failed
error_log={PWD}/061.log
--FILE--
<?php
require __DIR__ . '/_child.inc';
require __DIR__ . '/_format.inc';
$dir = __DIR__ . '/061.failed';
$old = time() - 7200;
$body = fmt_mp(['v' => 1, 'job' => 't', 'attempts' => 1, 'lastError' => 'old', 'firstAttemptAt' => (float) $old,
    'failedAt' => (float) $old, 'pid' => 1, 'host' => 'h', 'items' => ['old item']]);
fmt_put($dir, sprintf('t.%016d.1.00000001.fail', $old * 1000000), "ABFAIL" . pack('vVV', 1, strlen($body), crc32($body)) . $body);
$r = new AsyncBatchRunner();
$r->registerAsyncJob('t', fn () => false, ['maxRetries' => 0]);
$r->submitItem('t', 'new item');
$r->flush('t');
[$status, $out] = ab_cli(['failed:purge', '--job', 't', '--older-than', '3600']);
echo $out;
$r->registerAsyncJob('t', function (array $items) {
    echo 'left: ', implode(',', $items), "\n";
    return true;
});
AsyncBatchRunner::retryFailed('t');
?>
--CLEAN--
<?php
require __DIR__ . '/_child.inc';
ab_rmrf(__DIR__ . '/061.spool');
ab_rmrf(__DIR__ . '/061.failed');
ab_rmrf(__DIR__ . '/061.log');
?>
--EXPECTF--
Purged 1 failed batch from %s/061.failed
left: new item
