--TEST--
A callable gets each item as it was when submitted: changes made afterwards to the submitted array, to a variable it held by reference, or by the callable to its own list (a retry gets the items again as submitted) do not show; the items equal what submitItem() was given
--INI--
asyncbatch.spool_dir={PWD}/137.spool
asyncbatch.failure_dir={PWD}/137.failed
error_log={PWD}/137.log
--FILE--
<?php
$r = new AsyncBatchRunner();
$seen = [];
$r->registerAsyncJob('j', function (array $items) use (&$seen) {
    $seen[] = json_encode($items);
    // The callable changes its own list, then fails once: the retry gets the
    // items as submitted.
    $items[0]['n'] = 'changed by the callable';
    return count($seen) > 1;
}, ['maxRetries' => 1, 'retryDelay' => 0]);

$record = ['n' => 1, 'tags' => ['a', 'b'], 'f' => 1.5, 'k' => [5 => 'x', 'y' => null]];
$r->submitItem('j', $record);
$record['n'] = 2;          // the submitted array was copied on write
$record['tags'][] = 'c';

$x = 'before';
$withRef = ['ref' => &$x];
$r->submitItem('j', $withRef);
$x = 'after';              // a reference's target changed

$list = [1, 2, 3];
$r->submitItem('j', $list);
unset($list[1]);
$r->submitItem('j', 'a string');
$r->submitItem('j', 7);

echo 'flush: ', $r->flush('j'), "\n";
foreach ($seen as $i => $s) {
    echo "call $i: $s\n";
}
echo 'the same in both calls: ', $seen[0] === $seen[1] ? 'yes' : 'no', "\n";
echo "after: ", json_encode($record), ' ', $x, "\n";
?>
--CLEAN--
<?php
require __DIR__ . '/_child.inc';
foreach (['spool', 'failed', 'log'] as $x) {
    ab_rmrf(__DIR__ . "/137.$x");
}
?>
--EXPECT--
flush: 5
call 0: [{"n":1,"tags":["a","b"],"f":1.5,"k":{"5":"x","y":null}},{"ref":"before"},[1,2,3],"a string",7]
call 1: [{"n":1,"tags":["a","b"],"f":1.5,"k":{"5":"x","y":null}},{"ref":"before"},[1,2,3],"a string",7]
the same in both calls: yes
after: {"n":2,"tags":["a","b","c"],"f":1.5,"k":{"5":"x","y":null}} after
