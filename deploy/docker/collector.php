<?php

/**
 * A stand-in log collector for compose.yaml (`php -S 0.0.0.0:4318 collector.php`):
 * prints what the example bootstrap posts (NDJSON log records) and answers 200.
 * Remove it, and its service, when LOG_COLLECTOR_URL points at a real collector.
 */

declare(strict_types=1);

$body = (string) file_get_contents('php://input');
$records = substr_count($body, "\n");
file_put_contents('php://stderr', sprintf("collector: %s %s: %d records\n%s", $_SERVER['REQUEST_METHOD'], $_SERVER['REQUEST_URI'], $records, $body));
header('Content-Type: text/plain');
echo "ok\n";
