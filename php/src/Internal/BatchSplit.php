<?php

declare(strict_types=1);

namespace AsyncBatch\Internal;

/**
 * A sink job's batch cut to its sink's maxBatchBytes, the same way every time (so a
 * later run, or failed:retry, sends the same piece ids): a batch whose body fits is
 * one piece with the batch's id; else the items are packed greedily, in order, into
 * pieces whose body is surely within the cap, and an item that alone is over it is
 * set aside, not sent ("Splitting a sink job's batch" in docs/internals.md).
 */
final class BatchSplit
{
    /**
     * @param list<mixed> $items
     * @return array{0: list<array{0: list<mixed>, 1: string}>, 1: list<array{0: mixed, 1: string, 2: string}>}
     *         the pieces, in order, each with its id; then the items too big to send,
     *         each with its lastError and id (the indexes after the pieces')
     */
    public static function of(HttpSinkConfig $c, array $items, string $id): array
    {
        $max = $c->maxBatchBytes;
        if (strlen(HttpPost::body($c, $items)) <= $max) {
            return [[[$items, $id]], []];
        }
        // The bytes an item adds to a body: its own body less the empty one's, and a
        // separator; more than it really adds in all three formats.
        $w = strlen(HttpPost::body($c, []));
        $pieces = [];
        $tooBig = [];
        $piece = [];
        $size = $w;
        foreach ($items as $item) {
            $s = strlen(HttpPost::body($c, [$item]));
            if ($s > $max) {
                $tooBig[] = [$item, $s];
                continue;
            }
            $add = $s - $w + 1;
            if ($piece !== [] && $size + $add > $max) {
                $pieces[] = $piece;
                $piece = [];
                $size = $w;
            }
            // An item alone always makes a piece (its body is within the cap).
            $piece[] = $item;
            $size += $add;
        }
        if ($piece !== []) {
            $pieces[] = $piece;
        }
        $out = [];
        foreach ($pieces as $i => $p) {
            $out[] = [$p, BatchId::piece($id, $i)];
        }
        $big = [];
        foreach ($tooBig as $k => [$item, $s]) {
            $big[] = [$item, self::tooBig($s, $max), BatchId::piece($id, count($pieces) + $k)];
        }
        return [$out, $big];
    }

    /** lastError of an item that is not sent. */
    public static function tooBig(int $bytes, int $max): string
    {
        return sprintf('item of %d bytes is larger than maxBatchBytes (%d); not sent', $bytes, $max);
    }
}
