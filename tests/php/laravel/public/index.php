<?php
// The front controller of the Laravel test application (tests/tests/frameworks.rs
// copies the application to a temporary directory and writes its
// vendor/composer/installed.json, so Laravel discovers the package's provider as
// it would in an application that ran `composer require asyncbatch/asyncbatch`).
//
// Query: out (the batch log), req (tag), k (log records), sleep_ms (work per batch).
declare(strict_types=1);

require getenv('AB_REPO') . '/php/autoload.php';
require '/usr/share/php/Illuminate/autoload.php';

$app = require __DIR__ . '/../bootstrap/app.php';
$kernel = $app->make(Illuminate\Contracts\Http\Kernel::class);
$response = $kernel->handle($request = Illuminate\Http\Request::capture())->send();
$kernel->terminate($request, $response);
