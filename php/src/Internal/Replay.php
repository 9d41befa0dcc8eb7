<?php

declare(strict_types=1);

namespace AsyncBatch\Internal;

use AsyncBatch\StorageException;

/**
 * retryFailed(): the stored failed batches of some jobs, oldest first, each given
 * to its callable once more. A delivered batch's file is removed; one that fails
 * again is rewritten with one more attempt and the new error.
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
        $store = $this->retry->failures;
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
            $error = $this->retry->once($job, $items);
            if ($error === null) {
                @unlink($path);
                $delivered += count($items);
                $job->delivered += count($items);
                $job->batches++;
            } else {
                $body['attempts']++;
                $body['lastError'] = $error;
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
