--TEST--
A batch that failed every attempt is logged with error_log() in one line naming its file, even when the error has line breaks; the retries are counted, not logged
--INI--
asyncbatch.spool_dir={PWD}/066.spool
asyncbatch.failure_dir={PWD}/066.failed
error_log={PWD}/066.log
--FILE--
<?php
$r = new AsyncBatchRunner();
$r->registerAsyncJob('t', function () {
    throw new RuntimeException("collector down\nsecond line of the message");
}, ['maxRetries' => 2, 'retryDelay' => 0]);
$r->submitItem('t', 1);
$r->flush('t');
$lines = file(__DIR__ . '/066.log', FILE_IGNORE_NEW_LINES);
echo count($lines), " line\n";
echo preg_replace('/^\[[^\]]+\] /', '', preg_replace('/stored in .*$/', 'stored in FILE', $lines[0])), "\n";
echo 'names the file: ', is_file(preg_replace('/^.* stored in /', '', $lines[0])) ? 'yes' : 'no', "\n";
echo 'retries: ', $r->stats()['t']['retries'], "\n";
?>
--CLEAN--
<?php
foreach (['066.spool', '066.failed'] as $d) {
    foreach (glob(__DIR__ . "/$d/{,.}*", GLOB_BRACE) ?: [] as $f) {
        if (is_file($f)) unlink($f);
    }
    @rmdir(__DIR__ . "/$d");
}
@unlink(__DIR__ . '/066.log');
?>
--EXPECT--
1 line
asyncbatch: job 't': a batch of 1 item failed 3 times (RuntimeException: collector down\nsecond line of the message); stored in FILE
names the file: yes
retries: 2
