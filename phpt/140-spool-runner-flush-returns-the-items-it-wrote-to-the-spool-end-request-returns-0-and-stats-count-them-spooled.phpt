--TEST--
With the spool runner flush() writes the queued items to the spool and returns how many, endRequest() writes them and returns 0 (nothing delivered), and stats() counts them spooled, none delivered
--INI--
asyncbatch.spool_dir={PWD}/140.spool
asyncbatch.failure_dir={PWD}/140.failed
error_log={PWD}/140.log
--FILE--
<?php
require __DIR__ . '/_child.inc';
require __DIR__ . '/_format.inc';
$spool = __DIR__ . '/140.spool';

/** The items of a job's segments in the spool, oldest segment first. */
function spooled(string $dir, string $job): array
{
    $items = [];
    foreach (ab_ls($dir, "$job.*.seg") as $name) {
        $bytes = file_get_contents("$dir/$name");
        for ($p = 8; $p < strlen($bytes); $p += 8 + $n) {
            $n = unpack('V', $bytes, $p)[1];
            array_push($items, ...fmt_unmp(substr($bytes, $p + 8, $n))[1]);
        }
    }
    return $items;
}

[$status, $out, $err] = ab_run_php(<<<'PHP'
<?php
$r = new AsyncBatchRunner();
$never = function (array $items) { echo "a callable was called\n"; return true; };
$r->registerAsyncJob('t', $never, ['batchSize' => 100]);
$r->registerAsyncJob('u', $never, ['batchSize' => 100]);
$show = function (string $job) use ($r) {
    $s = $r->stats()[$job];
    printf("  %s: submitted %d, queued %d, spooled %d, delivered %d, batches %d, dropped %d\n",
        $job, $s['submitted'], $s['queued'], $s['spooled'], $s['delivered'], $s['batches'], $s['dropped']);
};
foreach (['a', 'b', 'c'] as $item) {
    $r->submitItem('t', $item);
}
echo "flush('t'): ", $r->flush('t'), "\n";
$show('t');
echo "flush('t') with nothing queued: ", $r->flush('t'), "\n";
$r->submitItem('t', 'd');
$r->submitItem('u', 'x');
echo 'flush(): ', $r->flush(), "\n";
$show('t');
$show('u');
$r->submitItem('t', 'e');
$r->submitItem('t', 'f');
echo 'endRequest(): ', $r->endRequest(), "\n";
echo '  t: queued ', $r->stats()['t']['queued'], "\n";
$r->submitItem('t', 'g');
echo "end of the script\n";
PHP, ['asyncbatch.runner' => 'spool']);
echo $out, $err, "exit status $status\n";
echo 't in the spool: ', json_encode(spooled($spool, 't')), "\n";
echo 'u in the spool: ', json_encode(spooled($spool, 'u')), "\n";
?>
--CLEAN--
<?php
require __DIR__ . '/_child.inc';
ab_rmrf(__DIR__ . '/140.spool');
ab_rmrf(__DIR__ . '/140.failed');
ab_rmrf(__DIR__ . '/140.log');
?>
--EXPECT--
flush('t'): 3
  t: submitted 3, queued 0, spooled 3, delivered 0, batches 0, dropped 0
flush('t') with nothing queued: 0
flush(): 2
  t: submitted 4, queued 0, spooled 4, delivered 0, batches 0, dropped 0
  u: submitted 1, queued 0, spooled 1, delivered 0, batches 0, dropped 0
endRequest(): 0
  t: queued 0
end of the script
exit status 0
t in the spool: ["a","b","c","d","e","f","g"]
u in the spool: ["x"]
