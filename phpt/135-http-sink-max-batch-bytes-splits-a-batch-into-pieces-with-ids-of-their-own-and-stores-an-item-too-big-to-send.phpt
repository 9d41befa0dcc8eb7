--TEST--
HttpSink maxBatchBytes: a batch whose body is over it is posted in pieces, each body within it, every item once and in order, each piece with an id of its own (the batch's with its last 16 bits XORed by the piece's index + 1); an item too big alone is stored, not sent, with attempts 0; a run stopped midway spools the whole batch, the next run sending the same pieces with the same ids; a direct call over it throws; bad values are refused
--INI--
asyncbatch.spool_dir={PWD}/135.spool
asyncbatch.failure_dir={PWD}/135.failed
error_log={PWD}/135.log
--FILE--
<?php
require __DIR__ . '/_child.inc';
require __DIR__ . '/_http.inc';
require __DIR__ . '/_format.inc';
$dir = __DIR__ . '/135.failed';
$server = new AbHttpServer(__DIR__ . '/135.http');

/** The last 16 bits of an id, and what comes before them. */
function tail(string $id): int
{
    return hexdec(substr($id, -4));
}

function head(string $id): string
{
    return substr($id, 0, -4);
}

/** Whether the ids are those of pieces $first, $first + 1, ... of one batch. */
function pieces_of_one_batch(array $ids, int $first = 0): bool
{
    $parent = tail($ids[0]) ^ ($first + 1);
    foreach ($ids as $i => $id) {
        if (head($id) !== head($ids[0]) || tail($id) !== ($parent ^ ($first + $i + 1))) {
            return false;
        }
    }
    return true;
}

$items = [];
for ($i = 0; $i < 30; $i++) {
    $items[] = str_pad("item-$i-", 100, '.');
}
$r = new AsyncBatchRunner();
foreach (['json' => [], 'ndjson, gzip' => ['format' => 'ndjson', 'gzip' => true]] as $case => $options) {
    echo "$case:\n";
    $server = new AbHttpServer(__DIR__ . '/135.http');
    $r->registerAsyncJob('t', new AsyncBatch\HttpSink($server->url, $options + ['maxBatchBytes' => 1024]));
    foreach ($items as $item) {
        $r->submitItem('t', $item);
    }
    echo '  flush: ', $r->flush('t'), "\n";
    $got = [];
    $sizes = [];
    $counts = [];
    $keys = [];
    foreach ($server->requests() as $q) {
        $body = AbHttpServer::header($q, 'Content-Encoding') === 'gzip' ? gzdecode($q['body']) : $q['body'];
        $sizes[] = strlen($body);
        $piece = $case === 'json' ? json_decode($body, true) : array_map('json_decode', explode("\n", rtrim($body, "\n")));
        $counts[] = count($piece);
        array_push($got, ...$piece);
        $keys[] = (string) AbHttpServer::header($q, 'Idempotency-Key');
    }
    echo '  items per request: ', implode(' ', $counts), "\n";
    echo '  every body within 1024 bytes: ', max($sizes) <= 1024 ? 'yes' : implode(' ', $sizes), "\n";
    echo '  every item once, in order: ', $got === $items ? 'yes' : 'no', "\n";
    echo '  distinct keys: ', count(array_unique($keys)) === count($keys) ? 'yes' : 'no', "\n";
    echo '  the ids of pieces 0 to 3 of one batch: ', pieces_of_one_batch($keys) ? 'yes' : implode(' ', $keys), "\n";
}

echo "items too big to send:\n";
$server = new AbHttpServer(__DIR__ . '/135.http');
$r->registerAsyncJob('b', new AsyncBatch\HttpSink($server->url, ['maxBatchBytes' => 1024]));
$big = ['x' => str_repeat('x', 1100), 'y' => str_repeat('y', 1200)];
foreach (['small-1', $big['x'], 'small-2', $big['y']] as $item) {
    $r->submitItem('b', $item);
}
echo '  flush: ', $r->flush('b'), "\n";
$keys = [];
foreach ($server->requests() as $q) {
    echo '  ', $q['status'], ' ', $q['body'], "\n";
    $keys[] = AbHttpServer::header($q, 'Idempotency-Key');
}
$stored = [];
foreach (ab_ls($dir, 'b.*.fail') as $name) {
    $b = array_column(fmt_read_fail("$dir/$name")['body'], 1, 0);
    $stored[$b['items'][0][0]] = $b;
}
ksort($stored);
foreach ($stored as $letter => $b) {
    echo "  stored: items [{$letter}{", strlen($b['items'][0]), "}], attempts {$b['attempts']}, lastError {$b['lastError']}\n";
}
echo '  their ids: pieces 1 and 2 of the batch whose piece 0 was sent: ',
    pieces_of_one_batch([$keys[0], $stored['x']['batchId'], $stored['y']['batchId']]) ? 'yes' : 'no', "\n";
foreach (ab_log_lines(__DIR__ . '/135.log') as $line) {
    echo '  ', $line, "\n";
}

echo "a run stopped midway (the budget) spools the whole batch with its id; the next one sends the same pieces:\n";
$server = new AbHttpServer(__DIR__ . '/135.http');
file_put_contents(__DIR__ . '/135.job.php', sprintf(<<<'PHP'
<?php
$r = new AsyncBatchRunner();
$r->registerAsyncJob('logs', new AsyncBatch\HttpSink(%s, ['retryDelay' => 0.001, 'maxBatchBytes' => 1024]));
foreach (array_slice($argv, 1) as $item) {
    $r->submitItem('logs', str_pad($item, 100, '.'));
}
PHP, var_export($server->url, true)));
$ini = ['asyncbatch.shutdown_budget' => '1', 'asyncbatch.exit_timeout' => '1'];
// Piece 1 waits out a Retry-After that does not fit the process's time left.
$server->answer(['status' => 200], ['status' => 503, 'headers' => ['Retry-After' => '120']]);
[$status, $out, $err] = ab_run([...ab_php_args($ini), __DIR__ . '/135.job.php', ...array_map(fn ($i) => "item-$i-", range(0, 19))]);
echo '  ', $out, $err, "exit status: $status\n";
echo '  spool segments: ', count(ab_ls(__DIR__ . '/135.spool', '*.seg')), ', failure files: ', count(ab_ls($dir, 'logs.*.fail')), "\n";
[$status, $out, $err] = ab_run([...ab_php_args($ini), __DIR__ . '/135.job.php']);
echo '  ', $out, $err, "exit status: $status\n";
$requests = $server->waitRequests(5, 5);
$parent = tail(AbHttpServer::header($requests[0], 'Idempotency-Key')) ^ 1;
$keys = [];
foreach ($requests as $q) {
    $key = AbHttpServer::header($q, 'Idempotency-Key');
    $keys[] = $key;
    $items = json_decode($q['body'], true);
    echo "  {$q['status']} ", count($items), ' items from ', strtok($items[0], '.'), ', piece ', (tail($key) ^ $parent) - 1, "\n";
}
echo '  one batch: ', count(array_unique(array_map('head', $keys))) === 1 ? 'yes' : 'no', "\n";
echo '  spool segments: ', count(ab_ls(__DIR__ . '/135.spool', '*.seg')), "\n";

echo "a direct call does not split:\n";
$sink = new AsyncBatch\HttpSink($server->url, ['maxBatchBytes' => 1024]);
$before = count($server->requests());
try {
    $sink(['small', str_repeat('z', 2000)]);
} catch (AsyncBatch\HttpSinkException $e) {
    echo '  ', get_class($e), ': ', $e->getMessage(), "\n";
    echo '  ', var_export([$e->isRetryable(), $e->getStatusCode(), $e->getRetryAfter()], true), "\n";
}
echo '  requests made: ', count($server->requests()) - $before, "\n";
var_dump($sink([str_repeat('z', 1000)]));

echo "bad values:\n";
foreach ([
    ['maxBatchBytes' => 100], ['maxBatchBytes' => 1023], ['maxBatchBytes' => '4096'], ['maxBatchBytes' => null],
    ['maxBatchBytes' => 1024], ['maxBatchBytes' => 64 << 20],
    ['idempotencyHeader' => 'bad header'], ['idempotencyHeader' => true], ['idempotencyHeader' => ''],
    ['idempotencyHeader' => 'X-Id:'], ['idempotencyHeader' => 'Content-Length'], ['idempotencyHeader' => null],
    ['idempotencyHeader' => 'X-Request-Batch'], ['idempotencyHeader' => false],
] as $options) {
    try {
        new AsyncBatch\HttpSink('http://h/', $options);
        echo "  ok\n";
    } catch (AsyncBatch\InvalidConfigException $e) {
        echo '  ', get_class($e), ': ', $e->getMessage(), "\n";
    }
}
?>
--CLEAN--
<?php
require __DIR__ . '/_child.inc';
foreach (['spool', 'failed', 'log', 'http'] as $x) {
    ab_rmrf(__DIR__ . "/135.$x");
}
@unlink(__DIR__ . '/135.job.php');
?>
--EXPECTF--
json:
  flush: 30
  items per request: 9 9 9 3
  every body within 1024 bytes: yes
  every item once, in order: yes
  distinct keys: yes
  the ids of pieces 0 to 3 of one batch: yes
ndjson, gzip:
  flush: 30
  items per request: 9 9 9 3
  every body within 1024 bytes: yes
  every item once, in order: yes
  distinct keys: yes
  the ids of pieces 0 to 3 of one batch: yes
items too big to send:
  flush: 2
  200 ["small-1","small-2"]
  stored: items [x{1100}], attempts 0, lastError item of 1104 bytes is larger than maxBatchBytes (1024); not sent
  stored: items [y{1200}], attempts 0, lastError item of 1204 bytes is larger than maxBatchBytes (1024); not sent
  their ids: pieces 1 and 2 of the batch whose piece 0 was sent: yes
  asyncbatch: job 'b': a batch of 1 item failed 0 times (item of 1104 bytes is larger than maxBatchBytes (1024); not sent); stored in %s/135.failed/%s.fail
  asyncbatch: job 'b': a batch of 1 item failed 0 times (item of 1204 bytes is larger than maxBatchBytes (1024); not sent); stored in %s/135.failed/%s.fail
a run stopped midway (the budget) spools the whole batch with its id; the next one sends the same pieces:
  exit status: 0
  spool segments: 1, failure files: 0
  exit status: 0
  200 9 items from item-0-, piece 0
  503 9 items from item-9-, piece 1
  200 9 items from item-0-, piece 0
  200 9 items from item-9-, piece 1
  200 2 items from item-18-, piece 2
  one batch: yes
  spool segments: 0
a direct call does not split:
  AsyncBatch\HttpSinkException: body of 2012 bytes is larger than maxBatchBytes (1024); not sent
  array (
  0 => false,
  1 => NULL,
  2 => NULL,
)
  requests made: 0
bool(true)
bad values:
  AsyncBatch\InvalidConfigException: Option 'maxBatchBytes' of AsyncBatch\HttpSink must be an int of bytes >= 1024, got 100
  AsyncBatch\InvalidConfigException: Option 'maxBatchBytes' of AsyncBatch\HttpSink must be an int of bytes >= 1024, got 1023
  AsyncBatch\InvalidConfigException: Option 'maxBatchBytes' of AsyncBatch\HttpSink must be an int of bytes >= 1024, got string
  AsyncBatch\InvalidConfigException: Option 'maxBatchBytes' of AsyncBatch\HttpSink must be an int of bytes >= 1024, got null
  ok
  ok
  AsyncBatch\InvalidConfigException: Option 'idempotencyHeader' of AsyncBatch\HttpSink must be a header name or false, got string
  AsyncBatch\InvalidConfigException: Option 'idempotencyHeader' of AsyncBatch\HttpSink must be a header name or false, got bool
  AsyncBatch\InvalidConfigException: Option 'idempotencyHeader' of AsyncBatch\HttpSink must be a header name or false, got string
  AsyncBatch\InvalidConfigException: Option 'idempotencyHeader' of AsyncBatch\HttpSink must be a header name or false, got string
  AsyncBatch\InvalidConfigException: Option 'idempotencyHeader' of AsyncBatch\HttpSink must be a header name or false, got string
  AsyncBatch\InvalidConfigException: Option 'idempotencyHeader' of AsyncBatch\HttpSink must be a header name or false, got null
  ok
  ok
