--TEST--
The CLI's PHP copy of the daemon options (for hosts without the extension) accepts, converts and refuses exactly as the extension's Daemon::parseOptions()
--SKIPIF--
<?php
if (!extension_loaded('asyncbatch')) die('skip compares the PHP copy with the extension, which declares the options (core/src/daemon/options.rs)');
?>
--FILE--
<?php
require __DIR__ . '/_child.inc';
require_once ab_root() . '/php/autoload.php';

use AsyncBatch\Internal\Daemon;
use AsyncBatch\Internal\DaemonOptions;

$outcome = static function (callable $parse, array $options): string {
    try {
        $r = $parse($options);
        return sprintf('workers %s, stopTimeout %s', var_export($r['workers'], true), var_export($r['stopTimeout'], true));
    } catch (ValueError $e) {
        return $e->getMessage();
    }
};

$values = [
    '0', '1', '2', '16', '0016', '0000000016', '00000000016', '256', '257', '300', '1024', '-3', '+2',
    '1.5', '2e1', '1e2', 'two', 'soon', '', ' ', ' 2 ', " 2\t", "\u{3000}2\u{a0}", 'inf', '-inf', 'NaN',
    '0.5', '.5', '5.', '+.5', '1.e1', '1e+1', '1e', 'e1', '.', '-', '--1', '0x10', '1_0', '86400', '86400.0',
    '86401', '86400.000001', '1e400', '1e-400', '1e-10', '0.0000000006', '99999999999999999999',
    16, 300, -1, 0, 2.5, 16.0, 0.0, -0.0, 1e-7, 1e25, NAN, INF, null, true,
];
$cases = [[]];
foreach ($values as $v) {
    $cases[] = ['workers' => $v];
    $cases[] = ['stopTimeout' => $v];
}
$cases[] = ['workers' => '300', 'stopTimeout' => '0'];
$cases[] = ['workers' => '4', 'stopTimeout' => '2.5', 'bootstrap' => '/app/bootstrap.php', 'log' => null];
$cases[] = ['workers' => '300', 'retries' => '2'];
$cases[] = ['8'];
// --metrics [HOST:]PORT and --metrics-public: what each refuses (the address is the daemon's).
foreach (['9464', 'localhost:9464', '127.0.0.1:9464', '[::1]:9464', '0.0.0.0:9464', '10.1.2.3:80', '[::]:9464',
    '', '0', '65535', '65536', 'nine', 'host:80', '127.0.0.1', '127.0.0.1:0', ':9464', '-1', ' 9464', 9464] as $m) {
    $cases[] = ['metrics' => $m];
    $cases[] = ['metrics' => $m, 'metricsPublic' => '1'];
}
$cases[] = ['metricsPublic' => '1'];

$same = 0;
foreach ($cases as $options) {
    $ext = $outcome([Daemon::class, 'parseOptions'], $options);
    $copy = $outcome([DaemonOptions::class, 'parse'], $options);
    if ($ext === $copy) {
        $same++;
    } else {
        echo json_encode($options, JSON_PARTIAL_OUTPUT_ON_ERROR), ":\n  extension: $ext\n  PHP copy:  $copy\n";
    }
}
echo "$same of ", count($cases), " give the same\n";

// What the limits are, as both say.
foreach ([[], ['workers' => '256'], ['workers' => '257'], ['stopTimeout' => '86400'], ['stopTimeout' => '0'], ['workers' => '2', 'stopTimeout' => ' 2.5 ']] as $options) {
    echo json_encode($options), ' => ', $outcome([DaemonOptions::class, 'parse'], $options), "\n";
}
?>
--EXPECT--
168 of 168 give the same
[] => workers 2, stopTimeout 10.0
{"workers":"256"} => workers 256, stopTimeout 10.0
{"workers":"257"} => option '--workers' needs a whole number from 1 to 256, got '257'
{"stopTimeout":"86400"} => workers 2, stopTimeout 86400.0
{"stopTimeout":"0"} => option '--stop-timeout' needs a number of seconds > 0 and at most 86400, got '0'
{"workers":"2","stopTimeout":" 2.5 "} => workers 2, stopTimeout 2.5
