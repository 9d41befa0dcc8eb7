<?php
// No asyncbatch provider here: Laravel discovers it (composer.json extra.laravel).
return [
    'name' => 'asyncbatch-e2e',
    'env' => 'testing',
    'debug' => true,
    'timezone' => 'UTC',
    'providers' => [],
];
