<?php

declare(strict_types=1);

namespace AsyncBatch;

/**
 * Thrown by an HttpSink call whose request failed: a status other than 2xx, a
 * connection error or a timeout; or that was not sent, its body being over
 * maxBatchBytes (not retryable, no status). The message is the job's `lastError` text
 * (`HTTP 503 Service Unavailable: ...`, `connection to host:port failed: ...`,
 * `timeout after 5s`). The runner retries it only when isRetryable() says so, and
 * waits at least getRetryAfter() seconds before the retry.
 */
class HttpSinkException extends \RuntimeException
{
    private bool $retryable = true;
    private ?int $statusCode = null;
    private ?float $retryAfter = null;

    /**
     * Whether sending the batch again may succeed: connection errors, timeouts,
     * 408, 429 and 5xx except 501. Other statuses fail permanently.
     */
    public function isRetryable(): bool
    {
        return $this->retryable;
    }

    /** The HTTP status of the response; null for a connection error or a timeout. */
    public function getStatusCode(): ?int
    {
        return $this->statusCode;
    }

    /**
     * Seconds the server asked to wait (`Retry-After`, in seconds or as an HTTP
     * date, at most 300); null when it did not say.
     */
    public function getRetryAfter(): ?float
    {
        return $this->retryAfter;
    }
}
