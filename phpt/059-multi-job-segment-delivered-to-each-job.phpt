--TEST--
A segment holding several jobs (job key ~) is delivered frame by frame to each registered job
--INI--
asyncbatch.spool_dir={PWD}/059.spool
asyncbatch.failure_dir={PWD}/059.failed
error_log={PWD}/059.log
--FILE--
<?php
require __DIR__ . '/_child.inc';
require __DIR__ . '/_format.inc';
$spool = __DIR__ . '/059.spool';
fmt_put($spool, '~.0000000000000001.1.1.seg', fmt_segment_header()
    . fmt_frame('a', ['a1', 'a2'])
    . fmt_frame('b', ['b1'])
    . fmt_frame('a', ['a3']));
$r = new AsyncBatchRunner();
foreach (['a', 'b'] as $job) {
    $r->registerAsyncJob($job, function (array $items) use ($job) {
        echo "$job: ", implode(',', $items), "\n";
        return true;
    });
}
var_dump($r->flush());
var_dump(ab_ls($spool));
?>
--CLEAN--
<?php
require __DIR__ . '/_child.inc';
ab_rmrf(__DIR__ . '/059.spool');
ab_rmrf(__DIR__ . '/059.failed');
ab_rmrf(__DIR__ . '/059.log');
?>
--EXPECT--
a: a1,a2,a3
b: b1
int(4)
array(0) {
}
