<?php
// The soak test's job (bench/soak.sh), registered the same way by its page
// (bench/soak-page.php) and by the daemon's workers (bench/soak-bootstrap.php).
//
// Job "soak": each item carries where it came from — the php-fpm worker's pid, the
// request's number in that worker, and the item's index in the request. The callable
// stands in for a transport: it appends, to a file per daemon worker in
// $AB_SOAK_DIR/delivered/, one line per batch and one line per run of consecutive
// items of a request:
//
//   B MASTER_PID UNIX_TIME ITEMS      a batch, delivered by a worker of daemon MASTER_PID
//   PID REQ FIRST LAST                items FIRST..LAST of request REQ of php-fpm worker PID
//   ? JSON                            an item that is not one of the soak's
//
// all in one write, before it returns: what is in the file was delivered.
declare(strict_types=1);

const SOAK_ITEMS_PER_REQUEST = 20;

function soak_register(AsyncBatchRunner $runner): void
{
    $runner->registerAsyncJob('soak', 'soak_deliver', ['batchSize' => 500, 'callPeriod' => 0.5]);
}

/** The daemon's master: the parent of the worker (read once per process; no posix extension needed). */
function soak_master_pid(): int
{
    static $cache = [];
    $pid = getmypid();
    if (!isset($cache[$pid])) {
        $stat = (string) @file_get_contents('/proc/self/stat');
        $fields = explode(' ', substr($stat, (int) strrpos($stat, ')') + 2));
        $cache[$pid] = (int) ($fields[1] ?? 0);
    }
    return $cache[$pid];
}

/** The callable of job "soak". */
function soak_deliver(array $items): bool
{
    $dir = getenv('AB_SOAK_DIR');
    if (!is_string($dir) || $dir === '') {
        throw new RuntimeException('AB_SOAK_DIR is not set');
    }
    $out = sprintf("B %d %.3f %d\n", soak_master_pid(), microtime(true), count($items));
    $run = null;
    foreach ($items as $item) {
        if (!is_array($item) || !is_int($item['pid'] ?? null) || !is_int($item['req'] ?? null) || !is_int($item['i'] ?? null)) {
            if ($run !== null) {
                $out .= "$run[0] $run[1] $run[2] $run[3]\n";
                $run = null;
            }
            $out .= '? ' . json_encode($item, JSON_INVALID_UTF8_SUBSTITUTE | JSON_PARTIAL_OUTPUT_ON_ERROR) . "\n";
            continue;
        }
        if ($run !== null && $run[0] === $item['pid'] && $run[1] === $item['req'] && $run[3] + 1 === $item['i']) {
            $run[3] = $item['i'];
            continue;
        }
        if ($run !== null) {
            $out .= "$run[0] $run[1] $run[2] $run[3]\n";
        }
        $run = [$item['pid'], $item['req'], $item['i'], $item['i']];
    }
    if ($run !== null) {
        $out .= "$run[0] $run[1] $run[2] $run[3]\n";
    }
    // One write(2) of the whole batch; a failure is the batch's failure (retried).
    return @file_put_contents("$dir/delivered/" . getmypid(), $out, FILE_APPEND) === strlen($out);
}
