--TEST--
A .part segment whose writer died (lock free, over 5 s old, pid alive) is read; a fresh one is left to its writer
--INI--
asyncbatch.spool_dir={PWD}/045.spool
asyncbatch.failure_dir={PWD}/045.failed
error_log={PWD}/045.log
--FILE--
<?php
require __DIR__ . '/_child.inc';
require __DIR__ . '/_format.inc';
$spool = __DIR__ . '/045.spool';
$stale = fmt_put($spool, 't.0000000000000001.1.1.part', fmt_segment_header() . fmt_frame('t', ['from a dead writer']));
touch($stale, time() - 120);
fmt_put($spool, 't.0000000000000002.1.2.part', fmt_segment_header() . fmt_frame('t', ['still being written']));
$r = new AsyncBatchRunner();
$r->registerAsyncJob('t', function (array $items) {
    echo 'delivered: ', implode(',', $items), "\n";
    return true;
});
var_dump($r->flush('t'));
var_dump(ab_ls($spool));
?>
--CLEAN--
<?php
require __DIR__ . '/_child.inc';
ab_rmrf(__DIR__ . '/045.spool');
ab_rmrf(__DIR__ . '/045.failed');
ab_rmrf(__DIR__ . '/045.log');
?>
--EXPECT--
delivered: from a dead writer
int(1)
array(1) {
  [0]=>
  string(27) "t.0000000000000002.1.2.part"
}
