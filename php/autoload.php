<?php

/**
 * Loads the asyncbatch polyfill without Composer (Composer loads this file too).
 *
 * Registers an autoloader for AsyncBatchRunner and the AsyncBatch\ classes. The
 * public classes come from the polyfill only when the asyncbatch extension is not
 * loaded; with the extension, only the classes it does not define are loaded from
 * here: the internal helpers (AsyncBatch\Internal\, used by the CLI to read the
 * shared file formats), the Monolog handler (AsyncBatch\Monolog\) and the framework
 * glue (AsyncBatch\Symfony\, AsyncBatch\Laravel\).
 */

declare(strict_types=1);

if (!defined('ASYNCBATCH_POLYFILL_DIR')) {
    define('ASYNCBATCH_POLYFILL_DIR', __DIR__ . '/src');

    spl_autoload_register(static function (string $class): void {
        if ($class === 'AsyncBatchRunner') {
            $file = 'AsyncBatchRunner';
        } elseif (strncmp($class, 'AsyncBatch\\', 11) === 0) {
            $file = str_replace('\\', '/', substr($class, 11));
        } else {
            return;
        }
        $ours = strstr($file, '/', true);
        if (!\in_array($ours, ['Internal', 'Monolog', 'Symfony', 'Laravel'], true) && extension_loaded('asyncbatch')) {
            return;
        }
        $path = ASYNCBATCH_POLYFILL_DIR . '/' . $file . '.php';
        if (is_file($path)) {
            require $path;
        }
    });
}
