<?php
// The page of the php-fpm benchmark (bench/run.sh), served by php-fpm behind nginx:
// renders a small list and, depending on the pool's AB_BENCH_MODE, logs 20 records.
//
//   none   the page alone
//   build  builds the same 20 records and drops them (the cost of making log
//          records, which any logging library has)
//   count  submits them to job "logs", delivered by whatever runner the pool's
//          settings select (see bench/jobs.php)
//   sink   submits them to job "logs", an AsyncBatch\HttpSink to AB_BENCH_SINK
//   monolog  what users pick instead (a peer): Monolog's StreamHandler appends each
//          record to a file in AB_BENCH_COUNT_DIR (Debian's php-monolog)
//   file   the other peer: file_put_contents() of each record as a JSON line
declare(strict_types=1);

$html = '';
for ($i = 0; $i < 100; $i++) {
    $html .= '<li>' . htmlspecialchars("item $i: <b>bold</b> & co", ENT_QUOTES) . "</li>\n";
}

$mode = getenv('AB_BENCH_MODE') ?: 'none';
if ($mode !== 'none') {
    $dropped = [];
    $submit = static function (array $record) use (&$dropped): void {
        $dropped[] = $record;
    };
    if ($mode === 'monolog') {
        require_once 'Monolog/autoload.php';
        $logger = new Monolog\Logger('app', [new Monolog\Handler\StreamHandler(getenv('AB_BENCH_COUNT_DIR') . '/monolog.log')]);
        $submit = static function (array $record) use ($logger): void {
            $logger->info($record['msg'], $record);
        };
    } elseif ($mode === 'file') {
        $file = getenv('AB_BENCH_COUNT_DIR') . '/records.log';
        $submit = static function (array $record) use ($file): void {
            file_put_contents($file, json_encode($record) . "\n", FILE_APPEND);
        };
    } elseif ($mode !== 'build') {
        require_once __DIR__ . '/jobs.php';
        $runner = new AsyncBatchRunner();
        bench_register_logs($runner, $mode === 'sink' ? (string) getenv('AB_BENCH_SINK') : null);
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
