<?php
// Plain PHP: answers, ends the response with fastcgi_finish_request(), then
// works on for sleep_ms and writes a marker. Shows what "the client has its
// response" means in the harness, without asyncbatch.
declare(strict_types=1);

$out = $_GET['out'];
$sleepMs = (int) $_GET['sleep_ms'];
echo getmypid();
fastcgi_finish_request();
usleep($sleepMs * 1000);
file_put_contents($out, getmypid() . "\n", FILE_APPEND | LOCK_EX);
