<?php
// Bodies to compare byte for byte: posts random, awkward items (floats of every
// magnitude, control characters, invalid UTF-8, U+2028, integer and numeric-string
// keys, holes in lists, nesting) by calling AsyncBatch\HttpSink directly, and prints,
// one line per POST and hex-encoded, the body PHP's json_encode() gives for them
// with the sink's flags.
//
//   php http_sink_json.php URL SEED BATCHES
//
// Batches alternate between format json and ndjson. Exits 1 if a POST fails.
declare(strict_types=1);

[, $url, $seed, $batches] = $argv;
mt_srand((int) $seed);

const FLAGS = JSON_UNESCAPED_SLASHES | JSON_UNESCAPED_UNICODE | JSON_PRESERVE_ZERO_FRACTION
    | JSON_INVALID_UTF8_SUBSTITUTE | JSON_PARTIAL_OUTPUT_ON_ERROR;

function pick(array $choices): mixed
{
    return $choices[mt_rand(0, count($choices) - 1)];
}

function randomFloat(): float
{
    return match (mt_rand(0, 5)) {
        // Any bit pattern: subnormals, huge, NAN and INF (which encode as 0).
        0 => unpack('e', pack('VV', mt_rand(0, 0xffffffff), mt_rand(0, 0xffffffff)))[1],
        1 => pick([0.0, -0.0, 1.0, -1.5, 0.1, 1e15, 1e16, 1e17, 1e-4, 1e-5, 5e-324, PHP_FLOAT_MAX, PHP_FLOAT_EPSILON]),
        2 => round(mt_rand() / mt_getrandmax() * 10 ** mt_rand(0, 20), mt_rand(0, 6)),
        3 => microtime(true),
        4 => mt_rand() / mt_getrandmax() * 10 ** mt_rand(-30, 30),
        default => (float) mt_rand(-1000000, 1000000),
    };
}

function randomString(): string
{
    $pieces = ['plain text', ' ', '/', '"', '\\', "\n", "\r\t", "\x00", "\x01", "\x1f", "\x7f", 'é',
        "\u{2713}", "\u{2028}", "\u{2029}", "\u{1f600}", "\xff", "\xc3", "\xe2\x82", "\xed\xa0\x80",
        "\xf4\x90\x80\x80", "\xc0\xaf", '<b>&amp;</b>', '12', '-0', ''];
    $s = '';
    for ($i = mt_rand(0, 8); $i > 0; $i--) {
        $s .= mt_rand(0, 9) === 0 ? chr(mt_rand(0, 255)) : pick($pieces);
    }
    return $s;
}

function randomKey(): int|string
{
    return match (mt_rand(0, 3)) {
        0 => mt_rand(-5, 50),
        1 => (string) mt_rand(0, 9), // becomes an integer key
        default => randomString(),
    };
}

function randomValue(int $depth): mixed
{
    $kind = mt_rand(0, $depth >= 4 ? 5 : 9);
    switch ($kind) {
        case 0:
            return null;
        case 1:
            return (bool) mt_rand(0, 1);
        case 2:
            return pick([0, -1, 42, PHP_INT_MAX, PHP_INT_MIN, mt_rand(), -mt_rand()]);
        case 3:
        case 4:
            return randomFloat();
        case 5:
            return randomString();
        case 6:
            return [];
        case 7:
            $list = [];
            for ($i = mt_rand(1, 5); $i > 0; $i--) {
                $list[] = randomValue($depth + 1);
            }
            if (mt_rand(0, 3) === 0) {
                unset($list[0]); // a hole: no longer a list
            }
            return $list;
        default:
            $map = [];
            for ($i = mt_rand(1, 6); $i > 0; $i--) {
                $map[randomKey()] = randomValue($depth + 1);
            }
            return $map;
    }
}

for ($b = 0; $b < (int) $batches; $b++) {
    $format = $b % 2 === 0 ? 'json' : 'ndjson';
    $items = [];
    if ($b === 0) {
        // Floats above all: their shortest digits, exponents and ties.
        for ($i = 0; $i < 2000; $i++) {
            $items[] = randomFloat();
        }
    }
    for ($i = mt_rand(1, 40); $i > 0; $i--) {
        $items[] = randomValue(0);
    }
    $sink = new AsyncBatch\HttpSink($url, ['format' => $format, 'maxRetries' => 0]);
    try {
        $sink($items);
    } catch (Throwable $e) {
        fwrite(STDERR, get_class($e) . ': ' . $e->getMessage() . "\n");
        exit(1);
    }
    $body = $format === 'json'
        ? json_encode($items, FLAGS)
        : implode('', array_map(static fn ($item) => json_encode($item, FLAGS) . "\n", $items));
    echo bin2hex($body), "\n";
}
