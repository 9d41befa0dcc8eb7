<?php
// The daemon's bootstrap in the soak test (bench/soak.sh): job "soak" of bench/soak-jobs.php.
declare(strict_types=1);

require_once __DIR__ . '/soak-jobs.php';

soak_register(new AsyncBatchRunner());
