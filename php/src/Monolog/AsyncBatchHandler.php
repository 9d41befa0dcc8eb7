<?php

declare(strict_types=1);

namespace AsyncBatch\Monolog;

use AsyncBatch\Internal\Log;
use AsyncBatch\InvalidConfigException;
use AsyncBatch\InvalidItemException;
use AsyncBatchRunner;
use Monolog\Formatter\FormatterInterface;
use Monolog\Handler\AbstractProcessingHandler;
use Monolog\Level;
use Monolog\LogRecord;
use Psr\Log\LogLevel;

/**
 * Sends Monolog records to an asyncbatch job: each record is normalised to plain data
 * (AsyncBatchFormatter) and queued with submitItem(), to be delivered in batches after
 * the response, by the daemon, or by an AsyncBatch\HttpSink. Logging costs the request
 * a queue append, never a network call.
 *
 * ```php
 * $logger->pushHandler(new AsyncBatchHandler('logs', new AsyncBatch\HttpSink($url), ['batchSize' => 500]));
 * ```
 *
 * - Given $deliver (a callable, or an HttpSink), the handler registers the job itself
 *   with $config: a registration lasts one request, and under php-fpm the handler is
 *   built in every request. Without it, register the job elsewhere before logging.
 * - A logger must neither take the application down nor lose a record unseen. A
 *   record that submitItem() refuses as an item (over asyncbatch.max_item_size, say)
 *   is queued once more, cut down (strings to 1 KiB, arrays to 10 entries and 3
 *   levels), with the reason in extra.truncated. A record that still cannot be
 *   queued, or that no job takes (an unknown job), is written to PHP's error log in
 *   one line, as JSON, instead.
 * - handleBatch() (a FingersCrossedHandler's flush) queues every record it is given.
 * - reset() (Monolog's ResettableInterface: Logger::reset(), which Symfony's
 *   kernel.reset and Laravel Octane call between the requests of a long-running
 *   worker) and close() flush the job: its items are delivered now, not when the
 *   worker exits. Calling either again flushes what came since, so close() is
 *   idempotent. A flush that fails is written to PHP's error log, never thrown.
 * - Destroying the handler delivers nothing: under php-fpm delivery is asyncbatch's,
 *   after the response, and a flush there would make the request wait.
 *
 * Works with Monolog 2 (records are arrays) and 3 (LogRecord objects): write() takes
 * either, and both read `$record['formatted']`. Works the same with the extension and
 * with the polyfill.
 */
class AsyncBatchHandler extends AbstractProcessingHandler
{
    /** Bounds of the cut-down copy of a refused record: a Monolog record then takes some 250 KiB at most. */
    private const CUT_STRING_BYTES = 1024;
    private const CUT_ARRAY_ENTRIES = 10;
    private const CUT_DEPTH = 3;
    /** The longest JSON written to the error log for a record not queued. */
    private const LOG_LINE_BYTES = 8192;

    private AsyncBatchRunner $runner;

    /**
     * @param string                $job     the asyncbatch job the records go to
     * @param callable|null         $deliver registers the job with this callable (an
     *                                       AsyncBatch\HttpSink, or a function taking a
     *                                       list of records); null: registered elsewhere
     * @param array<string, mixed>  $config  the job's config (batchSize, callPeriod, ...),
     *                                       only with $deliver
     * @throws InvalidConfigException a bad job identifier or config, or a config without $deliver
     */
    public function __construct(
        private string $job,
        ?callable $deliver = null,
        array $config = [],
        int|string|Level $level = LogLevel::DEBUG,
        bool $bubble = true,
        ?AsyncBatchRunner $runner = null,
    ) {
        parent::__construct($level, $bubble);
        $this->runner = $runner ?? new AsyncBatchRunner();
        if ($deliver !== null) {
            $this->runner->registerAsyncJob($job, $deliver, $config);
        } elseif ($config !== []) {
            throw new InvalidConfigException(
                "A config for job '$job' needs a callable to register the job with; without one the job must be registered elsewhere"
            );
        }
    }

    protected function write(LogRecord|array $record): void
    {
        $item = $record['formatted'];
        try {
            $this->runner->submitItem($this->job, $item);
            return;
        } catch (InvalidItemException $e) {
            if (!\is_array($item) && !\is_string($item)) {
                // A formatter that returns an object: no cut-down copy says more than the log line.
                $this->logNotQueued($item, $e);
                return;
            }
            $item = self::cut($item, 0);
            if (\is_array($item) && \is_array($item['extra'] ?? null)) {
                $item['extra']['truncated'] = $e->getMessage();
            }
        } catch (\Throwable $e) {
            $this->logNotQueued($item, $e);
            return;
        }
        try {
            $this->runner->submitItem($this->job, $item);
        } catch (\Throwable $e) {
            $this->logNotQueued($item, $e, ', even cut down');
        }
    }

    /** Flushes the job too: a long-running worker resets its loggers between requests. */
    public function reset(): void
    {
        parent::reset();
        $this->flushJob('reset');
    }

    public function close(): void
    {
        parent::close();
        $this->flushJob('close');
    }

    /** Monolog's Handler closes in __destruct: here delivery stays asyncbatch's, after the response. */
    public function __destruct()
    {
    }

    protected function getDefaultFormatter(): FormatterInterface
    {
        return new AsyncBatchFormatter();
    }

    /** A copy of an item small enough for any sensible asyncbatch.max_item_size. */
    private static function cut(mixed $value, int $depth): mixed
    {
        if (\is_string($value) && \strlen($value) > self::CUT_STRING_BYTES) {
            // No partial UTF-8 sequence at the end (a whole last character may go too).
            $head = preg_replace('/[\xC0-\xFF][\x80-\xBF]*$/', '', substr($value, 0, self::CUT_STRING_BYTES));

            return $head . '... (' . \strlen($value) . ' bytes, truncated)';
        }
        if (\is_array($value)) {
            $n = \count($value);
            if ($depth > self::CUT_DEPTH) {
                return '[array of ' . ($n === 1 ? '1 entry' : "$n entries") . ', truncated]';
            }
            $out = [];
            foreach (\array_slice($value, 0, self::CUT_ARRAY_ENTRIES, true) as $k => $v) {
                $out[$k] = self::cut($v, $depth + 1);
            }
            if ($n > self::CUT_ARRAY_ENTRIES) {
                $out['...'] = 'Over ' . self::CUT_ARRAY_ENTRIES . " entries ($n total), truncated";
            }

            return $out;
        }

        return \is_scalar($value) || $value === null ? $value : '[' . get_debug_type($value) . ']';
    }

    private function flushJob(string $why): void
    {
        try {
            $this->runner->flush($this->job);
        } catch (\Throwable $e) {
            Log::caught("job '{$this->job}': the Monolog handler's $why() could not flush the job", $e);
        }
    }

    /** One error_log() line: the record as JSON (at most 8 KiB) and why it was not queued. */
    private function logNotQueued(mixed $item, \Throwable $e, string $how = ''): void
    {
        $json = json_encode($item, JSON_UNESCAPED_SLASHES | JSON_UNESCAPED_UNICODE | JSON_PRESERVE_ZERO_FRACTION
            | JSON_INVALID_UTF8_SUBSTITUTE | JSON_PARTIAL_OUTPUT_ON_ERROR);
        if (!\is_string($json)) {
            $json = '[' . get_debug_type($item) . ']';
        } elseif (\is_object($item)) {
            $json = '(' . get_debug_type($item) . ') ' . $json;
        }
        if (\strlen($json) > self::LOG_LINE_BYTES) {
            $json = substr($json, 0, self::LOG_LINE_BYTES) . '... (' . \strlen($json) . ' bytes, truncated)';
        }
        $why = $e instanceof \InvalidArgumentException ? $e->getMessage() : \get_class($e) . ': ' . $e->getMessage();
        Log::line("job '{$this->job}': a Monolog record was not queued$how ($why): $json");
    }
}
