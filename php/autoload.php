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
        // The internal classes that every request of the shutdown runner uses, and
        // those an HttpSink adds, are loaded together at the first use of any of a
        // group: one call of this function for the group rather than one per class.
        static $groups = [
            [
                'BatchId', 'Budget', 'Delivery', 'ExitGuard', 'Fs', 'Items', 'Job', 'JobConfig', 'Journal', 'MsgPack', 'Phase',
                'Retry', 'Runtime', 'Settings', 'Spool',
            ],
            ['BatchSplit', 'HttpPost', 'HttpSinkConfig', 'HttpStats', 'Proxy'],
        ];
        // Files known to exist, loaded without a stat.
        static $public = [
            'AsyncBatchRunner', 'HttpSink', 'HttpSinkException', 'InvalidConfigException', 'InvalidItemException',
            'StorageException', 'UnknownJobException',
        ];
        if (strncmp($class, 'AsyncBatch\\Internal\\', 20) === 0) {
            $name = substr($class, 20);
            foreach ($groups as $group) {
                if (\in_array($name, $group, true)) {
                    foreach ($group as $member) {
                        // _once: a member may have been loaded on its own already.
                        require_once ASYNCBATCH_POLYFILL_DIR . '/Internal/' . $member . '.php';
                    }
                    return;
                }
            }
        }
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
        if (\in_array($file, $public, true) || is_file($path)) {
            require $path;
        }
    });
}
