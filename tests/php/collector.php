<?php
// A log collector for the deploy test, run by PHP's built-in server:
//   COLLECTOR_OUT=/path php -S 127.0.0.1:PORT collector.php
// Appends every request body to $COLLECTOR_OUT and answers 200 "ok".
declare(strict_types=1);

file_put_contents((string) getenv('COLLECTOR_OUT'), file_get_contents('php://input'), FILE_APPEND | LOCK_EX);
header('Content-Type: text/plain');
echo 'ok';
