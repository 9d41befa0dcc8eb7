<?php
/**
 * Checks that stubs/asyncbatch.stub.php describes the API that the extension and
 * the polyfill really have: the same classes, methods, parameters (names, types,
 * optionality), return types, constants and functions.
 *
 * Usage: php scripts/check-stubs.php [--so=PATH] [--polyfill=PATH] [--stub=PATH]
 *                                    [--only=extension|polyfill]
 *
 * Each side is read with Reflection in a PHP process of its own (the stub and the
 * implementations declare the same classes, so they cannot share a process).
 * The extension must declare everything the stub has and nothing more; the
 * polyfill must declare everything the stub has (it may have more: helpers).
 * The stub must be loadable PHP: method bodies `{}`, as in php-src's stubs.
 * Not compared: classes in an `Internal` namespace (implementation details), and a
 * constructor without parameters (declaring one or not makes no difference to
 * callers; ext-php-rs does not show its constructors to Reflection).
 * Exit status 0 when everything matches, 1 with the differences otherwise.
 */

declare(strict_types=1);

const DUMP_FLAG = '--dump=';

$root = dirname(__DIR__);
$options = getopt('', ['so:', 'polyfill:', 'stub:', 'only:', 'dump:', 'names:']);

if (isset($options['dump'])) {
    // Child mode: print the API of one side as JSON.
    echo json_encode(dumpSide($options['dump'], $options), JSON_PRETTY_PRINT | JSON_UNESCAPED_SLASHES), "\n";
    exit(0);
}

$stub = $options['stub'] ?? "$root/stubs/asyncbatch.stub.php";
$so = $options['so'] ?? (getenv('ASYNCBATCH_SO') ?: "$root/target/release/libasyncbatch.so");
$polyfill = $options['polyfill'] ?? "$root/php/autoload.php";
$only = $options['only'] ?? null;

foreach (['stub' => $stub, 'extension' => $so, 'polyfill' => $polyfill] as $what => $path) {
    if (($only === null || $what === 'stub' || $what === $only) && !is_file($path)) {
        fwrite(STDERR, "check-stubs: the $what is missing: $path\n");
        exit(1);
    }
}

$stubApi = runDump(['-d', 'display_errors=stderr', __FILE__, '--dump=stub', "--stub=$stub"]);
$names = implode(',', array_merge(array_keys($stubApi['classes']), array_keys($stubApi['functions'])));
$failed = false;
$sides = [
    'extension' => ['-d', "extension=$so", '-d', 'display_errors=stderr', __FILE__, '--dump=extension', "--names=$names"],
    'polyfill' => ['-d', 'display_errors=stderr', __FILE__, '--dump=polyfill', "--polyfill=$polyfill", "--names=$names"],
];
foreach ($sides as $side => $args) {
    if ($only !== null && $only !== $side) {
        continue;
    }
    $api = runDump($args);
    $differences = compareApi($stubApi, $api, $side, strict: $side === 'extension');
    if ($differences === []) {
        printf(
            "check-stubs: the %s matches %s (%d classes, %d methods, %d functions)\n",
            $side,
            basename($stub),
            count($stubApi['classes']),
            array_sum(array_map(fn ($c) => count($c['methods']), $stubApi['classes'])),
            count($stubApi['functions']),
        );
    } else {
        $failed = true;
        printf("check-stubs: the %s differs from %s:\n", $side, $stub);
        foreach ($differences as $difference) {
            echo "  - $difference\n";
        }
    }
}
exit($failed ? 1 : 0);

/** Runs this script in a child PHP process and decodes the JSON it prints. */
function runDump(array $args): array
{
    $command = array_merge([PHP_BINARY], $args);
    $process = proc_open($command, [1 => ['pipe', 'w'], 2 => ['pipe', 'w']], $pipes);
    if (!is_resource($process)) {
        fwrite(STDERR, "check-stubs: cannot run " . implode(' ', $command) . "\n");
        exit(1);
    }
    $out = stream_get_contents($pipes[1]);
    $err = stream_get_contents($pipes[2]);
    $status = proc_close($process);
    $api = json_decode((string) $out, true);
    if ($status !== 0 || !is_array($api)) {
        fwrite(STDERR, "check-stubs: reading the API failed (exit $status): " . implode(' ', $command) . "\n$out$err\n");
        exit(1);
    }
    return $api;
}

/** The API of one side: classes and functions, with their signatures. */
function dumpSide(string $side, array $options): array
{
    $wanted = array_filter(explode(',', $options['names'] ?? ''));
    $classes = [];
    $functions = [];
    switch ($side) {
        case 'stub':
            $beforeClasses = array_merge(get_declared_classes(), get_declared_interfaces());
            $beforeFunctions = get_defined_functions()['user'];
            require $options['stub'];
            $classes = array_diff(array_merge(get_declared_classes(), get_declared_interfaces()), $beforeClasses);
            $functions = array_diff(get_defined_functions()['user'], $beforeFunctions);
            break;
        case 'extension':
            if (!extension_loaded('asyncbatch')) {
                fwrite(STDERR, "the asyncbatch extension is not loaded\n");
                exit(1);
            }
            $extension = new ReflectionExtension('asyncbatch');
            $classes = array_keys($extension->getClasses());
            $functions = array_keys($extension->getFunctions());
            // Classes the extension declares without tying them to its module
            // entry still count: look up every name the stub has.
            foreach ($wanted as $name) {
                if (class_exists($name, false) || interface_exists($name, false)) {
                    if ((new ReflectionClass($name))->isInternal()) {
                        $classes[] = $name;
                    }
                } elseif (function_exists($name) && (new ReflectionFunction($name))->isInternal()) {
                    $functions[] = $name;
                }
            }
            break;
        case 'polyfill':
            require $options['polyfill'];
            foreach ($wanted as $name) {
                if (class_exists($name) || interface_exists($name)) {
                    $classes[] = $name;
                } elseif (function_exists($name)) {
                    $functions[] = $name;
                }
            }
            break;
        default:
            fwrite(STDERR, "unknown side $side\n");
            exit(1);
    }
    $api = ['classes' => [], 'functions' => []];
    foreach (array_unique($classes) as $name) {
        if (str_contains("\\$name\\", '\\Internal\\')) {
            continue;
        }
        $class = new ReflectionClass($name);
        $api['classes'][$class->getName()] = describeClass($class);
    }
    foreach (array_unique($functions) as $name) {
        $function = new ReflectionFunction($name);
        $api['functions'][$function->getName()] = describeFunction($function);
    }
    ksort($api['classes'], SORT_STRING | SORT_FLAG_CASE);
    ksort($api['functions'], SORT_STRING | SORT_FLAG_CASE);
    return $api;
}

function describeClass(ReflectionClass $class): array
{
    $methods = [];
    foreach ($class->getMethods() as $method) {
        if ($method->getDeclaringClass()->getName() !== $class->getName() || $method->isPrivate()) {
            continue;
        }
        if ($method->isConstructor() && $method->getNumberOfParameters() === 0 && !$method->isPrivate()) {
            continue;
        }
        $methods[$method->getName()] = describeFunction($method) + [
            'static' => $method->isStatic(),
            'visibility' => $method->isPublic() ? 'public' : 'protected',
            'abstract' => $method->isAbstract(),
            'final' => $method->isFinal(),
        ];
    }
    ksort($methods, SORT_STRING | SORT_FLAG_CASE);
    $constants = [];
    foreach ($class->getReflectionConstants() as $constant) {
        if ($constant->getDeclaringClass()->getName() === $class->getName() && !$constant->isPrivate()) {
            $constants[$constant->getName()] = var_export($constant->getValue(), true);
        }
    }
    $properties = [];
    foreach ($class->getProperties() as $property) {
        if ($property->getDeclaringClass()->getName() === $class->getName() && $property->isPublic()) {
            $properties[$property->getName()] = [
                'type' => $property->hasType() ? (string) $property->getType() : null,
                'static' => $property->isStatic(),
                'readonly' => $property->isReadOnly(),
            ];
        }
    }
    $interfaces = $class->getInterfaceNames();
    sort($interfaces);
    return [
        'kind' => $class->isInterface() ? 'interface' : ($class->isTrait() ? 'trait' : 'class'),
        'final' => $class->isFinal(),
        'abstract' => $class->isAbstract() && !$class->isInterface(),
        'parent' => $class->getParentClass() ? $class->getParentClass()->getName() : null,
        'interfaces' => $interfaces,
        'constants' => $constants,
        'properties' => $properties,
        'methods' => $methods,
    ];
}

function describeFunction(ReflectionFunctionAbstract $function): array
{
    $params = [];
    foreach ($function->getParameters() as $param) {
        $default = null;
        if ($param->isDefaultValueAvailable()) {
            try {
                $default = $param->isDefaultValueConstant()
                    ? $param->getDefaultValueConstantName()
                    : var_export($param->getDefaultValue(), true);
            } catch (ReflectionException) {
                $default = null;
            }
        }
        $params[] = [
            'name' => $param->getName(),
            'type' => $param->hasType() ? (string) $param->getType() : null,
            'optional' => $param->isOptional(),
            'variadic' => $param->isVariadic(),
            'byRef' => $param->isPassedByReference(),
            'default' => $default,
        ];
    }
    $return = null;
    if ($function->hasReturnType()) {
        $return = (string) $function->getReturnType();
    } elseif ($function->hasTentativeReturnType()) {
        $return = (string) $function->getTentativeReturnType();
    }
    return ['params' => $params, 'return' => $return];
}

/**
 * Differences between the stub's API and one side's, as readable lines.
 * $strict: the side may not have classes or functions the stub lacks.
 */
function compareApi(array $stub, array $side, string $sideName, bool $strict): array
{
    $out = [];
    foreach ($stub['classes'] as $name => $class) {
        if (!isset($side['classes'][$name])) {
            $out[] = "class $name is in the stub, not in the $sideName";
            continue;
        }
        $other = $side['classes'][$name];
        foreach (['kind', 'final', 'abstract', 'parent', 'interfaces', 'constants', 'properties'] as $key) {
            if ($class[$key] != $other[$key]) {
                $out[] = sprintf('%s: %s is %s in the stub, %s in the %s', $name, $key, show($class[$key]), show($other[$key]), $sideName);
            }
        }
        foreach ($class['methods'] as $method => $signature) {
            if (!isset($other['methods'][$method])) {
                $out[] = "$name::$method() is in the stub, not in the $sideName";
                continue;
            }
            foreach (compareSignature($signature, $other['methods'][$method], "$name::$method()", $sideName) as $line) {
                $out[] = $line;
            }
        }
        foreach (array_diff_key($other['methods'], $class['methods']) as $method => $_) {
            $out[] = "$name::$method() is in the $sideName, not in the stub";
        }
    }
    foreach ($stub['functions'] as $name => $signature) {
        if (!isset($side['functions'][$name])) {
            $out[] = "function $name() is in the stub, not in the $sideName";
            continue;
        }
        foreach (compareSignature($signature, $side['functions'][$name], "$name()", $sideName) as $line) {
            $out[] = $line;
        }
    }
    if ($strict) {
        foreach (array_diff_key($side['classes'], $stub['classes']) as $name => $_) {
            $out[] = "class $name is in the $sideName, not in the stub";
        }
        foreach (array_diff_key($side['functions'], $stub['functions']) as $name => $_) {
            $out[] = "function $name() is in the $sideName, not in the stub";
        }
    }
    return $out;
}

function compareSignature(array $stub, array $side, string $where, string $sideName): array
{
    $out = [];
    foreach (['static', 'visibility', 'abstract', 'final'] as $key) {
        if (array_key_exists($key, $stub) && $stub[$key] !== $side[$key]) {
            $out[] = sprintf('%s: %s is %s in the stub, %s in the %s', $where, $key, show($stub[$key]), show($side[$key]), $sideName);
        }
    }
    if ($stub['return'] !== $side['return']) {
        $out[] = sprintf('%s: return type %s in the stub, %s in the %s', $where, show($stub['return']), show($side['return']), $sideName);
    }
    $count = max(count($stub['params']), count($side['params']));
    for ($i = 0; $i < $count; $i++) {
        $a = $stub['params'][$i] ?? null;
        $b = $side['params'][$i] ?? null;
        if ($a === null || $b === null) {
            $p = $a ?? $b;
            $out[] = sprintf('%s: parameter %d ($%s) only in the %s', $where, $i + 1, $p['name'], $a === null ? $sideName : 'stub');
            continue;
        }
        foreach (['name', 'type', 'optional', 'variadic', 'byRef'] as $key) {
            if ($a[$key] !== $b[$key]) {
                $out[] = sprintf('%s: parameter $%s: %s is %s in the stub, %s in the %s', $where, $a['name'], $key, show($a[$key]), show($b[$key]), $sideName);
            }
        }
        // A default is compared only when both sides expose one (internal
        // functions often do not).
        if ($a['default'] !== null && $b['default'] !== null && $a['default'] !== $b['default']) {
            $out[] = sprintf('%s: parameter $%s: default is %s in the stub, %s in the %s', $where, $a['name'], $a['default'], $b['default'], $sideName);
        }
    }
    return $out;
}

function show(mixed $value): string
{
    return $value === null ? 'none' : (is_string($value) ? $value : json_encode($value));
}
