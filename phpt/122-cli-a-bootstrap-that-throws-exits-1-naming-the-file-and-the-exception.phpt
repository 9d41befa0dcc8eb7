--TEST--
failed:retry with a bootstrap file that throws exits 1 naming the file, the exception and where it was thrown; a missing one exits 1 naming it
--INI--
asyncbatch.spool_dir={PWD}/122.spool
asyncbatch.failure_dir={PWD}/122.failed
error_log={PWD}/122.log
--FILE--
<?php
require __DIR__ . '/_child.inc';
$b = __DIR__ . '/122.bootstrap.php';
file_put_contents($b, "<?php\n\nthrow new DomainException('no config here');\n");
$cases = [
    ['failed:retry', '--bootstrap', $b],
    ['failed:retry', '--bootstrap', __DIR__ . '/122.missing.php'],
];
foreach ($cases as $args) {
    [$status, $out, $err] = ab_cli($args);
    echo '[', str_replace(__DIR__, 'D', implode(' ', $args)), "] exit status $status\n", $out, str_replace(__DIR__, 'D', $err);
}
?>
--CLEAN--
<?php
require __DIR__ . '/_child.inc';
ab_rmrf(__DIR__ . '/122.spool');
ab_rmrf(__DIR__ . '/122.failed');
ab_rmrf(__DIR__ . '/122.log');
ab_rmrf(__DIR__ . '/122.bootstrap.php');
?>
--EXPECT--
[failed:retry --bootstrap D/122.bootstrap.php] exit status 1
asyncbatch: the bootstrap file D/122.bootstrap.php threw DomainException: no config here (in D/122.bootstrap.php:3)
[failed:retry --bootstrap D/122.missing.php] exit status 1
asyncbatch: bootstrap file D/122.missing.php not found
