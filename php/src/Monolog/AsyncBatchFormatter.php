<?php

declare(strict_types=1);

namespace AsyncBatch\Monolog;

use Monolog\Formatter\NormalizerFormatter;
use Monolog\Utils;

/**
 * Monolog's NormalizerFormatter, made to give plain data that asyncbatch takes as an
 * item and a log collector can index. The record keeps Monolog's shape (message,
 * context, level, level_name, channel, datetime, extra); what differs from Monolog's
 * own normalisation:
 *
 * - dates, the record's and those in context or extra, are RFC 3339 with
 *   microseconds and the time zone (`2024-05-01T12:34:56.123456+02:00`);
 * - a JsonSerializable object becomes `[class => its jsonSerialize() data]`, that
 *   data normalised in turn (Monolog passes it on as it is, objects included);
 * - an object whose jsonSerialize() or __toString() throws becomes
 *   `[class => '[RuntimeException thrown while normalizing: ...]']` instead of
 *   breaking the log call;
 * - an exception's trace keeps its first 50 frames (setMaxTraceFrames()): a deep
 *   recursion has thousands, more than an item may hold.
 *
 * The rest is Monolog's: an exception as class, message, code, file (`path:line`),
 * trace (`path:line` strings) and previous; another object as `[class => its public
 * properties]` (a closure: `['Closure' => []]`); a resource as `[resource(stream)]`;
 * NAN and INF as `NaN` and `INF`; at most 9 levels deep and 1000 entries per array.
 * Works with the array records of Monolog 2 and the LogRecord objects of Monolog 3.
 */
class AsyncBatchFormatter extends NormalizerFormatter
{
    /** RFC 3339 with microseconds and the time zone offset. */
    public const DATE_FORMAT = 'Y-m-d\TH:i:s.uP';

    protected int $maxTraceFrames = 50;

    public function __construct(?string $dateFormat = self::DATE_FORMAT)
    {
        parent::__construct($dateFormat);
    }

    public function getMaxTraceFrames(): int
    {
        return $this->maxTraceFrames;
    }

    /** The most frames of an exception's trace kept; the rest become one `... N more frames`. */
    public function setMaxTraceFrames(int $maxTraceFrames): self
    {
        $this->maxTraceFrames = max(0, $maxTraceFrames);

        return $this;
    }

    protected function normalize(mixed $data, int $depth = 0): mixed
    {
        if (!\is_object($data) || $data instanceof \Throwable || $data instanceof \DateTimeInterface
            || $depth > $this->maxNormalizeDepth) {
            return parent::normalize($data, $depth);
        }
        try {
            if ($data instanceof \JsonSerializable) {
                return [Utils::getClass($data) => $this->normalize($data->jsonSerialize(), $depth + 1)];
            }

            return parent::normalize($data, $depth);
        } catch (\Throwable $e) {
            return [Utils::getClass($data) => sprintf('[%s thrown while normalizing: %s]', Utils::getClass($e), $e->getMessage())];
        }
    }

    protected function normalizeException(\Throwable $e, int $depth = 0): array
    {
        $data = parent::normalizeException($e, $depth);
        if ($e instanceof \JsonSerializable) {
            // Monolog passes an exception's jsonSerialize() data on as it is.
            return (array) $this->normalize($data, $depth + 1);
        }
        $frames = \count($data['trace'] ?? []);
        if ($frames > $this->maxTraceFrames) {
            $data['trace'] = \array_slice($data['trace'], 0, $this->maxTraceFrames);
            $data['trace'][] = '... ' . ($frames - $this->maxTraceFrames) . ' more frames';
        }

        return $data;
    }
}
