--TEST--
The Monolog handler with an AsyncBatch\HttpSink as its callable: the normalised records are posted as NDJSON, the same bytes from both sides
--SKIPIF--
<?php if (!is_file('/usr/share/php/Monolog/autoload.php')) die('skip php-monolog is not installed'); ?>
--INI--
asyncbatch.spool_dir={PWD}/099.spool
asyncbatch.failure_dir={PWD}/099.failed
error_log={PWD}/099.log
date.timezone=UTC
--FILE--
<?php
require __DIR__ . '/_monolog.inc';
require __DIR__ . '/_http.inc';

use AsyncBatch\HttpSink;
use AsyncBatch\Monolog\AsyncBatchHandler;
use Monolog\DateTimeImmutable;
use Monolog\Logger;

$server = new AbHttpServer(__DIR__ . '/099.http');
$log = new Logger('app', [new AsyncBatchHandler('logs', new HttpSink($server->url, ['format' => 'ndjson']), ['batchSize' => 10])]);
$at = DateTimeImmutable::createFromFormat('Y-m-d H:i:s.u', '2024-05-01 12:34:56.123456', new DateTimeZone('Europe/Paris'));
$log->addRecord(Logger::INFO, 'user signed in', ['uid' => 42, 'ratio' => 1.0], $at);
$log->addRecord(Logger::ERROR, 'payment failed', ['e' => new LogicException('declined', 402), 'when' => $at], $at);
echo 'flush: ', (new AsyncBatchRunner())->flush('logs'), "\n";
foreach ($server->requests() as $q) {
    echo $q['method'], ' ', AbHttpServer::header($q, 'Content-Type'), "\n";
    echo str_replace(__DIR__, 'DIR', $q['body']);
}
?>
--CLEAN--
<?php
require __DIR__ . '/_child.inc';
foreach (['spool', 'failed', 'log', 'http'] as $x) {
    ab_rmrf(__DIR__ . "/099.$x");
}
?>
--EXPECT--
flush: 2
POST application/x-ndjson
{"message":"user signed in","context":{"uid":42,"ratio":1.0},"level":200,"level_name":"INFO","channel":"app","datetime":"2024-05-01T12:34:56.123456+02:00","extra":[]}
{"message":"payment failed","context":{"e":{"class":"LogicException","message":"declined","code":402,"file":"DIR/099-monolog-handler-with-an-http-sink-posts-the-records.php:14"},"when":"2024-05-01T12:34:56.123456+02:00"},"level":400,"level_name":"ERROR","channel":"app","datetime":"2024-05-01T12:34:56.123456+02:00","extra":[]}
