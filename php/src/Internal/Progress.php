<?php

declare(strict_types=1);

namespace AsyncBatch\Internal;

/**
 * The progress file of a segment being delivered, `{segment}.done`: the number of
 * its items (in frame order) that are done — delivered, or stored in the failure
 * store, or dropped after their retries — as a u64 LE at offset 0. A reader that
 * takes the segment over after a crash skips them.
 *
 * Created 0600 and exclusive the first time it is needed (or opened, when an
 * earlier reader left one), then overwritten in place.
 */
final class Progress
{
    /** @var resource|null */
    private $fh = null;

    public function __construct(public readonly string $path)
    {
    }

    /**
     * Records that $done items of the segment are done.
     *
     * @return string|null why it could not be recorded, or null
     */
    public function write(int $done): ?string
    {
        if ($this->fh === null) {
            $fh = Fs::createExclusive($this->path);
            if (is_string($fh)) {
                if (!file_exists($this->path) || is_link($this->path)) {
                    return sprintf('cannot create %s: %s', $this->path, $fh);
                }
                // Left by an earlier reader of the segment: ours to update now.
                $fh = @fopen($this->path, 'r+b');
                if ($fh === false) {
                    $e = error_get_last();
                    return sprintf('cannot open %s: %s', $this->path, Fs::why($e['message'] ?? 'unknown error'));
                }
            }
            $this->fh = $fh;
        }
        if (@fseek($this->fh, 0) !== 0) {
            return sprintf('cannot write %s: seek failed', $this->path);
        }
        $why = Fs::writeAll($this->fh, pack('P', $done));
        return $why === null ? null : sprintf('cannot write %s: %s', $this->path, $why);
    }

    /** Whether the file was written by this object. */
    public function exists(): bool
    {
        return $this->fh !== null;
    }

    /** Removes the file, if this object wrote it, and closes it. */
    public function remove(): void
    {
        if ($this->fh !== null) {
            @unlink($this->path);
            $this->close();
        }
    }

    /** Closes the file, leaving it in place. */
    public function close(): void
    {
        if ($this->fh !== null) {
            fclose($this->fh);
            $this->fh = null;
        }
    }

    /**
     * Records that $done items are done; a failure gives one warning per reason and
     * process (without it a crash would deliver the done batches again: nothing is
     * lost).
     */
    public function record(int $done): void
    {
        $why = $this->write($done);
        if ($why !== null) {
            // Not the path in the reason: every segment has its own.
            Log::warnOnce('progress:' . str_replace($this->path, '', $why), 'cannot record delivery progress: ' . $why);
        }
    }
}
