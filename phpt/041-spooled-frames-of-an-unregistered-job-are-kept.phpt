--TEST--
Frames in a claimed segment for a job not registered here are written to a segment of their own and delivered once that job is registered
--INI--
asyncbatch.spool_dir={PWD}/041.spool
asyncbatch.failure_dir={PWD}/041.failed
error_log={PWD}/041.log
--FILE--
<?php
require __DIR__ . '/_child.inc';
require __DIR__ . '/_format.inc';
$spool = __DIR__ . '/041.spool';
fmt_put($spool, 't.0000000000000001.1.1.seg', fmt_segment_header()
    . fmt_frame('t', ['for t'])
    . fmt_frame('other', ['for other 1', 'for other 2'])
    . fmt_frame('t', ['for t again']));
$r = new AsyncBatchRunner();
$r->registerAsyncJob('t', function (array $items) {
    echo 't got: ', implode(',', $items), "\n";
    return true;
});
var_dump($r->flush('t'));
foreach (ab_ls($spool) as $name) {
    echo preg_replace('/\.\d{16}\.\d+\.\d+\.seg$/', '.{micros}.{pid}.{seq}.seg', $name), "\n";
}
$r->registerAsyncJob('other', function (array $items) {
    echo 'other got: ', implode(',', $items), "\n";
    return true;
});
var_dump($r->flush('other'));
var_dump(ab_ls($spool));
?>
--CLEAN--
<?php
require __DIR__ . '/_child.inc';
ab_rmrf(__DIR__ . '/041.spool');
ab_rmrf(__DIR__ . '/041.failed');
ab_rmrf(__DIR__ . '/041.log');
?>
--EXPECT--
t got: for t,for t again
int(2)
other.{micros}.{pid}.{seq}.seg
other got: for other 1,for other 2
int(2)
array(0) {
}
