--TEST--
The polyfill encodes a submitted item in the walk that checks and copies it; that encoding (queued, then journaled) is byte for byte what MsgPack::encode() gives for the copy, over every kind of value, nesting, key and string (UTF-8 or not, cached or not), and JsonSerializable objects
--SKIPIF--
<?php
if (extension_loaded('asyncbatch')) die('skip polyfill internals: Items and MsgPack are classes of the polyfill; the extension encodes in src/encode.rs');
?>
--FILE--
<?php
use AsyncBatch\Internal\Items;
use AsyncBatch\Internal\MsgPack;

final class Point implements JsonSerializable
{
    public function __construct(private int $x) {}
    public function jsonSerialize(): mixed
    {
        return ['x' => $this->x, 'tag' => "p\xff"];
    }
}

mt_srand(138);
function value(int $depth): mixed
{
    $pick = mt_rand(0, $depth > 3 ? 7 : 10);
    return match ($pick) {
        0 => null,
        1 => (bool) mt_rand(0, 1),
        2 => mt_rand(PHP_INT_MIN, PHP_INT_MAX) >> mt_rand(0, 63),
        3 => mt_rand(-70000, 70000),
        4 => mt_rand() / 7.0,
        5 => str_repeat(chr(mt_rand(32, 255)), mt_rand(0, 40)),
        6 => 'level-' . mt_rand(0, 3),
        7 => new Point(mt_rand(-9, 9)),
        8 => array_map(static fn (): mixed => value($depth + 1), range(1, mt_rand(1, 5))),
        9 => [],
        default => (static function () use ($depth): array {
            $a = [];
            for ($i = mt_rand(1, 6); $i > 0; $i--) {
                $a[mt_rand(0, 1) ? mt_rand(-5, 300) : 'k' . mt_rand(0, 9)] = value($depth + 1);
            }
            return $a;
        })(),
    };
}

$differ = 0;
for ($i = 0; $i < 5000; $i++) {
    $copy = Items::accept('j', value(0), PHP_INT_MAX, $encoded);
    if ($encoded !== MsgPack::encode($copy)) {
        $differ++;
    }
}
echo "5000 items, encodings that differ: $differ\n";
$copy = Items::accept('j', ['ts' => 1.5, 'msg' => "caf\xc3\xa9", 'bin' => "\xff", 'n' => 300, 'p' => new Point(1)], PHP_INT_MAX, $encoded);
echo bin2hex($encoded) === bin2hex(MsgPack::encode($copy)) ? "a log record: same\n" : "a log record: differs\n";
?>
--EXPECT--
5000 items, encodings that differ: 0
a log record: same
