--TEST--
HttpSink's TLS options: caFile, clientCert and clientKey are paths to PEM files, the client pair goes together, and the constructor reads the files, naming the one it cannot use and why
--INI--
asyncbatch.spool_dir={PWD}/130.spool
asyncbatch.failure_dir={PWD}/130.failed
--FILE--
<?php
require __DIR__ . '/_child.inc';
$dir = __DIR__ . '/130.pem';
@mkdir($dir);
// A throwaway self-signed certificate and its key (made for this test, trusted by nothing).
$cert = <<<'PEM'
-----BEGIN CERTIFICATE-----
MIIBiTCCAS+gAwIBAgIUQcXFf/VtlXXYFOKuWwPufrI/Y4owCgYIKoZIzj0EAwIw
GjEYMBYGA1UEAwwPYXN5bmNiYXRjaCBwaHB0MB4XDTI2MTIwMzA4MDQ0OVoXDTM2
MTEzMDA4MDQ0OVowGjEYMBYGA1UEAwwPYXN5bmNiYXRjaCBwaHB0MFkwEwYHKoZI
zj0CAQYIKoZIzj0DAQcDQgAEHFLby0qsTFas9DjjMgiudh7bXLrrlxHJulxnUZ4T
JbHq/6zF/5dx1wC62xQvA9loB5dBHomSViz4i3Mi4At006NTMFEwHQYDVR0OBBYE
FKomAIjjB3m1QynsI0+gfdbQLrTaMB8GA1UdIwQYMBaAFKomAIjjB3m1QynsI0+g
fdbQLrTaMA8GA1UdEwEB/wQFMAMBAf8wCgYIKoZIzj0EAwIDSAAwRQIgXCJ4p6vw
GkTYEotjp9ZeBsmfeEXjXOrJakU47x9IH+QCIQD94SohmVfuQBvwDJMZIkzU2EY1
fL1BDjVbJiQ+HJAmVA==
-----END CERTIFICATE-----
PEM;
$key = <<<'PEM'
-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgBrM1SDJ/X1ENvebH
kVpuzpZLRufk1iz6o/Kx03hdYGKhRANCAAQcUtvLSqxMVqz0OOMyCK52HttcuuuX
Ecm6XGdRnhMlser/rMX/l3HXALrbFC8D2WgHl0EeiZJWLPiLcyLgC3TT
-----END PRIVATE KEY-----
PEM;
file_put_contents("$dir/cert.pem", "$cert\n");
file_put_contents("$dir/key.pem", "$key\n");
file_put_contents("$dir/junk.pem", "-----BEGIN CERTIFICATE-----\nnot base64 at all!\n");
$url = 'https://127.0.0.1:1/ingest';
$try = function (array $options) use ($url): void {
    try {
        new AsyncBatch\HttpSink($url, $options);
        echo "ok\n";
    } catch (AsyncBatch\InvalidConfigException $e) {
        echo str_replace(__DIR__, '{dir}', $e->getMessage()), "\n";
    }
};
$try(['caFile' => 1]);
$try(['caFile' => '']);
$try(['clientCert' => ['a']]);
$try(['clientCert' => "$dir/cert.pem"]);
$try(['clientKey' => "$dir/key.pem", 'gzip' => true]);
// The order given: a bad option after the lone half of the pair is reported first.
$try(['clientKey' => "$dir/key.pem", 'gzip' => 1]);
$try(['caFile' => "$dir/none.pem"]);
$try(['caFile' => $dir]);
$try(['caFile' => "$dir/junk.pem"]);
$try(['caFile' => "$dir/key.pem"]);
$try(['clientCert' => "$dir/cert.pem", 'clientKey' => "$dir/cert.pem"]);
$try(['clientCert' => "$dir/key.pem", 'clientKey' => "$dir/key.pem"]);
$try(['caFile' => "$dir/cert.pem"]);
$try(['caFile' => "$dir/cert.pem", 'clientCert' => "$dir/cert.pem", 'clientKey' => "$dir/key.pem"]);
// One file holding both, as some tools write them.
file_put_contents("$dir/both.pem", file_get_contents("$dir/cert.pem") . file_get_contents("$dir/key.pem"));
$try(['clientCert' => "$dir/both.pem", 'clientKey' => "$dir/both.pem"]);
?>
--CLEAN--
<?php
require __DIR__ . '/_child.inc';
foreach (['spool', 'failed', 'pem'] as $x) {
    ab_rmrf(__DIR__ . "/130.$x");
}
?>
--EXPECT--
Option 'caFile' of AsyncBatch\HttpSink must be a path to a PEM file, got 1
Option 'caFile' of AsyncBatch\HttpSink must be a path to a PEM file, got string
Option 'clientCert' of AsyncBatch\HttpSink must be a path to a PEM file, got array
Options 'clientCert' and 'clientKey' of AsyncBatch\HttpSink go together: 'clientKey' is missing
Options 'clientCert' and 'clientKey' of AsyncBatch\HttpSink go together: 'clientCert' is missing
Option 'gzip' of AsyncBatch\HttpSink must be a bool, got 1
Option 'caFile' of AsyncBatch\HttpSink must be a readable PEM file of certificates, got '{dir}/130.pem/none.pem' (no such file)
Option 'caFile' of AsyncBatch\HttpSink must be a readable PEM file of certificates, got '{dir}/130.pem' (not readable)
Option 'caFile' of AsyncBatch\HttpSink must be a readable PEM file of certificates, got '{dir}/130.pem/junk.pem' (no certificate in it)
Option 'caFile' of AsyncBatch\HttpSink must be a readable PEM file of certificates, got '{dir}/130.pem/key.pem' (no certificate in it)
Option 'clientKey' of AsyncBatch\HttpSink must be a readable PEM file with a private key, got '{dir}/130.pem/cert.pem' (no private key in it)
Option 'clientCert' of AsyncBatch\HttpSink must be a readable PEM file of certificates, got '{dir}/130.pem/key.pem' (no certificate in it)
ok
ok
ok
