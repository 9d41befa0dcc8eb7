<?php

declare(strict_types=1);

namespace AsyncBatch\Internal;

/**
 * Items taken from memory for delivery, written ahead to the spool before any
 * callable sees them: a `.part` segment (the format of every segment) that this
 * process keeps locked while it delivers them, and, once a batch is done while
 * others remain, a `{part}.done` progress file.
 *
 * When every item is delivered, stored or written elsewhere, the journal is removed.
 * A callable that calls exit(), dies of a fatal error or is killed leaves it on disk:
 * the next reader takes it like any `.part` of a dead writer and skips what `.done`
 * records, so at most the batch in flight is delivered again. Until the request ends
 * such a journal stays open and locked, so this process never offers its items again.
 */
final class Journal
{
    /**
     * Journals of this process that are not finished, by path. A delivery cut short
     * by exit() or a fatal error never comes back to them: PHP closes them (and so
     * unlocks them) at the end of the request.
     *
     * @var array<string, self>
     */
    private static array $open = [];

    /** The `.done` file, made once progress is to be recorded. */
    private ?Progress $progress = null;
    private int $done = 0;

    /** @param resource $fh the locked handle of the `.part` */
    public function __construct(public readonly string $path, private $fh, private readonly int $total)
    {
        self::$open[$path] = $this;
    }

    /**
     * Records that the first $done items (in order) are done. Progress is written
     * only while items remain: a journal of one batch costs its create, write and
     * unlink.
     */
    public function done(int $done): void
    {
        $this->done = min($done, $this->total);
        if ($this->done < $this->total) {
            $this->progress ??= new Progress($this->path . '.done');
            $this->progress->record($this->done);
        }
    }

    /** Every item is done or written elsewhere: removes the `.part`, then the `.done`. */
    public function remove(): void
    {
        @unlink($this->path);
        $this->progress?->remove();
        $this->close();
    }

    /** Leaves the journal on disk for another reader (its items are nowhere else). */
    public function keep(): void
    {
        $this->progress?->close();
        $this->close();
    }

    /**
     * In a child of pcntl_fork(): the journals still open are the parent's, which
     * delivers their items. Closes the child's handles (the parent keeps its locks)
     * and leaves the files alone.
     */
    public static function forgetInherited(): void
    {
        foreach (self::$open as $journal) {
            $journal->keep();
        }
    }

    private function close(): void
    {
        if ($this->fh !== null) {
            fclose($this->fh);
            $this->fh = null;
        }
        unset(self::$open[$this->path]);
    }
}
