--TEST--
AsyncBatch\HttpSink and AsyncBatch\HttpSinkException have the documented API
--FILE--
<?php
function signature(ReflectionMethod $m): string
{
    $params = [];
    foreach ($m->getParameters() as $p) {
        $params[] = $p->getType() . ' $' . $p->getName() . ($p->isDefaultValueAvailable() ? ' = ' . json_encode($p->getDefaultValue()) : '');
    }
    $return = $m->hasReturnType() ? ': ' . $m->getReturnType() : '';
    return ($m->isPublic() ? 'public ' : '') . $m->getName() . '(' . implode(', ', $params) . ')' . $return;
}

$sink = new ReflectionClass('AsyncBatch\HttpSink');
echo $sink->getName(), ': final ', var_export($sink->isFinal(), true), "\n";
foreach (['__construct', '__invoke'] as $name) {
    echo '  ', signature($sink->getMethod($name)), "\n";
}
$e = new ReflectionClass('AsyncBatch\HttpSinkException');
echo $e->getName(), ' extends ', $e->getParentClass()->getName(), "\n";
foreach (['isRetryable', 'getStatusCode', 'getRetryAfter'] as $name) {
    echo '  ', signature($e->getMethod($name)), "\n";
}
echo 'an InvalidConfigException for bad options: ';
try {
    new AsyncBatch\HttpSink('nope');
} catch (AsyncBatch\InvalidConfigException $x) {
    echo "yes\n";
}
?>
--EXPECT--
AsyncBatch\HttpSink: final true
  public __construct(string $url, array $options = [])
  public __invoke(array $items, ?string $batchId = null): bool
AsyncBatch\HttpSinkException extends RuntimeException
  public isRetryable(): bool
  public getStatusCode(): ?int
  public getRetryAfter(): ?float
an InvalidConfigException for bad options: yes
