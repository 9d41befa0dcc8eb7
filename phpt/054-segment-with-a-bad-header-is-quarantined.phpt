--TEST--
A segment whose header is not ABSPOOL version 1 is renamed .corrupt, not read and logged
--INI--
asyncbatch.spool_dir={PWD}/054.spool
asyncbatch.failure_dir={PWD}/054.failed
error_log={PWD}/054.log
--FILE--
<?php
require __DIR__ . '/_child.inc';
require __DIR__ . '/_format.inc';
$spool = __DIR__ . '/054.spool';
fmt_put($spool, 't.0000000000000001.1.1.seg', "ABSPOOL\x02" . fmt_frame('t', ['future format']));
$r = new AsyncBatchRunner();
$r->registerAsyncJob('t', function (array $items) {
    echo 'delivered: ', implode(',', $items), "\n";
    return true;
});
var_dump($r->flush('t'));
var_dump(ab_ls($spool));
echo count(ab_log_lines(__DIR__ . '/054.log', 't.0000000000000001.1.1')), " log line\n";
?>
--CLEAN--
<?php
require __DIR__ . '/_child.inc';
ab_rmrf(__DIR__ . '/054.spool');
ab_rmrf(__DIR__ . '/054.failed');
ab_rmrf(__DIR__ . '/054.log');
?>
--EXPECT--
int(0)
array(1) {
  [0]=>
  string(30) "t.0000000000000001.1.1.corrupt"
}
1 log line
