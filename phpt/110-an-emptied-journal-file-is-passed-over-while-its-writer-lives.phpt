--TEST--
A .part holding only the segment header (the journal file a process keeps between runs) is passed over while its writer lives, however old, and removed by the next reader once the writer is gone
--INI--
asyncbatch.spool_dir={PWD}/110.spool
asyncbatch.failure_dir={PWD}/110.failed
error_log={PWD}/110.log
--FILE--
<?php
require __DIR__ . '/_child.inc';
require __DIR__ . '/_format.inc';
$spool = __DIR__ . '/110.spool';
// 4194305 is above the largest pid_max Linux allows (2^22): no such process exists.
$dead = fmt_put($spool, 't.0000000000000001.4194305.1.part', fmt_segment_header());
// This process's, a minute old: old enough to count as abandoned, were it not empty.
$live = fmt_put($spool, 't.0000000000000002.' . getmypid() . '.1.part', fmt_segment_header());
touch($live, time() - 60);
$segment = fmt_put($spool, 't.0000000000000003.4194305.2.seg', fmt_segment_header() . fmt_frame('t', ['a', 'b']));

$r = new AsyncBatchRunner();
$r->registerAsyncJob('t', function (array $items) {
    echo 'delivered: ', implode(',', $items), "\n";
    return true;
});
var_dump($r->flush('t'));
echo "the dead writer's: ", file_exists($dead) ? 'left' : 'removed', "\n";
echo "the live writer's: ", file_exists($live) ? 'left' : 'removed', "\n";
echo 'the segment: ', file_exists($segment) ? 'left' : 'removed', "\n";
echo 'warnings: ', json_encode(ab_log_lines(__DIR__ . '/110.log')), "\n";
unlink($live);
?>
--CLEAN--
<?php
require __DIR__ . '/_child.inc';
foreach (['spool', 'failed', 'log'] as $x) {
    ab_rmrf(__DIR__ . "/110.$x");
}
?>
--EXPECT--
delivered: a,b
int(2)
the dead writer's: removed
the live writer's: left
the segment: removed
warnings: []
