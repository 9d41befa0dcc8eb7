--TEST--
AsyncBatchRunner has the documented methods and signatures
--FILE--
<?php
$c = new ReflectionClass('AsyncBatchRunner');
echo get_class(new AsyncBatchRunner()), "\n";
foreach (['registerAsyncJob', 'submitItem', 'flush', 'stats', 'retryFailed'] as $name) {
    $m = $c->getMethod($name);
    $params = [];
    foreach ($m->getParameters() as $p) {
        $params[] = $p->getType() . ' $' . $p->getName() . ($p->isDefaultValueAvailable() ? ' = ' . json_encode($p->getDefaultValue()) : '');
    }
    echo $m->isPublic() ? 'public ' : '', $m->isStatic() ? 'static ' : '', $name, '(', implode(', ', $params), ')',
        $m->hasReturnType() ? ': ' . $m->getReturnType() : '', "\n";
}
?>
--EXPECT--
AsyncBatchRunner
public registerAsyncJob(string $identifier, callable $func, array $config = []): void
public submitItem(string $identifier, mixed $item): void
public flush(?string $identifier = null): int
public stats(): array
public static retryFailed(?string $identifier = null): int
