--TEST--
Garbage between frames and a torn tail are skipped, the valid frames delivered, the file kept as .corrupt and one line logged
--INI--
asyncbatch.spool_dir={PWD}/022.spool
asyncbatch.failure_dir={PWD}/022.failed
error_log={PWD}/022.log
--FILE--
<?php
require __DIR__ . '/_child.inc';
require __DIR__ . '/_format.inc';
$spool = __DIR__ . '/022.spool';
$garbage = "\x05\x00\x00\x00\xde\xad\xbe\xefjunk";           // 13 bytes
$bad = fmt_frame('t', ['bad crc']);
$bad[5] = chr(ord($bad[5]) ^ 0xff);                          // CRC no longer matches
$torn = substr(fmt_frame('t', ['torn', 'tail']), 0, 12);    // writer died mid-frame
fmt_put($spool, 't.0000000000000001.1.1.seg', fmt_segment_header()
    . fmt_frame('t', ['one'])
    . $garbage
    . fmt_frame('t', ['two', 'three'])
    . $bad
    . fmt_frame('t', ['four'])
    . $torn);
$skipped = strlen($garbage) + strlen($bad) + strlen($torn);
$r = new AsyncBatchRunner();
$r->registerAsyncJob('t', function (array $items) {
    echo 'delivered: ', implode(',', $items), "\n";
    return true;
}, ['batchSize' => 10]);
var_dump($r->flush('t'));
var_dump(ab_ls($spool));
$lines = ab_log_lines(__DIR__ . '/022.log');
echo count($lines), " log line\n";
echo 'names the file: ', str_contains($lines[0] ?? '', 't.0000000000000001.1.1') ? 'yes' : 'no', "\n";
echo 'says how many bytes: ', preg_match('/\b' . $skipped . '\b/', $lines[0] ?? '') ? 'yes' : 'no', "\n";
?>
--CLEAN--
<?php
require __DIR__ . '/_child.inc';
ab_rmrf(__DIR__ . '/022.spool');
ab_rmrf(__DIR__ . '/022.failed');
ab_rmrf(__DIR__ . '/022.log');
?>
--EXPECT--
delivered: one,two,three,four
int(4)
array(1) {
  [0]=>
  string(30) "t.0000000000000001.1.1.corrupt"
}
1 log line
names the file: yes
says how many bytes: yes
