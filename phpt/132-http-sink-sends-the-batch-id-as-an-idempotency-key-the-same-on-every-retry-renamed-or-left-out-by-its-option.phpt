--TEST--
HttpSink sends each batch's id as an Idempotency-Key header: a UUIDv7, the same on every retry of the batch, another for the next batch; the idempotencyHeader option renames it or (false) leaves it out, a header of that name in the headers option is sent instead, and a direct call sends the id it is given
--INI--
asyncbatch.spool_dir={PWD}/132.spool
asyncbatch.failure_dir={PWD}/132.failed
error_log={PWD}/132.log
--FILE--
<?php
require __DIR__ . '/_child.inc';
require __DIR__ . '/_http.inc';
$server = new AbHttpServer(__DIR__ . '/132.http');

/** "a UUIDv7" when $key is one made between $from and $to (unix ms), else what it is. */
function shape(?string $key, int $from, int $to): string
{
    if ($key === null) {
        return 'none';
    }
    if (!preg_match('/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/D', $key)) {
        return "'$key'";
    }
    $ms = hexdec(str_replace('-', '', substr($key, 0, 13)));
    return $ms >= $from && $ms <= $to ? 'a UUIDv7' : "a UUIDv7 of another time ($ms, not $from to $to)";
}

$r = new AsyncBatchRunner();
$r->registerAsyncJob('t', new AsyncBatch\HttpSink($server->url, ['maxRetries' => 2, 'retryDelay' => 0.01]));
$from = (int) floor(microtime(true) * 1000);
$server->answer(['status' => 503, 'body' => 'busy']);
$r->submitItem('t', 'a');
$r->submitItem('t', 'b');
echo 'flush: ', $r->flush('t'), "\n";
$r->submitItem('t', 'c');
echo 'flush: ', $r->flush('t'), "\n";
$to = (int) ceil(microtime(true) * 1000);
$requests = $server->requests();
$keys = [];
foreach ($requests as $q) {
    $keys[] = $key = AbHttpServer::header($q, 'Idempotency-Key');
    echo "  {$q['status']} {$q['body']} Idempotency-Key: ", shape($key, $from, $to), "\n";
}
echo 'the retry sent the same key: ', $keys[0] === $keys[1] ? 'yes' : 'no', "\n";
echo 'the next batch another: ', $keys[2] !== $keys[0] ? 'yes' : 'no', "\n";

$sinks = [
    'renamed' => ['idempotencyHeader' => 'X-Batch'],
    'none' => ['idempotencyHeader' => false],
    'headers win' => ['headers' => ['idempotency-key' => 'fixed-1', 'X-Tenant' => 'acme']],
    'renamed, headers win' => ['idempotencyHeader' => 'X-Batch', 'headers' => ['x-BATCH' => 'mine']],
];
$i = 0;
foreach ($sinks as $name => $options) {
    $job = 'j' . $i++;
    $r->registerAsyncJob($job, new AsyncBatch\HttpSink($server->url, $options));
    $r->submitItem($job, $name);
    $r->flush($job);
    $q = array_slice($server->requests(), -1)[0];
    echo "$name: {$q['body']}\n";
    foreach (['Idempotency-Key', 'X-Batch', 'X-Tenant'] as $header) {
        $v = AbHttpServer::header($q, $header);
        if ($v !== null || $header === 'Idempotency-Key') {
            echo "  $header: ", shape($v, $from, (int) ceil(microtime(true) * 1000)), "\n";
        }
    }
}

echo "a direct call:\n";
$sink = new AsyncBatch\HttpSink($server->url);
$id = '01890a5d-ac96-774b-bcce-b302099a8057';
var_dump($sink(['given'], $id));
var_dump($sink(['none given']));
$q = array_slice($server->requests(), -2);
echo '  ', $q[0]['body'], ' ', AbHttpServer::header($q[0], 'Idempotency-Key') === $id ? 'the id given' : 'another id', "\n";
echo '  ', $q[1]['body'], ' ', shape(AbHttpServer::header($q[1], 'Idempotency-Key'), $from, (int) ceil(microtime(true) * 1000)), "\n";
?>
--CLEAN--
<?php
require __DIR__ . '/_child.inc';
foreach (['spool', 'failed', 'log', 'http'] as $x) {
    ab_rmrf(__DIR__ . "/132.$x");
}
?>
--EXPECT--
flush: 2
flush: 1
  503 ["a","b"] Idempotency-Key: a UUIDv7
  200 ["a","b"] Idempotency-Key: a UUIDv7
  200 ["c"] Idempotency-Key: a UUIDv7
the retry sent the same key: yes
the next batch another: yes
renamed: ["renamed"]
  Idempotency-Key: none
  X-Batch: a UUIDv7
none: ["none"]
  Idempotency-Key: none
headers win: ["headers win"]
  Idempotency-Key: 'fixed-1'
  X-Tenant: 'acme'
renamed, headers win: ["renamed, headers win"]
  Idempotency-Key: none
  X-Batch: 'mine'
a direct call:
bool(true)
bool(true)
  ["given"] the id given
  ["none given"] a UUIDv7
