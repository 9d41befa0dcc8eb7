--TEST--
A segment written by hand to the documented spool format is delivered, frame by frame, and removed
--INI--
asyncbatch.spool_dir={PWD}/021.spool
asyncbatch.failure_dir={PWD}/021.failed
error_log={PWD}/021.log
--FILE--
<?php
require __DIR__ . '/_child.inc';
require __DIR__ . '/_format.inc';
$spool = __DIR__ . '/021.spool';
fmt_put($spool, 't.0000000000000001.1.1.seg', fmt_segment_header()
    . fmt_frame('t', [1, 'two', ['k' => true, 7 => [1.5, null]]])
    . fmt_frame('t', ["bin\xff\0"]));
$r = new AsyncBatchRunner();
$r->registerAsyncJob('t', function (array $items) {
    $items[3] = bin2hex($items[3]);
    var_export($items);
    echo "\n";
    return true;
});
var_dump($r->flush('t'));
var_dump(ab_ls($spool));
?>
--CLEAN--
<?php
require __DIR__ . '/_child.inc';
ab_rmrf(__DIR__ . '/021.spool');
ab_rmrf(__DIR__ . '/021.failed');
ab_rmrf(__DIR__ . '/021.log');
?>
--EXPECT--
array (
  0 => 1,
  1 => 'two',
  2 => 
  array (
    'k' => true,
    7 => 
    array (
      0 => 1.5,
      1 => NULL,
    ),
  ),
  3 => '62696eff00',
)
int(4)
array(0) {
}
