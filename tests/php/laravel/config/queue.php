<?php
// The queue a `php artisan queue:work` worker takes jobs from: Laravel's database
// queue, in the SQLite file of config/database.php.
return [
    'default' => 'database',
    'connections' => [
        'database' => ['driver' => 'database', 'table' => 'jobs', 'queue' => 'default', 'retry_after' => 90],
    ],
    'failed' => ['driver' => 'null'],
];
