<?php

declare(strict_types=1);

namespace AsyncBatch\Internal;

use AsyncBatch\HttpSink;
use AsyncBatch\StorageException;

/**
 * retryFailed(): the stored failed batches of some jobs, oldest first, each given
 * to its callable once more, with its batch id (a file of version 1, which has none,
 * gets one now, which the file keeps if it is rewritten). A delivered batch's file
 * is removed; one that fails again is rewritten with one more attempt and the new
 * error. A sink job's batch over maxBatchBytes is sent in pieces, as the runner
 * splits it (BatchSplit), each piece once, up to the first that fails.
 */
final class Replay
{
    public function __construct(private readonly Retry $retry)
    {
    }

    /**
     * @param array<string, Job> $jobs
     * @return int items delivered
     * @throws StorageException when the failure directory is refused
     */
    public function run(array $jobs): int
    {
        $store = $this->retry->failures();
        if ($jobs === [] || (!file_exists($store->dir) && !is_link($store->dir))) {
            return 0;
        }
        $why = Fs::checkDir($store->dir, 'failure');
        if ($why !== null) {
            throw new StorageException('asyncbatch: ' . $why);
        }
        $byKey = [];
        foreach ($jobs as $job) {
            $byKey[$job->key()] = true;
        }
        $delivered = 0;
        foreach ($store->names() as $name) {
            if (!isset($byKey[Fs::keyOf($name)])) {
                continue;
            }
            $path = $store->dir . '/' . $name;
            $fh = Fs::claim($path);
            if ($fh === null) {
                continue;
            }
            try {
                $body = FailureStore::decode((string) stream_get_contents($fh));
            } catch (\UnexpectedValueException $e) {
                Log::warn(sprintf('skipping corrupt failure file %s: %s', $path, $e->getMessage()));
                fclose($fh);
                continue;
            }
            $job = $jobs[$body['job']] ?? null;
            if ($job === null) {
                fclose($fh);
                continue;
            }
            $items = $body['items'];
            $body['batchId'] ??= BatchId::new();
            [$pieces, $tooBig] = $job->func instanceof HttpSink
                ? BatchSplit::of(HttpSinkConfig::of($job->func), $items, $body['batchId'])
                : [[[$items, $body['batchId']]], []];
            $error = null;
            foreach ($pieces as [$piece, $pieceId]) {
                $e = $this->retry->once($job, $piece, $pieceId);
                if ($e === null) {
                    $delivered += count($piece);
                    $job->delivered += count($piece);
                    $job->batches++;
                } else {
                    // The first piece that fails is the outcome: the endpoint is not
                    // asked again in this run.
                    $error = $e;
                    break;
                }
            }
            if ($error === null && $tooBig === []) {
                @unlink($path);
            } else {
                if ($error !== null) {
                    // Kept whole: the pieces that were accepted are sent again, with
                    // the same ids, next time.
                    $body['attempts']++;
                    $body['lastError'] = $error;
                } else {
                    // Only the items too big to send are left; they were not tried.
                    $body['items'] = array_map(static fn (array $t): mixed => $t[0], $tooBig);
                    $body['lastError'] = $tooBig[0][1];
                    $job->lastError = $tooBig[0][1];
                }
                $body['failedAt'] = microtime(true);
                $why = $store->rewrite($name, $body);
                if ($why !== null) {
                    Log::line(sprintf('cannot update failure file %s: %s', $path, $why));
                }
            }
            fclose($fh);
        }
        return $delivered;
    }
}
