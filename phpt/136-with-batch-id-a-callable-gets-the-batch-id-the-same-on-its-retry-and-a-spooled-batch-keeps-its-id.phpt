--TEST--
With withBatchId a callable is called with the items and the batch id, a UUIDv7, the same on its retry and another for the next batch; without it, with the items alone; a spool frame carrying a batch id is delivered as that one batch with that id, and one whose id is not valid is damage
--INI--
asyncbatch.spool_dir={PWD}/136.spool
asyncbatch.failure_dir={PWD}/136.failed
error_log={PWD}/136.log
--FILE--
<?php
require __DIR__ . '/_child.inc';
require __DIR__ . '/_format.inc';
$spool = __DIR__ . '/136.spool';

function v7(mixed $id): string
{
    return is_string($id) && preg_match('/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/D', $id)
        ? 'a UUIDv7' : var_export($id, true);
}

$r = new AsyncBatchRunner();
$calls = [];
$r->registerAsyncJob('w', function (array $items, string $batchId) use (&$calls) {
    $calls[] = [func_num_args(), $items, $batchId];
    if (count($calls) === 1) {
        throw new RuntimeException('once');
    }
    return true;
}, ['withBatchId' => true, 'maxRetries' => 1, 'retryDelay' => 0]);
$r->submitItem('w', 'a');
$r->submitItem('w', 'b');
echo 'flush: ', $r->flush('w'), "\n";
$r->submitItem('w', 'c');
echo 'flush: ', $r->flush('w'), "\n";
foreach ($calls as [$n, $items, $id]) {
    echo "  $n arguments: ", json_encode($items), ', ', v7($id), "\n";
}
echo 'the retry got the same id: ', $calls[0][2] === $calls[1][2] ? 'yes' : 'no', "\n";
echo 'the next batch another: ', $calls[2][2] !== $calls[0][2] ? 'yes' : 'no', "\n";

echo "without withBatchId:\n";
$r->registerAsyncJob('p', function (array $items) {
    echo '  ', func_num_args(), ' argument: ', json_encode($items), "\n";
    return true;
});
$r->submitItem('p', 'd');
$r->flush('p');
$r->registerAsyncJob('p', function (array $items) {
    echo '  ', func_num_args(), ' argument: ', json_encode($items), "\n";
    return true;
}, ['withBatchId' => false]);
$r->submitItem('p', 'e');
$r->flush('p');

echo "bad values:\n";
foreach ([1, 'yes', null, []] as $value) {
    try {
        $r->registerAsyncJob('x', fn () => true, ['withBatchId' => $value]);
        echo "  accepted\n";
    } catch (AsyncBatch\InvalidConfigException $e) {
        echo '  ', $e->getMessage(), "\n";
    }
}

echo "spooled frames with a batch id:\n";
function frame3(string $identifier, array $items, mixed $batchId): string
{
    $payload = fmt_mp([$identifier, $items, $batchId]);
    return pack('VV', strlen($payload), crc32($payload)) . $payload;
}
$id = '01890a5d-ac96-774b-bcce-b302099a8057';
fmt_put($spool, 's.0000000000000001.1.1.seg', fmt_segment_header()
    . fmt_frame('s', [1, 2]) . frame3('s', [3, 4, 5], $id) . fmt_frame('s', [6]));
$r->registerAsyncJob('s', function (array $items, string $batchId) use ($id) {
    echo '  ', json_encode($items), ' ', $batchId === $id ? 'the id of the frame' : v7($batchId), "\n";
    return true;
}, ['withBatchId' => true, 'batchSize' => 2]);
$n = $r->flush('s');
echo "flush: $n\n";
echo 'left: ', implode(' ', ab_ls_held($spool)), "\n";

echo "a frame whose batch id is not valid:\n";
fmt_put($spool, 's.0000000000000002.1.1.seg', fmt_segment_header()
    . fmt_frame('s', [7]) . frame3('s', [8], strtoupper($id)) . frame3('s', [9], 42) . fmt_frame('s', [10]));
$n = $r->flush('s');
echo "flush: $n\n";
echo 'left: ', implode(' ', ab_ls_held($spool)), "\n";
echo implode("\n", ab_log_lines(__DIR__ . '/136.log')), "\n";
?>
--CLEAN--
<?php
require __DIR__ . '/_child.inc';
foreach (['spool', 'failed', 'log'] as $x) {
    ab_rmrf(__DIR__ . "/136.$x");
}
?>
--EXPECTF--
flush: 2
flush: 1
  2 arguments: ["a","b"], a UUIDv7
  2 arguments: ["a","b"], a UUIDv7
  2 arguments: ["c"], a UUIDv7
the retry got the same id: yes
the next batch another: yes
without withBatchId:
  1 argument: ["d"]
  1 argument: ["e"]
bad values:
  Config key 'withBatchId' of job 'x' must be a bool, got 1
  Config key 'withBatchId' of job 'x' must be a bool, got string
  Config key 'withBatchId' of job 'x' must be a bool, got null
  Config key 'withBatchId' of job 'x' must be a bool, got array
spooled frames with a batch id:
  [1,2] a UUIDv7
  [3,4,5] the id of the frame
  [6] a UUIDv7
flush: 6
left: 
a frame whose batch id is not valid:
  [7,10] a UUIDv7
flush: 2
left: s.0000000000000002.1.1.corrupt
asyncbatch: corrupt spool segment %s/136.spool/s.0000000000000002.1.1.seg: skipped %d bytes; kept as %s/136.spool/s.0000000000000002.1.1.corrupt
