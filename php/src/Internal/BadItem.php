<?php

declare(strict_types=1);

namespace AsyncBatch\Internal;

/**
 * Internal signal of a refused item, carrying the path to the offending value while
 * the walk unwinds; Items turns it into an InvalidItemException.
 */
final class BadItem extends \Exception
{
    private string $path = '';
    private string $what = '';
    private bool $deep = false;

    public static function tooDeep(): self
    {
        $e = new self();
        $e->deep = true;
        return $e;
    }

    public static function object(object $o): self
    {
        $e = new self();
        $e->what = ' is an object of class ' . get_class($o);
        return $e;
    }

    public static function resource(): self
    {
        $e = new self();
        $e->what = ' is a resource';
        return $e;
    }

    /** Adds the key of the enclosing array in front of the path. */
    public function in(int|string $key): self
    {
        $this->path = (is_int($key) ? '[' . $key . ']' : "['" . $key . "']") . $this->path;
        return $this;
    }

    public function describe(): string
    {
        if ($this->deep) {
            return 'it nests deeper than ' . Items::MAX_DEPTH . ' levels';
        }
        return '$item' . $this->path . $this->what
            . '; items may contain only null, bool, int, float, string, arrays and JsonSerializable objects';
    }
}
