--TEST--
Retries wait retryDelay * 2^(k-1), within 25% jitter
--INI--
asyncbatch.spool_dir={PWD}/046.spool
asyncbatch.failure_dir={PWD}/046.failed
error_log={PWD}/046.log
--FILE--
<?php
$r = new AsyncBatchRunner();
$calls = [];
$r->registerAsyncJob('t', function () use (&$calls) {
    $calls[] = microtime(true);
    return false;
}, ['maxRetries' => 2, 'retryDelay' => 0.1]);
$r->submitItem('t', 1);
$r->flush('t');
echo count($calls), " calls\n";
$first = $calls[1] - $calls[0];
$second = $calls[2] - $calls[1];
echo 'first wait within 0.075 .. 0.125 s (+ slack): ', $first >= 0.075 && $first < 0.2 ? 'yes' : "no ($first)", "\n";
echo 'second wait within 0.15 .. 0.25 s (+ slack): ', $second >= 0.15 && $second < 0.35 ? 'yes' : "no ($second)", "\n";
echo 'retries: ', $r->stats()['t']['retries'], "\n";
?>
--CLEAN--
<?php
require __DIR__ . '/_child.inc';
ab_rmrf(__DIR__ . '/046.spool');
ab_rmrf(__DIR__ . '/046.failed');
ab_rmrf(__DIR__ . '/046.log');
?>
--EXPECT--
3 calls
first wait within 0.075 .. 0.125 s (+ slack): yes
second wait within 0.15 .. 0.25 s (+ slack): yes
retries: 2
