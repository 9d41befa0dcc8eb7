--TEST--
Each failed call that is retried is logged with error_log(), one line prefixed asyncbatch:, even when the error has line breaks
--INI--
asyncbatch.spool_dir={PWD}/066.spool
asyncbatch.failure_dir={PWD}/066.failed
error_log={PWD}/066.log
--FILE--
<?php
$r = new AsyncBatchRunner();
$r->registerAsyncJob('t', function () {
    throw new RuntimeException("collector down\nsecond line of the message");
}, ['maxRetries' => 2, 'retryDelay' => 0]);
$r->submitItem('t', 1);
$r->flush('t');
$lines = file(__DIR__ . '/066.log', FILE_IGNORE_NEW_LINES);
$prefixed = array_filter($lines, fn ($l) => preg_match('/^\[[^\]]+\] asyncbatch: /', $l) === 1);
echo 'every line prefixed: ', count($prefixed) === count($lines) ? 'yes' : "no:\n" . implode("\n", $lines), "\n";
$failures = array_filter($lines, fn ($l) => str_contains($l, 'collector down'));
echo 'the retried failures are logged: ', count($failures) >= 2 ? 'yes' : 'no (' . count($failures) . ')', "\n";
?>
--CLEAN--
<?php
require __DIR__ . '/_child.inc';
ab_rmrf(__DIR__ . '/066.spool');
ab_rmrf(__DIR__ . '/066.failed');
ab_rmrf(__DIR__ . '/066.log');
?>
--EXPECT--
every line prefixed: yes
the retried failures are logged: yes
