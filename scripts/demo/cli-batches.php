<?php
// Demo, part 1: a CLI script hands 1,050 log records to asyncbatch. The job's
// batchSize is 100, so every 100th submitItem() delivers a batch at once (a
// long-running CLI worker keeps bounded memory); what is left when the script
// ends is delivered by asyncbatch's shutdown function.
declare(strict_types=1);

$total = (int) ($argv[1] ?? 1050);
$start = hrtime(true);
$inCallable = 0;
$batches = 0;
$ms = static fn (): float => (hrtime(true) - $start) / 1e6;

$runner = new AsyncBatchRunner();
$runner->registerAsyncJob(
    'logs',
    static function (array $records) use (&$inCallable, &$batches, $ms): bool {
        $t = hrtime(true);
        $batches++;
        printf(
            "  %7.1f ms  batch %2d: %3d records, first: %s\n",
            $ms(),
            $batches,
            count($records),
            json_encode($records[0], JSON_UNESCAPED_SLASHES),
        );
        $inCallable += hrtime(true) - $t;
        return true; // a real sink would send the batch in one API call here
    },
    ['batchSize' => 100, 'callPeriod' => 2.0],
);

echo "Submitting $total log records to job 'logs' (batchSize 100):\n";
$submitStart = hrtime(true);
for ($i = 1; $i <= $total; $i++) {
    $runner->submitItem('logs', [
        'level' => $i % 50 === 0 ? 'warning' : 'info',
        'message' => "user $i signed in",
        'seq' => $i,
        'ts' => 1_763_900_000 + $i,
    ]);
}
$submitNs = hrtime(true) - $submitStart - $inCallable;
printf(
    "\nAll %d submitted in %.1f ms: %.2f µs per record, building it and submitItem() (the callable's time left out).\n",
    $total,
    (hrtime(true) - $submitStart) / 1e6,
    $submitNs / $total / 1e3,
);
printf("The script ends now; asyncbatch delivers the remaining %d at shutdown:\n", $total % 100);
