--TEST--
The polyfill's backoff: retryDelay * 2^(k-1) exactly with the jitter off, capped at 30 s; the jitter stays within ±25%
--SKIPIF--
<?php
if (extension_loaded('asyncbatch')) die("skip polyfill internals; the extension's backoff is tested by cargo test in core/src/retry.rs");
?>
--INI--
error_log={PWD}/120.log
--FILE--
<?php
use AsyncBatch\Internal\Backoff;
use AsyncBatch\Internal\FailureStore;
use AsyncBatch\Internal\Job;
use AsyncBatch\Internal\JobConfig;
use AsyncBatch\Internal\Retry;

$fixed = static fn (float $u): Closure => static fn (): float => $u;
$delays = static function (Backoff $b, iterable $retries): string {
    $out = [];
    foreach ($retries as $k) {
        $out[] = var_export($b->delay($k), true);
    }
    return implode(' ', $out);
};

// u = 0.5 gives the factor 1: no jitter.
echo 'jitter off, retryDelay 0.1: ', $delays(new Backoff(0.1, $fixed(0.5)), range(1, 5)), "\n";
echo 'jitter off, retryDelay 1, retries 5 to 7, 63, 1000: ', $delays(new Backoff(1.0, $fixed(0.5)), [5, 6, 7, 63, 1000]), "\n";
echo 'jitter off, retryDelay 0: ', $delays(new Backoff(0.0, $fixed(0.5)), [1, 3]), "\n";

// The ends of the jitter: u = 0 is -25%; u just below 1 is +25% (1.25 once rounded to a float).
$low = new Backoff(0.1, $fixed(0.0));
$high = new Backoff(0.1, $fixed(1.0 - PHP_FLOAT_EPSILON / 2));
foreach ([1, 2, 3] as $k) {
    printf("retry %d: from %.9F to %.9F\n", $k, $low->delay($k), $high->delay($k));
}
echo 'the cap holds at +25%: ', var_export($high->delay(9), true), "\n";

// The default source (mt_rand()): within [0.075, 0.125) for retry 1 of 0.1 s, both ways.
$b = new Backoff(0.1);
$min = INF;
$max = -INF;
for ($i = 0; $i < 2000; $i++) {
    $d = $b->delay(1);
    $min = min($min, $d);
    $max = max($max, $d);
}
echo 'default source within bounds: ', var_export($min >= 0.075 && $max < 0.125, true), "\n";
echo 'default source spreads both ways: ', var_export($min < 0.085 && $max > 0.115, true), "\n";

// Retry takes its jitter from the source it is given: one draw per retry.
$draws = 0;
$retry = new Retry(new FailureStore(__DIR__ . '/120.failed', PHP_INT_MAX), static function () use (&$draws): float {
    $draws++;
    return 0.5;
});
$job = new Job('t');
$job->configure(static fn (): bool => false, JobConfig::validate('t', ['maxRetries' => 3, 'retryDelay' => 0.001], null));
var_dump($retry->deliver($job, ['x'], AsyncBatch\Internal\BatchId::new(), null));
echo "$draws draws for {$job->retries} retries\n";
?>
--CLEAN--
<?php
require __DIR__ . '/_child.inc';
ab_rmrf(__DIR__ . '/120.failed');
ab_rmrf(__DIR__ . '/120.log');
?>
--EXPECT--
jitter off, retryDelay 0.1: 0.1 0.2 0.4 0.8 1.6
jitter off, retryDelay 1, retries 5 to 7, 63, 1000: 16.0 30.0 30.0 30.0 30.0
jitter off, retryDelay 0: 0.0 0.0
retry 1: from 0.075000000 to 0.125000000
retry 2: from 0.150000000 to 0.250000000
retry 3: from 0.300000000 to 0.500000000
the cap holds at +25%: 30.0
default source within bounds: true
default source spreads both ways: true
bool(false)
3 draws for 3 retries
