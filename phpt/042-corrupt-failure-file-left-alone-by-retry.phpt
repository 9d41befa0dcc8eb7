--TEST--
retryFailed() leaves a corrupt failure file in place with one warning, and replays the good ones
--INI--
asyncbatch.spool_dir={PWD}/042.spool
asyncbatch.failure_dir={PWD}/042.failed
error_log={PWD}/042.log
--FILE--
<?php
require __DIR__ . '/_child.inc';
$dir = __DIR__ . '/042.failed';
$r = new AsyncBatchRunner();
$r->registerAsyncJob('t', fn () => false, ['maxRetries' => 0]);
$r->submitItem('t', 'good');
$r->flush('t');
file_put_contents("$dir/t.0000000000000001.1.00000000.fail", "ABFAIL\x01\x00garbage that is not a body");
$r->registerAsyncJob('t', function (array $items) {
    echo 'replayed: ', implode(',', $items), "\n";
    return true;
});
var_dump(AsyncBatchRunner::retryFailed('t'));
var_dump(ab_ls($dir, '*.fail'));
?>
--CLEAN--
<?php
require __DIR__ . '/_child.inc';
ab_rmrf(__DIR__ . '/042.spool');
ab_rmrf(__DIR__ . '/042.failed');
ab_rmrf(__DIR__ . '/042.log');
?>
--EXPECTF--
Warning: %scorrupt%st.0000000000000001.1.00000000.fail%s
replayed: good
int(1)
array(1) {
  [0]=>
  string(34) "t.0000000000000001.1.00000000.fail"
}
