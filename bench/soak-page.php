<?php
// The page of the soak test (bench/soak.sh), served by php-fpm (daemon runner) behind
// nginx: submits 20 items to job "soak", each tagged with this worker's pid, the
// request's number in this worker and its index, then records the request.
//
// The record is $AB_SOAK_DIR/submitted/PID: one fixed-width line per request, written
// after the 20 submitItem() calls returned and before the response. A php-fpm worker
// serves one request at a time, so the file's size gives the next request number,
// and a 200 response means the request is in the file. The checker expects exactly
// the items of the recorded requests to be delivered.
declare(strict_types=1);

require_once __DIR__ . '/soak-jobs.php';

const SOAK_RECORD = "%08d\n";
const SOAK_RECORD_BYTES = 9;

$dir = (string) getenv('AB_SOAK_DIR');
$pid = getmypid();
$fh = fopen("$dir/submitted/$pid", 'ab');
if ($fh === false) {
    http_response_code(500);
    exit("cannot open the record of worker $pid\n");
}
$req = intdiv(fstat($fh)['size'], SOAK_RECORD_BYTES);

$runner = new AsyncBatchRunner();
soak_register($runner);
for ($i = 0; $i < SOAK_ITEMS_PER_REQUEST; $i++) {
    $runner->submitItem('soak', [
        'ts' => microtime(true),
        'level' => 'info',
        'msg' => 'soak test record',
        'pid' => $pid,
        'req' => $req,
        'i' => $i,
        'path' => '/soak',
        'ctx' => ['items' => SOAK_ITEMS_PER_REQUEST],
    ]);
}

$line = sprintf(SOAK_RECORD, $req);
if (fwrite($fh, $line) !== SOAK_RECORD_BYTES) {
    http_response_code(500);
    exit("cannot record request $pid/$req\n");
}
fclose($fh);

header('Content-Type: text/plain');
echo "ok $pid $req\n";
