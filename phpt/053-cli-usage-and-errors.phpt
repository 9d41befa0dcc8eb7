--TEST--
asyncbatch prints usage for help or no command; unknown commands and options exit 2
--INI--
asyncbatch.spool_dir={PWD}/053.spool
asyncbatch.failure_dir={PWD}/053.failed
error_log={PWD}/053.log
--FILE--
<?php
require __DIR__ . '/_child.inc';
foreach ([[], ['help'], ['failed:nope'], ['failed:list', '--bogus'], ['failed:list', '--job'], ['failed:show'], ['failed:list', 'extra']] as $args) {
    [$status, $out, $err] = ab_cli($args);
    echo '[', implode(' ', $args), "] exit status $status\n";
    echo $status === 0 ? strtok($out, "\n") . "\n" : $err;
}
?>
--CLEAN--
<?php
require __DIR__ . '/_child.inc';
ab_rmrf(__DIR__ . '/053.spool');
ab_rmrf(__DIR__ . '/053.failed');
ab_rmrf(__DIR__ . '/053.log');
?>
--EXPECT--
[] exit status 0
Usage: asyncbatch <command> [options]
[help] exit status 0
Usage: asyncbatch <command> [options]
[failed:nope] exit status 2
asyncbatch: unknown command 'failed:nope'
Run 'asyncbatch help' for usage.
[failed:list --bogus] exit status 2
asyncbatch: unknown option '--bogus' for failed:list
Run 'asyncbatch help' for usage.
[failed:list --job] exit status 2
asyncbatch: option '--job' needs a value
Run 'asyncbatch help' for usage.
[failed:show] exit status 2
asyncbatch: failed:show needs one NAME or PATH of a failure file
Run 'asyncbatch help' for usage.
[failed:list extra] exit status 2
asyncbatch: unexpected argument 'extra' for failed:list
Run 'asyncbatch help' for usage.
