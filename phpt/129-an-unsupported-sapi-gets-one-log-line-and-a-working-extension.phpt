--TEST--
Loaded into a SAPI it does not support (phpdbg), the extension logs one line naming it at startup and works: items are delivered at the end of the script, phpinfo() says so; the CLI logs nothing
--SKIPIF--
<?php
if (!extension_loaded('asyncbatch')) die('skip the polyfill is plain PHP code: it runs wherever PHP does, with nothing to say at startup');
?>
--INI--
asyncbatch.spool_dir={PWD}/129.spool
asyncbatch.failure_dir={PWD}/129.failed
error_log={PWD}/129.log
--FILE--
<?php
require __DIR__ . '/_child.inc';
// The phpdbg of this PHP: /usr/bin/php8.2 -> /usr/bin/phpdbg8.2, .../bin/php -> .../bin/phpdbg.
$phpdbg = preg_replace('~php([0-9.]*)$~', 'phpdbg$1', PHP_BINARY);
if (!is_executable($phpdbg)) {
    // Not a skip: the test would pass having tested nothing (scripts/deps.sh installs it).
    exit("phpdbg not found at $phpdbg: install the phpdbg package of this PHP\n");
}
$script = __DIR__ . '/129.script.php';
file_put_contents($script, <<<'PHP'
<?php
$r = new AsyncBatchRunner();
$r->registerAsyncJob('t', function (array $items): bool {
    echo '  delivered: ', implode(', ', $items), "\n";
    return true;
});
$r->submitItem('t', 'x1');
$r->submitItem('t', 'x2');
ob_start();
phpinfo(INFO_MODULES);
preg_match('/^SAPI => (.*)$/m', (string) ob_get_clean(), $m);
echo '  ', PHP_SAPI, ': phpinfo() SAPI row: ', $m[1] ?? 'missing', "\n";
PHP);
$log = __DIR__ . '/129.log';
foreach (['phpdbg', 'cli'] as $sapi) {
    echo "$sapi:\n";
    @unlink($log);
    $args = ab_php_args();
    if ($sapi === 'phpdbg') {
        $args[0] = $phpdbg;
        array_splice($args, 1, 0, ['-qrr']);
    }
    $args[] = $script;
    [$status, $out, $err] = ab_run($args);
    echo $out, $err, "  exit status: $status\n";
    foreach (ab_log_lines($log) as $line) {
        echo "  log: $line\n";
    }
}
?>
--CLEAN--
<?php
require __DIR__ . '/_child.inc';
foreach (['spool', 'failed', 'log', 'script.php'] as $x) {
    ab_rmrf(__DIR__ . "/129.$x");
}
?>
--EXPECTF--
phpdbg:
  phpdbg: phpinfo() SAPI row: phpdbg (not supported)
  delivered: x1, x2
  exit status: 0
  log: asyncbatch: the "phpdbg" SAPI is not supported (supported: cli, fpm-fcgi, cgi-fcgi, apache2handler, litespeed, frankenphp, cli-server, embed); items are delivered at the end of each request, as in php-fpm, without sending the response first
cli:
  cli: phpinfo() SAPI row: cli
  delivered: x1, x2
  exit status: 0
