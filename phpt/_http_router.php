<?php
/*
 * The router of the tests' HTTP server (`php -S 127.0.0.1:PORT _http_router.php`,
 * started by AbHttpServer in _http.inc). $AB_HTTP_DIR holds:
 *
 *   requests.jsonl  one JSON line per request: at (unix time of arrival), method,
 *                   uri, headers (as sent), body (base64 of the raw bytes), status
 *   control.json    {"queue": [response, ...], "default": response}: each request
 *                   takes the first response of the queue, or the default; a
 *                   response is {"status": 200, "headers": {...}, "body": "ok",
 *                   "sleep": seconds before answering}
 */
declare(strict_types=1);

$dir = (string) getenv('AB_HTTP_DIR');
$at = microtime(true);
$body = (string) file_get_contents('php://input');

$lock = fopen("$dir/control.lock", 'c');
flock($lock, LOCK_EX);
$control = is_file("$dir/control.json") ? json_decode((string) file_get_contents("$dir/control.json"), true) : [];
$response = array_shift($control['queue']) ?? ($control['default'] ?? []);
file_put_contents("$dir/control.json", json_encode($control));
$record = [
    'at' => $at,
    'method' => $_SERVER['REQUEST_METHOD'],
    'uri' => $_SERVER['REQUEST_URI'],
    'headers' => getallheaders(),
    'body' => base64_encode($body),
    'status' => $response['status'] ?? 200,
];
file_put_contents("$dir/requests.jsonl", json_encode($record) . "\n", FILE_APPEND);
flock($lock, LOCK_UN);
fclose($lock);

if (($response['sleep'] ?? 0) > 0) {
    usleep((int) ($response['sleep'] * 1e6));
}
http_response_code($response['status'] ?? 200);
header('Content-Type: text/plain');
foreach ($response['headers'] ?? [] as $name => $value) {
    header("$name: $value");
}
echo $response['body'] ?? 'ok';
