--TEST--
With the spool runner (ini or ASYNCBATCH_RUNNER) a request's items are in the spool once it has exited; its callable never runs and it leaves the spool's segments alone
--INI--
asyncbatch.spool_dir={PWD}/139.spool
asyncbatch.failure_dir={PWD}/139.failed
error_log={PWD}/139.log
--FILE--
<?php
require __DIR__ . '/_child.inc';
require __DIR__ . '/_format.inc';
$spool = __DIR__ . '/139.spool';
$marker = __DIR__ . '/139.called';

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

// Waiting from before: a page under the spool runner does not deliver it.
fmt_put($spool, 't.0000000000000001.1.1.seg', fmt_segment_header() . fmt_frame('t', ['waiting']));

$code = str_replace('MARKER', var_export($marker, true), <<<'PHP'
<?php
$r = new AsyncBatchRunner();
$r->registerAsyncJob('t', function (array $items) {
    file_put_contents(MARKER, json_encode($items) . "\n", FILE_APPEND);
    return true;
});
$r->submitItem('t', 'a');
$r->submitItem('t', ['b', 2]);
$r->submitItem('t', 3);
echo "end of the request\n";
PHP);
$cases = [
    'ini asyncbatch.runner=spool' => [['asyncbatch.runner' => 'spool'], []],
    'ASYNCBATCH_RUNNER=spool over ini shutdown' => [['asyncbatch.runner' => 'shutdown'], ['ASYNCBATCH_RUNNER' => 'spool']],
];
foreach ($cases as $what => [$ini, $env]) {
    $p = proc_open(ab_php_args($ini), [0 => ['pipe', 'r'], 1 => ['pipe', 'w'], 2 => ['pipe', 'w']], $pipes, null, $env + getenv());
    fwrite($pipes[0], $code);
    fclose($pipes[0]);
    echo "$what:\n", stream_get_contents($pipes[1]), stream_get_contents($pipes[2]);
    echo 'exit status ', proc_close($p), "\n";
    echo 'the callable ', is_file($marker) ? 'was called: ' . file_get_contents($marker) : "was not called\n";
    $new = array_values(array_diff(ab_ls($spool, 't.*.seg'), ['t.0000000000000001.1.1.seg']));
    echo 'in new segments: ', json_encode(array_slice(spooled($spool, 't'), 1)), "\n";
    foreach ($new as $name) {
        unlink("$spool/$name");
    }
}
echo 'the waiting segment: ', json_encode(spooled($spool, 't')), "\n";
echo 'other files: ', json_encode(array_values(array_filter(ab_ls($spool), fn ($n) => !str_starts_with($n, 't.0000000000000001.')))), "\n";
?>
--CLEAN--
<?php
require __DIR__ . '/_child.inc';
ab_rmrf(__DIR__ . '/139.spool');
ab_rmrf(__DIR__ . '/139.failed');
ab_rmrf(__DIR__ . '/139.log');
ab_rmrf(__DIR__ . '/139.called');
?>
--EXPECT--
ini asyncbatch.runner=spool:
end of the request
exit status 0
the callable was not called
in new segments: ["a",["b",2],3]
ASYNCBATCH_RUNNER=spool over ini shutdown:
end of the request
exit status 0
the callable was not called
in new segments: ["a",["b",2],3]
the waiting segment: ["waiting"]
other files: []
