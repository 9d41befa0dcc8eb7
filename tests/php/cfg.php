<?php
// Prints how a setting is seen: get_cfg_var() (php.ini and -d) and ini_get().
declare(strict_types=1);

$name = PHP_SAPI === 'cli' ? $argv[1] : $_GET['name'];
echo json_encode(['cfg' => get_cfg_var($name), 'ini' => ini_get($name)]);
