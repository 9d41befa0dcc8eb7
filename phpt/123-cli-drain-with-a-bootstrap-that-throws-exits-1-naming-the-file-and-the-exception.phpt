--TEST--
drain with a bootstrap file that throws exits 1 with the message failed:retry gives
--INI--
asyncbatch.spool_dir={PWD}/123.spool
asyncbatch.failure_dir={PWD}/123.failed
error_log={PWD}/123.log
--FILE--
<?php
require __DIR__ . '/_child.inc';
$b = __DIR__ . '/123.bootstrap.php';
file_put_contents($b, "<?php\n\nthrow new DomainException('no config here');\n");
$cases = [
    ['drain', '--bootstrap', $b],
    ['drain', '--bootstrap', __DIR__ . '/123.missing.php'],
];
foreach ($cases as $args) {
    [$status, $out, $err] = ab_cli($args);
    echo '[', str_replace(__DIR__, 'D', implode(' ', $args)), "] exit status $status\n", $out, str_replace(__DIR__, 'D', $err);
}
?>
--CLEAN--
<?php
require __DIR__ . '/_child.inc';
ab_rmrf(__DIR__ . '/123.spool');
ab_rmrf(__DIR__ . '/123.failed');
ab_rmrf(__DIR__ . '/123.log');
ab_rmrf(__DIR__ . '/123.bootstrap.php');
?>
--EXPECT--
[drain --bootstrap D/123.bootstrap.php] exit status 1
asyncbatch: the bootstrap file D/123.bootstrap.php threw DomainException: no config here (in D/123.bootstrap.php:3)
[drain --bootstrap D/123.missing.php] exit status 1
asyncbatch: bootstrap file D/123.missing.php not found
