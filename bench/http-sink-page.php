<?php
// The page of the HTTP sink benchmark (bench/http_sink.sh), served by php-fpm
// behind nginx: renders a small list, and, when the pool sets AB_BENCH_SINK (the
// sink's URL), logs 20 records to an AsyncBatch\HttpSink job. Without it: the
// same page without logging.
declare(strict_types=1);

$html = '';
for ($i = 0; $i < 100; $i++) {
    $html .= '<li>' . htmlspecialchars("item $i: <b>bold</b> & co", ENT_QUOTES) . "</li>\n";
}

$url = getenv('AB_BENCH_SINK');
if (is_string($url) && $url !== '') {
    $runner = new AsyncBatchRunner();
    $runner->registerAsyncJob('logs', new AsyncBatch\HttpSink($url, ['batchSize' => 500, 'callPeriod' => 0.5]));
    for ($i = 0; $i < 20; $i++) {
        $runner->submitItem('logs', [
            'ts' => microtime(true),
            'level' => 'info',
            'channel' => 'app',
            'msg' => 'rendered the list',
            'i' => $i,
            'uid' => 4242,
            'ip' => '203.0.113.7',
            'path' => '/bench',
            'ms' => 12.5,
            'ctx' => ['items' => 100],
        ]);
    }
}

header('Content-Type: text/html; charset=utf-8');
echo "<!doctype html><ul>\n$html</ul>\n";
