<?php
// Demo, part 2 driver: sends requests to the php-fpm socket with cgi-fcgi, all at
// once, prints when each response arrived, then waits for the batches and
// prints them with the time they were delivered, relative to the responses.
//
// Usage: php fpm-client.php SOCKET PAGE BATCH_LOG REQUESTS
declare(strict_types=1);

[, $socket, $page, $log, $count] = $argv;
$count = (int) $count;

$start = hrtime(true);
$procs = [];
for ($req = 1; $req <= $count; $req++) {
    $env = [
        'SCRIPT_FILENAME' => $page,
        'SCRIPT_NAME' => '/' . basename($page),
        'REQUEST_METHOD' => 'GET',
        'QUERY_STRING' => http_build_query(['req' => $req, 'out' => $log]),
        'SERVER_PROTOCOL' => 'HTTP/1.1',
        'GATEWAY_INTERFACE' => 'CGI/1.1',
    ];
    $proc = proc_open(['cgi-fcgi', '-bind', '-connect', $socket], [1 => ['pipe', 'w'], 2 => ['pipe', 'w']], $pipes, null, $env);
    stream_set_blocking($pipes[1], false);
    $procs[$req] = ['proc' => $proc, 'pipes' => $pipes, 'out' => '', 'started' => hrtime(true)];
}

// Poll until every response is complete: cgi-fcgi exits when the response ends.
$answeredAt = [];
$deadline = hrtime(true) + 10e9;
while (count($answeredAt) < $count && hrtime(true) < $deadline) {
    foreach ($procs as $req => &$p) {
        if (isset($answeredAt[$req])) {
            continue;
        }
        $p['out'] .= (string) stream_get_contents($p['pipes'][1]);
        if (!proc_get_status($p['proc'])['running']) {
            $p['out'] .= (string) stream_get_contents($p['pipes'][1]);
            $answeredAt[$req] = microtime(true);
            $p['ms'] = (hrtime(true) - $p['started']) / 1e6;
        }
    }
    unset($p);
    usleep(200);
}
foreach ($procs as $req => $p) {
    if (!isset($p['ms'])) {
        fwrite(STDERR, "request $req got no response within 10 s\n");
        exit(1);
    }
    $body = trim(substr($p['out'], (int) strpos($p['out'], "\r\n\r\n") + 4));
    printf("  request %d answered in %5.1f ms  (%s, 25 records handed to asyncbatch)\n", $req, $p['ms'], $body);
    proc_close($p['proc']);
}
$lastAnswer = max($answeredAt);

echo "\nAll responses were sent. Meanwhile each worker delivers its batches (200 ms each):\n";
$expected = $count * 3; // 25 records in batches of 10: 10 + 10 + 5
$deadline = microtime(true) + 15;
$lines = [];
while (microtime(true) < $deadline) {
    $lines = is_file($log) ? file($log, FILE_IGNORE_NEW_LINES | FILE_SKIP_EMPTY_LINES) : [];
    if (count($lines) >= $expected) {
        break;
    }
    usleep(20_000);
}
$batches = array_map(fn (string $l) => json_decode($l, true), $lines);
usort($batches, fn ($a, $b) => $a['at'] <=> $b['at']);
$items = 0;
foreach ($batches as $b) {
    $items += $b['size'];
    printf(
        "  %+7.0f ms after the last response: worker %d delivered %2d records, first: %s\n",
        ($b['at'] - $lastAnswer) * 1000,
        $b['pid'],
        $b['size'],
        json_encode($b['first'], JSON_UNESCAPED_SLASHES),
    );
}
printf(
    "\n%d of %d records delivered in %d batches. Slowest response: %.1f ms; last batch: %.0f ms after the last response.\n",
    $items,
    $count * 25,
    count($batches),
    max(array_column($procs, 'ms')),
    (max(array_column($batches, 'at') ?: [$lastAnswer]) - $lastAnswer) * 1000,
);
echo "Each page answered in a few ms; the slow calls to the log service ran afterwards, in the same worker.\n";
exit($items === $count * 25 ? 0 : 1);
