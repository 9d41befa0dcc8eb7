//! The framework glue of the Composer package under real php-fpm, with the
//! frameworks' real packages (Debian's), for the extension and the polyfill:
//!
//! - a Symfony HttpKernel app (Symfony 5.4 on bookworm, 6.4 on trixie) whose
//!   AsyncBatchSubscriber delivers at kernel.terminate, after the response;
//! - a Laravel app (Laravel 10.48, trixie only: bookworm has no Laravel package, so
//!   scripts/test.sh runs `laravel` tests in its PHP 8.4 step) that discovers the
//!   package's provider, logs with `Log::info()` through the asyncbatch channel,
//!   and has each request's records delivered in one batch at terminate.

use std::fs;
use std::path::{Path, PathBuf};
use std::thread;
use std::time::Duration;

use asyncbatch_e2e::{
    delivery_counts, fixture, not_run, read_batches, repo_root, wait_until, FpmPool, Php, Sandbox,
};

/// Work the callable does per batch: a response held for delivery would take
/// at least this long; one sent first takes a few ms.
const CALLABLE_MS: u64 = 500;
/// Longest wait for deliveries that take a few seconds.
const DELIVERY_TIMEOUT: Duration = Duration::from_secs(30);
const REQUESTS: usize = 4;
const ITEMS_PER_REQUEST: usize = 3;

asyncbatch_e2e::on_both_sides!(
    symfony_app_delivers_each_request_in_one_batch_at_kernel_terminate_after_the_response,
    laravel_app_discovers_the_provider_and_delivers_log_info_in_one_batch_per_request_after_the_response,
    laravel_queue_worker_delivers_each_job_after_it_and_artisan_config_cache_and_retry_failed_work,
);

fn symfony_installed() -> bool {
    [
        "/usr/share/php/Symfony/Component/HttpKernel/autoload.php",
        "/usr/share/php/Symfony/Contracts/Service/autoload.php",
    ]
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
    requests_are_delivered_after_their_responses_at_terminate(&pool, &sandbox, &fixture("symfony_front.php"));
    let errors = pool.php_errors();
    assert!(errors.trim().is_empty(), "PHP errors: {errors}");
}

fn laravel_app_discovers_the_provider_and_delivers_log_info_in_one_batch_per_request_after_the_response(
    side: Php,
) {
    if !laravel_installed() {
        return not_run(LARAVEL_MISSING);
    }
    if let Err(problem) = side.check() {
        panic!("the {side} is not usable: {problem}");
    }
    let sandbox = Sandbox::new();
    let app = laravel_app(&sandbox);
    let pool = FpmPool::builder(side)
        .ini("asyncbatch.runner", "shutdown")
        .inis(sandbox.asyncbatch_ini())
        .env("AB_REPO", repo_root().display())
        .children(1)
        .start(sandbox.path());
    requests_are_delivered_after_their_responses_at_terminate(&pool, &sandbox, &app.join("public/index.php"));
    let discovered = fs::read_to_string(app.join("bootstrap/cache/packages.php")).unwrap_or_default();
    assert!(
        discovered.contains("AsyncBatch\\\\Laravel\\\\AsyncBatchServiceProvider"),
        "Laravel did not discover the provider: {discovered}"
    );
    let errors = pool.php_errors();
    assert!(errors.trim().is_empty(), "PHP errors: {errors}");
}

/// Sends [`REQUESTS`] requests of [`ITEMS_PER_REQUEST`] items to `script`, one at a
/// time; checks that each response left before its batch was delivered, that each
/// request's items came in one batch, once, and that every batch was delivered at
/// the framework's terminate.
fn requests_are_delivered_after_their_responses_at_terminate(
    pool: &FpmPool,
    sandbox: &Sandbox,
    script: &Path,
) {
    let out = sandbox.join("batches.log");
    let mut expected = Vec::new();
    for r in 0..REQUESTS {
        let query = format!("out={}&req=r{r}&k={ITEMS_PER_REQUEST}&sleep_ms={CALLABLE_MS}", out.display());
        let response = pool.get_ok(script, &query);
        // The first request compiles the framework's classes: only the later ones are timed.
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
    let phases = fs::read_to_string(out.with_extension("log.phase")).unwrap_or_default();
    assert_eq!(
        phases.lines().collect::<Vec<_>>(),
        vec!["terminate"; REQUESTS],
        "every batch delivered by the framework glue at terminate"
    );
}

const LARAVEL_MISSING: &str =
    "php-laravel-framework is not installed (Debian trixie has it; bookworm does not)";

fn laravel_installed() -> bool {
    Path::new("/usr/share/php/Illuminate/Foundation/Application.php").is_file()
}

/// The test application (tests/php/laravel) in `sandbox`, as `composer require
/// asyncbatch/asyncbatch` leaves it: the package listed in
/// vendor/composer/installed.json, from which Laravel's package discovery reads
/// extra.laravel.providers.
fn laravel_app(sandbox: &Sandbox) -> PathBuf {
    let app = sandbox.join("app");
    copy_dir(&repo_root().join("tests/php/laravel"), &app);
    for dir in ["vendor/composer", "bootstrap/cache", "storage"] {
        fs::create_dir_all(app.join(dir)).expect("app dir");
    }
    let package = fs::read_to_string(repo_root().join("php/composer.json")).expect("php/composer.json");
    fs::write(app.join("vendor/composer/installed.json"), format!("{{\"packages\": [{package}]}}"))
        .expect("installed.json");
    app
}

/// A Laravel queue worker (`php artisan queue:work`, the database queue in SQLite)
/// runs three jobs that log, the second throwing: the provider delivers each job's
/// records after it (JobProcessed, JobExceptionOccurred), in one batch, not at the
/// worker's exit; `config:cache` takes config/asyncbatch.php and the worker runs
/// on the cached config; `asyncbatch:retry-failed` sends a stored batch again; a
/// key misplaced in a job's spec stops artisan with a message naming it, and one
/// in the log channel sends Laravel to its emergency log, which names it.
fn laravel_queue_worker_delivers_each_job_after_it_and_artisan_config_cache_and_retry_failed_work(side: Php) {
    if !laravel_installed() {
        return not_run(LARAVEL_MISSING);
    }
    if !Path::new("/usr/share/php/Illuminate/Queue/Worker.php").is_file() {
        return not_run("Laravel's queue (php-laravel-framework) is not installed");
    }
    if let Err(problem) = side.check() {
        panic!("the {side} is not usable: {problem}");
    }
    let sandbox = Sandbox::new();
    let app = laravel_app(&sandbox);
    let out = sandbox.join("batches.log");
    let artisan = |args: &[&str], env: &[(&str, &str)]| {
        let mut cmd = side
            .cli()
            .ini("asyncbatch.runner", "shutdown")
            .inis(sandbox.asyncbatch_ini())
            .env("AB_REPO", &repo_root().display().to_string())
            .env("AB_OUT", &out.display().to_string())
            .cwd(&app)
            .timeout(Duration::from_secs(60))
            .script(&app.join("artisan"), args);
        for (k, v) in env {
            cmd = cmd.env(k, v);
        }
        let output = cmd.run();
        (output.status.success(), format!("{}{}", output.stdout_str(), output.stderr))
    };
    let must = |args: &[&str], env: &[(&str, &str)]| {
        let (ok, text) = artisan(args, env);
        assert!(ok, "php artisan {}: failed:\n{text}", args.join(" "));
        text
    };

    let (ok, text) = artisan(&["list"], &[("AB_MISPLACED_KEY", "1")]);
    assert!(!ok, "a batchSize beside 'config' was taken:\n{text}");
    assert!(
        text.contains("asyncbatch.jobs.logs has an unknown key 'batchSize' (batchSize belongs in asyncbatch.jobs.logs.config)"),
        "no message naming the misplaced key:\n{text}"
    );

    // Laravel falls back to its emergency logger, which writes why.
    must(&["e2e:log", "y", "1"], &[("AB_BAD_CHANNEL_KEY", "1")]);
    let emergency = fs::read_to_string(app.join("storage/logs/laravel.log")).unwrap_or_default();
    assert!(
        emergency.contains("the asyncbatch log channel has an unknown key 'batchSize'"),
        "the emergency log does not name the channel's unknown key:\n{emergency}"
    );
    assert!(
        read_batches(&out).is_empty(),
        "a channel with an unknown key delivered: {:?}",
        read_batches(&out)
    );

    must(&["config:cache"], &[]);
    assert!(
        app.join("bootstrap/cache/config.php").is_file(),
        "config:cache wrote no bootstrap/cache/config.php"
    );
    must(&["e2e:push", "j0", "3"], &[]);
    must(&["e2e:push", "j1", "3", "--fail"], &[]);
    must(&["e2e:push", "j2", "3"], &[]);
    assert!(read_batches(&out).is_empty(), "pushing delivered something: {:?}", read_batches(&out));
    let worker = must(&["queue:work", "--stop-when-empty", "--tries=1"], &[]);

    let batches = read_batches(&out);
    let phases = fs::read_to_string(out.with_extension("log.phase")).unwrap_or_default();
    let phases: Vec<&str> = phases.lines().collect();
    for job in ["j0", "j1", "j2"] {
        let expected: Vec<String> = (0..3).map(|i| format!("{job}-{i}")).collect();
        let holding: Vec<usize> = (0..batches.len())
            .filter(|&b| batches[b].items.iter().any(|item| item.starts_with(&format!("{job}-"))))
            .collect();
        assert_eq!(holding.len(), 1, "{job}'s records not in one batch: {batches:?}\n{worker}");
        let batch = &batches[holding[0]];
        for item in &expected {
            assert_eq!(batch.items.iter().filter(|i| *i == item).count(), 1, "{item} in {batches:?}");
        }
        assert_eq!(
            phases.get(holding[0]),
            Some(&"job"),
            "{job}'s batch not delivered after the job: {phases:?}"
        );
    }
    assert_eq!(
        batches.len(),
        3,
        "one batch per job (the thrown exception's record rides with the next): {batches:?}"
    );

    // A batch the collector refuses is stored; asyncbatch:retry-failed sends it again.
    must(&["e2e:log", "x", "2"], &[("AB_REFUSE", "1")]);
    assert_eq!(
        fs::read_dir(sandbox.failure_dir()).map(|d| d.count()).unwrap_or(0),
        1,
        "the refused batch is not stored"
    );
    let retried = must(&["asyncbatch:retry-failed"], &[]);
    assert!(retried.contains("asyncbatch: 2 items delivered from the failure store"), "{retried}");
    assert_eq!(
        fs::read_dir(sandbox.failure_dir()).map(|d| d.count()).unwrap_or(0),
        0,
        "the retried batch is still stored"
    );
    let last = read_batches(&out).pop().expect("the retried batch");
    assert_eq!(last.items, vec!["x-0".to_string(), "x-1".to_string()]);
}

fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).expect("create dir");
    for entry in fs::read_dir(from).expect("read dir") {
        let entry = entry.expect("dir entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("file type").is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            fs::copy(entry.path(), &target).expect("copy file");
        }
    }
}
