--TEST--
The exception classes exist with the documented parents
--FILE--
<?php
$classes = [
    'AsyncBatch\InvalidConfigException' => 'InvalidArgumentException',
    'AsyncBatch\InvalidItemException' => 'InvalidArgumentException',
    'AsyncBatch\UnknownJobException' => 'InvalidArgumentException',
    'AsyncBatch\StorageException' => 'RuntimeException',
];
foreach ($classes as $class => $parent) {
    echo $class, ' is a ', $parent, ': ', class_exists($class) && is_subclass_of($class, $parent) ? 'yes' : 'no', "\n";
}
?>
--EXPECT--
AsyncBatch\InvalidConfigException is a InvalidArgumentException: yes
AsyncBatch\InvalidItemException is a InvalidArgumentException: yes
AsyncBatch\UnknownJobException is a InvalidArgumentException: yes
AsyncBatch\StorageException is a RuntimeException: yes
