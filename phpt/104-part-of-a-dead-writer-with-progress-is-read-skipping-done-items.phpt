--TEST--
A fresh .part of a writer that is not alive is read at once, skipping the items its .done records (in frame order); progress is recorded while it is delivered, and both files are removed
--INI--
asyncbatch.spool_dir={PWD}/104.spool
asyncbatch.failure_dir={PWD}/104.failed
error_log={PWD}/104.log
--FILE--
<?php
require __DIR__ . '/_child.inc';
require __DIR__ . '/_format.inc';
$spool = __DIR__ . '/104.spool';
// 4194305 is above the largest pid_max Linux allows (2^22): no such process exists.
$name = 't.' . sprintf('%016d', (int) (microtime(true) * 1e6)) . '.4194305.1.part';
$part = fmt_put($spool, $name, fmt_segment_header()
    . fmt_frame('t', ['i1', 'i2', 'i3']) . fmt_frame('t', ['i4', 'i5', 'i6', 'i7']));
fmt_put($spool, $name . '.done', pack('P', 2));
// A fresh .part of a live writer (this process) is left alone.
$mine = fmt_put($spool, 't.0000000000000001.' . getmypid() . '.1.part', fmt_segment_header() . fmt_frame('t', ['mine']));

$r = new AsyncBatchRunner();
$r->registerAsyncJob('t', function (array $items) use ($part) {
    $done = is_file($part . '.done') ? unpack('P', file_get_contents($part . '.done'))[1] : 'none';
    echo 'delivered: ', implode(',', $items), " (.done says $done)\n";
    return true;
}, ['batchSize' => 3]);
var_dump($r->flush('t'));
$left = array_map(fn ($n) => preg_replace('/^t\.\d+\.\d+\./', 't.{micros}.{pid}.', $n), ab_ls($spool));
echo 'left in the spool: ', json_encode($left), "\n";
unlink($mine);
?>
--CLEAN--
<?php
require __DIR__ . '/_child.inc';
ab_rmrf(__DIR__ . '/104.spool');
ab_rmrf(__DIR__ . '/104.failed');
ab_rmrf(__DIR__ . '/104.log');
?>
--EXPECT--
delivered: i3,i4,i5 (.done says 2)
delivered: i6,i7 (.done says 5)
int(5)
left in the spool: ["t.{micros}.{pid}.1.part"]
