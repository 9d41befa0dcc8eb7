--TEST--
daemon and drain check their options before anything runs: a missing --bootstrap or a bad number exits 2 naming the option, with the same limits on both sides
--INI--
asyncbatch.spool_dir={PWD}/069.spool
asyncbatch.failure_dir={PWD}/069.failed
error_log={PWD}/069.log
--FILE--
<?php
require __DIR__ . '/_child.inc';
$b = __DIR__ . '/069.bootstrap.php';
file_put_contents($b, "<?php\nfile_put_contents(__DIR__ . '/069.ran', 'ran');\n");
$cases = [
    ['daemon'],
    ['drain'],
    ['daemon', '--bootstrap', $b, '--workers', '0'],
    ['daemon', '--bootstrap', $b, '--workers', 'two'],
    ['daemon', '--bootstrap', $b, '--workers', '1.5'],
    ['daemon', '--bootstrap', $b, '--workers', '300'],
    ['daemon', '--bootstrap', $b, '--stop-timeout', '0'],
    ['daemon', '--bootstrap', $b, '--stop-timeout=-3'],
    ['daemon', '--bootstrap', $b, '--stop-timeout', 'soon'],
    ['daemon', '--bootstrap', $b, '--stop-timeout', '86401'],
    ['daemon', '--bootstrap', $b, '--log='],
    ['daemon', '--bootstrap', $b, '--json'],
    ['drain', '--bootstrap', $b, '--workers', '2'],
    ['status', '--bootstrap', $b],
];
foreach ($cases as $args) {
    [$status, $out, $err] = ab_cli($args);
    echo '[', str_replace($b, 'B', implode(' ', $args)), "] exit status $status\n", $out, $err;
}
echo file_exists(__DIR__ . '/069.ran') ? "the bootstrap ran\n" : "the bootstrap never ran\n";
?>
--CLEAN--
<?php
require __DIR__ . '/_child.inc';
ab_rmrf(__DIR__ . '/069.spool');
ab_rmrf(__DIR__ . '/069.failed');
ab_rmrf(__DIR__ . '/069.log');
ab_rmrf(__DIR__ . '/069.bootstrap.php');
ab_rmrf(__DIR__ . '/069.ran');
?>
--EXPECT--
[daemon] exit status 2
asyncbatch: daemon needs --bootstrap FILE, the file that registers the jobs with registerAsyncJob()
Run 'asyncbatch help' for usage.
[drain] exit status 2
asyncbatch: drain needs --bootstrap FILE, the file that registers the jobs with registerAsyncJob()
Run 'asyncbatch help' for usage.
[daemon --bootstrap B --workers 0] exit status 2
asyncbatch: option '--workers' needs a whole number from 1 to 256, got '0'
Run 'asyncbatch help' for usage.
[daemon --bootstrap B --workers two] exit status 2
asyncbatch: option '--workers' needs a whole number from 1 to 256, got 'two'
Run 'asyncbatch help' for usage.
[daemon --bootstrap B --workers 1.5] exit status 2
asyncbatch: option '--workers' needs a whole number from 1 to 256, got '1.5'
Run 'asyncbatch help' for usage.
[daemon --bootstrap B --workers 300] exit status 2
asyncbatch: option '--workers' needs a whole number from 1 to 256, got '300'
Run 'asyncbatch help' for usage.
[daemon --bootstrap B --stop-timeout 0] exit status 2
asyncbatch: option '--stop-timeout' needs a number of seconds > 0 and at most 86400, got '0'
Run 'asyncbatch help' for usage.
[daemon --bootstrap B --stop-timeout=-3] exit status 2
asyncbatch: option '--stop-timeout' needs a number of seconds > 0 and at most 86400, got '-3'
Run 'asyncbatch help' for usage.
[daemon --bootstrap B --stop-timeout soon] exit status 2
asyncbatch: option '--stop-timeout' needs a number of seconds > 0 and at most 86400, got 'soon'
Run 'asyncbatch help' for usage.
[daemon --bootstrap B --stop-timeout 86401] exit status 2
asyncbatch: option '--stop-timeout' needs a number of seconds > 0 and at most 86400, got '86401'
Run 'asyncbatch help' for usage.
[daemon --bootstrap B --log=] exit status 2
asyncbatch: option '--log' needs a file name
Run 'asyncbatch help' for usage.
[daemon --bootstrap B --json] exit status 2
asyncbatch: unknown option '--json' for daemon
Run 'asyncbatch help' for usage.
[drain --bootstrap B --workers 2] exit status 2
asyncbatch: unknown option '--workers' for drain
Run 'asyncbatch help' for usage.
[status --bootstrap B] exit status 2
asyncbatch: unknown option '--bootstrap' for status
Run 'asyncbatch help' for usage.
the bootstrap never ran
