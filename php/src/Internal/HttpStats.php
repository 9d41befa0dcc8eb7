<?php

declare(strict_types=1);

namespace AsyncBatch\Internal;

/**
 * The `http` counters of a sink job in stats(): requests sent, body bytes, responses
 * by status, retries and batches that ended in the failure store.
 */
final class HttpStats
{
    /** HTTP requests sent, retries included. */
    public int $requests = 0;
    /** Request bodies as sent (after gzip), in bytes. */
    public int $bytes = 0;
    /** @var array<int, int> responses by status code */
    public array $statuses = [];
    /** Requests that were retries. */
    public int $retries = 0;
    /** Batches that ended in the failure store. */
    public int $failures = 0;

    /** Counts one request and, when one came, its response's status. */
    public function request(?int $status, int $bytes): void
    {
        $this->requests++;
        $this->bytes += $bytes;
        if ($status !== null) {
            $this->statuses[$status] = ($this->statuses[$status] ?? 0) + 1;
        }
    }

    /** @return array{requests: int, bytes: int, statuses: array<int, int>, retries: int, failures: int} */
    public function toArray(): array
    {
        $statuses = $this->statuses;
        ksort($statuses);
        return [
            'requests' => $this->requests,
            'bytes' => $this->bytes,
            'statuses' => $statuses,
            'retries' => $this->retries,
            'failures' => $this->failures,
        ];
    }
}
