--TEST--
HttpSink format 'otlp': Monolog records become an OTLP/HTTP JSON ExportLogsServiceRequest (a scope per channel, time, severity, body, attributes from context and extra, trace and span ids, the resource option) that opentelemetry-proto parses; the extension and the polyfill send the same bytes
--SKIPIF--
<?php if (!is_file('/usr/share/php/Monolog/autoload.php')) die('skip php-monolog is not installed'); ?>
--INI--
asyncbatch.spool_dir={PWD}/131.spool
asyncbatch.failure_dir={PWD}/131.failed
error_log={PWD}/131.log
date.timezone=UTC
--FILE--
<?php
require __DIR__ . '/_child.inc';
require __DIR__ . '/_http.inc';
$server = new AbHttpServer(__DIR__ . '/131.http');
$script = __DIR__ . '/131.child.php';
file_put_contents($script, <<<'PHP'
<?php
require __DIR__ . '/_monolog.inc';

use AsyncBatch\HttpSink;
use AsyncBatch\Monolog\AsyncBatchHandler;
use Monolog\DateTimeImmutable;
use Monolog\Logger;

$sink = new HttpSink($argv[1], ['format' => 'otlp', 'resource' => ['service.name' => 'shop', 'deployment.environment' => 'test']]);
$handler = new AsyncBatchHandler('logs', $sink, ['batchSize' => 100]);
$at = DateTimeImmutable::createFromFormat('Y-m-d H:i:s.u', '2026-12-03 09:00:00.123456', new DateTimeZone('Europe/Paris'));
$app = new Logger('app', [$handler], [function ($record) {
    $record['extra']['request_id'] = 'r-1';
    return $record;
}]);
$app->addRecord(Logger::ERROR, 'payment failed', [
    'order' => 42, 'amount' => 9.5, 'tags' => ['card', 'eu'], 'ok' => false, 'none' => null,
    'trace_id' => '4BF92F3577B34DA6A3CE929D0E0E4736', 'span_id' => '00f067aa0ba902b7',
    'e' => new LogicException('declined', 402),
], $at);
(new Logger('security', [$handler]))->addRecord(Logger::NOTICE, 'login', ['user' => 'ann'], $at);
$app->addRecord(Logger::DEBUG, "multi\nline \u{2713}", [], $at);
// Not a Monolog record: the whole item is the body.
(new AsyncBatchRunner())->submitItem('logs', ['metric' => 'rps', 'value' => 12]);
(new AsyncBatchRunner())->submitItem('logs', 'a plain line');
echo 'flushed: ', (new AsyncBatchRunner())->flush('logs'), "\n";
PHP);

$bodies = [];
foreach (['this side' => ab_php_args(), 'the other side' => ab_other_php_args()] as $who => $args) {
    if ($args === null) {
        exit("the extension is not built: cargo build --release\n");
    }
    $before = count($server->requests());
    [$status, $out, $err] = ab_run([...$args, $script, $server->url]);
    $requests = $server->waitRequests($before + 1, 10);
    echo "$who: $out$err", "  exit status: $status, ", count($requests) - $before, " request\n";
    $bodies[$who] = end($requests);
}
$q = $bodies['this side'];
echo 'Content-Type: ', AbHttpServer::header($q, 'Content-Type'), "\n";
echo 'the same bytes from both sides: ', $q['body'] === $bodies['the other side']['body'] ? 'yes' : "no\n" . $bodies['the other side']['body'], "\n";
$file = __DIR__ . '/131.http/body.json';
file_put_contents($file, $q['body']);
[$status, $out, $err] = ab_run(['python3', __DIR__ . '/_otlp_check.py', $file]);
echo $out, $err;
// The body, a line per record.
$flags = JSON_UNESCAPED_SLASHES | JSON_UNESCAPED_UNICODE | JSON_PRESERVE_ZERO_FRACTION;
$doc = json_decode($q['body']);
echo 'resource: ', json_encode($doc->resourceLogs[0]->resource, $flags), "\n";
foreach ($doc->resourceLogs[0]->scopeLogs as $scope) {
    echo 'scope: ', json_encode($scope->scope, $flags), "\n";
    foreach ($scope->logRecords as $record) {
        echo '  ', str_replace(__DIR__, 'DIR', json_encode($record, $flags)), "\n";
    }
}
?>
--CLEAN--
<?php
require __DIR__ . '/_child.inc';
foreach (['spool', 'failed', 'log', 'http', 'child.php'] as $x) {
    ab_rmrf(__DIR__ . "/131.$x");
}
?>
--EXPECT--
this side: flushed: 5
  exit status: 0, 1 request
the other side: flushed: 5
  exit status: 0, 1 request
Content-Type: application/json
the same bytes from both sides: yes
valid ExportLogsServiceRequest, resource service.name=shop,deployment.environment=test
  app: 17/ERROR t=1796284800123456000 attributes=7 trace=4bf92f3577b34da6a3ce929d0e0e4736 span=00f067aa0ba902b7
  app: 5/DEBUG t=1796284800123456000 attributes=1
  security: 10/NOTICE t=1796284800123456000 attributes=1
  asyncbatch: 0/- t=0 attributes=0
  asyncbatch: 0/- t=0 attributes=0
resource: {"attributes":[{"key":"service.name","value":{"stringValue":"shop"}},{"key":"deployment.environment","value":{"stringValue":"test"}}]}
scope: {"name":"app"}
  {"timeUnixNano":"1796284800123456000","severityNumber":17,"severityText":"ERROR","body":{"stringValue":"payment failed"},"attributes":[{"key":"order","value":{"intValue":"42"}},{"key":"amount","value":{"doubleValue":9.5}},{"key":"tags","value":{"arrayValue":{"values":[{"stringValue":"card"},{"stringValue":"eu"}]}}},{"key":"ok","value":{"boolValue":false}},{"key":"none","value":{}},{"key":"e","value":{"kvlistValue":{"values":[{"key":"class","value":{"stringValue":"LogicException"}},{"key":"message","value":{"stringValue":"declined"}},{"key":"code","value":{"intValue":"402"}},{"key":"file","value":{"stringValue":"DIR/131.child.php:19"}}]}}},{"key":"request_id","value":{"stringValue":"r-1"}}],"traceId":"4bf92f3577b34da6a3ce929d0e0e4736","spanId":"00f067aa0ba902b7"}
  {"timeUnixNano":"1796284800123456000","severityNumber":5,"severityText":"DEBUG","body":{"stringValue":"multi\nline ✓"},"attributes":[{"key":"request_id","value":{"stringValue":"r-1"}}]}
scope: {"name":"security"}
  {"timeUnixNano":"1796284800123456000","severityNumber":10,"severityText":"NOTICE","body":{"stringValue":"login"},"attributes":[{"key":"user","value":{"stringValue":"ann"}}]}
scope: {"name":"asyncbatch"}
  {"body":{"kvlistValue":{"values":[{"key":"metric","value":{"stringValue":"rps"}},{"key":"value","value":{"intValue":"12"}}]}},"attributes":[]}
  {"body":{"stringValue":"a plain line"},"attributes":[]}
