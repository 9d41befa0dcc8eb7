<?php
// Plain PHP (no asyncbatch): proves the php-fpm launcher and the FastCGI client.
declare(strict_types=1);

header('X-Worker-Pid: ' . getmypid());
echo 'hello ', $_GET['name'] ?? 'nobody';
