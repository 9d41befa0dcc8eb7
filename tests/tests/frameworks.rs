//! The framework glue of the Composer package under real php-fpm, with the
//! framework's real packages (Debian's: Symfony 5.4 on bookworm, 6.4 on trixie),
//! for the extension and the polyfill: a Symfony HttpKernel app whose
//! AsyncBatchSubscriber delivers at kernel.terminate, after the response.

use std::path::Path;
use std::thread;
use std::time::Duration;

use asyncbatch_e2e::{delivery_counts, fixture, not_run, read_batches, wait_until, FpmPool, Php, Sandbox};

/// Work the callable does per batch: a response held for delivery would take
/// at least this long; one sent first takes a few ms.
const CALLABLE_MS: u64 = 500;
/// Longest wait for deliveries that take a few seconds.
const DELIVERY_TIMEOUT: Duration = Duration::from_secs(30);
const REQUESTS: usize = 4;
const ITEMS_PER_REQUEST: usize = 3;

asyncbatch_e2e::on_both_sides!(symfony_app_delivers_each_request_in_one_batch_at_kernel_terminate_after_the_response);

fn symfony_installed() -> bool {
    ["/usr/share/php/Symfony/Component/HttpKernel/autoload.php", "/usr/share/php/Symfony/Contracts/Service/autoload.php"]
        .iter()
        .all(|f| Path::new(f).is_file())
}

fn symfony_app_delivers_each_request_in_one_batch_at_kernel_terminate_after_the_response(side: Php) {
    if !symfony_installed() {
        return not_run("php-symfony-http-kernel and php-symfony-service-contracts are not installed");
    }
    if let Err(problem) = side.check() {
        panic!("the {side} is not usable: {problem}");
    }
    let sandbox = Sandbox::new();
    let pool = FpmPool::builder(side)
        .ini("asyncbatch.runner", "shutdown")
        .inis(sandbox.asyncbatch_ini())
        .children(1)
        .start(sandbox.path());
    let out = sandbox.join("batches.log");
    let script = fixture("symfony_front.php");
    let mut expected = Vec::new();
    for r in 0..REQUESTS {
        let query = format!("out={}&req=r{r}&k={ITEMS_PER_REQUEST}&sleep_ms={CALLABLE_MS}", out.display());
        let response = pool.get_ok(&script, &query);
        // The first request compiles Symfony's classes: only the later ones are timed.
        if r > 0 {
            assert!(
                response.elapsed < Duration::from_millis(CALLABLE_MS),
                "request {r} took {:?}: the response waited for the delivery",
                response.elapsed
            );
        }
        expected.extend((0..ITEMS_PER_REQUEST).map(|i| format!("r{r}-{i}")));
        // The one worker delivers after the response; the next request would wait
        // for it, so it goes once this one's batch is in and the worker is free.
        let mut batches = Vec::new();
        let done = wait_until(DELIVERY_TIMEOUT, Duration::from_millis(20), || {
            batches = read_batches(&out);
            batches.iter().map(|b| b.items.len()).sum::<usize>() >= expected.len()
        });
        assert!(done, "request {r}: not delivered within {DELIVERY_TIMEOUT:?}: {batches:?}\n{}", pool.logs());
        thread::sleep(Duration::from_millis(100));
    }
    let batches = read_batches(&out);
    let counts = delivery_counts(&batches);
    for item in &expected {
        assert_eq!(counts.get(item), Some(&1), "{item} delivered {:?} times: {batches:?}", counts.get(item));
    }
    assert_eq!(batches.len(), REQUESTS, "one batch per request: {batches:?}");
    let phases = std::fs::read_to_string(out.with_extension("log.phase")).unwrap_or_default();
    assert_eq!(
        phases.lines().collect::<Vec<_>>(),
        vec!["terminate"; REQUESTS],
        "every batch delivered by the subscriber at kernel.terminate"
    );
    let errors = pool.php_errors();
    assert!(errors.trim().is_empty(), "PHP errors: {errors}");
}
