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
$sink = is_string($url) && $url !== '';
if ($sink || getenv('AB_BENCH_BUILD')) {
    // With AB_BENCH_BUILD the records are built the same way and dropped: the cost of
    // making log records, which any logging library has, apart from asyncbatch's.
    $dropped = [];
    $submit = static function (array $record) use (&$dropped): void {
        $dropped[] = $record;
    };
    if ($sink) {
        $runner = new AsyncBatchRunner();
        $runner->registerAsyncJob('logs', new AsyncBatch\HttpSink($url, ['batchSize' => 500, 'callPeriod' => 0.5]));
        $submit = static function (array $record) use ($runner): void {
            $runner->submitItem('logs', $record);
        };
    }
    for ($i = 0; $i < 20; $i++) {
        $submit([
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
