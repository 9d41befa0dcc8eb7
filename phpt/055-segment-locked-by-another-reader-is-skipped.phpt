--TEST--
A segment another reader holds locked is skipped, and delivered once the lock is released
--INI--
asyncbatch.spool_dir={PWD}/055.spool
asyncbatch.failure_dir={PWD}/055.failed
error_log={PWD}/055.log
--FILE--
<?php
require __DIR__ . '/_child.inc';
require __DIR__ . '/_format.inc';
$spool = __DIR__ . '/055.spool';
$path = fmt_put($spool, 't.0000000000000001.1.1.seg', fmt_segment_header() . fmt_frame('t', ['locked']));
$other = fopen($path, 'r');
flock($other, LOCK_EX);
$r = new AsyncBatchRunner();
$r->registerAsyncJob('t', function (array $items) {
    echo 'delivered: ', implode(',', $items), "\n";
    return true;
});
var_dump($r->flush('t'));
flock($other, LOCK_UN);
fclose($other);
var_dump($r->flush('t'));
var_dump(ab_ls($spool));
?>
--CLEAN--
<?php
require __DIR__ . '/_child.inc';
ab_rmrf(__DIR__ . '/055.spool');
ab_rmrf(__DIR__ . '/055.failed');
ab_rmrf(__DIR__ . '/055.log');
?>
--EXPECT--
int(0)
delivered: locked
int(1)
array(0) {
}
