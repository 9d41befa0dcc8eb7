<?php

declare(strict_types=1);

namespace AsyncBatch;

use AsyncBatch\Internal\BatchId;
use AsyncBatch\Internal\HttpPost;
use AsyncBatch\Internal\HttpSinkConfig;

/**
 * A batch job's callable that POSTs each batch to an HTTP endpoint, as a JSON array
 * or as NDJSON, optionally gzip-compressed:
 *
 * ```php
 * $runner->registerAsyncJob('logs', new AsyncBatch\HttpSink('https://logs.example/ingest', [
 *     'headers' => ['Authorization' => 'Bearer ...'],
 *     'format' => 'ndjson',
 *     'batchSize' => 500,
 * ]));
 * ```
 *
 * The job keys among the options (batchSize, callPeriod, maxRetries, retryDelay,
 * maxQueueSize) become the job's config; keys given to registerAsyncJob() win.
 * Every POST carries the batch's id in an `Idempotency-Key` header (the
 * idempotencyHeader option), the same on each retry; the runner splits a batch whose
 * body is over maxBatchBytes (4 MiB) into pieces, each with an id of its own.
 * In the polyfill a call posts synchronously (curl when loaded, else PHP streams),
 * at the end of the request like any callable. See "The HTTP sink" in
 * docs/internals.md.
 */
final class HttpSink
{
    private HttpSinkConfig $config;
    /** Kept between batches, so that curl reuses its connection. */
    private ?\CurlHandle $curl = null;
    /** The process that made $curl: a child of pcntl_fork() must not share its connection. */
    private int $curlPid = 0;

    /**
     * @param array{headers?: array<string, string>, format?: 'json'|'ndjson'|'otlp', timeout?: int|float,
     *              gzip?: bool, caFile?: string, clientCert?: string, clientKey?: string, proxy?: string,
     *              resource?: array<string, string>, idempotencyHeader?: string|false, maxBatchBytes?: int,
     *              batchSize?: int, callPeriod?: int|float, maxRetries?: int,
     *              retryDelay?: int|float, maxQueueSize?: int} $options
     * @throws InvalidConfigException naming the URL or the option
     */
    public function __construct(string $url, array $options = [])
    {
        $this->config = HttpSinkConfig::validate($url, $options);
        $this->config->checkFiles();
    }

    /**
     * Posts the batch once, with $batchId (a new id when null) in the idempotency
     * header. A direct call does not split the batch: a body over maxBatchBytes is
     * not sent.
     *
     * @param list<mixed> $items
     * @return bool true: the server answered 2xx
     * @throws HttpSinkException any other answer, a connection error, a timeout, or a
     *                           body over maxBatchBytes (not retryable)
     * @throws \ValueError a $batchId that is not a batch id
     */
    public function __invoke(array $items, ?string $batchId = null): bool
    {
        if ($batchId !== null && !BatchId::isValid($batchId)) {
            throw new \ValueError(
                'AsyncBatch\\HttpSink::__invoke(): Argument #2 ($batchId) must be a batch id '
                    . '(a UUID in lowercase hex with dashes) or null',
            );
        }
        $body = HttpPost::body($this->config, $items);
        if (strlen($body) > $this->config->maxBatchBytes) {
            throw self::failure(sprintf(
                'body of %d bytes is larger than maxBatchBytes (%d); not sent',
                strlen($body),
                $this->config->maxBatchBytes,
            ), false, null, null);
        }
        if ($this->curl !== null && $this->curlPid !== getmypid()) {
            // Inherited over a fork: its connection is the parent's.
            $this->curl = null;
        }
        $r = HttpPost::send($this->config, $body, $batchId ?? BatchId::new(), $this->curl);
        if ($this->curl !== null) {
            $this->curlPid = getmypid();
        }
        if ($r->ok()) {
            return true;
        }
        throw self::failure($r->message(), $r->retryable(), $r->status, $r->retryAfter());
    }

    private static function failure(string $message, bool $retryable, ?int $status, ?float $retryAfter): HttpSinkException
    {
        $e = new HttpSinkException($message);
        $set = function (bool $retryable, ?int $status, ?float $retryAfter): void {
            $this->retryable = $retryable;
            $this->statusCode = $status;
            $this->retryAfter = $retryAfter;
        };
        \Closure::bind($set, $e, HttpSinkException::class)($retryable, $status, $retryAfter);
        return $e;
    }
}
