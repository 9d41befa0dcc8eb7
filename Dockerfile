# php-fpm 8.2 with the asyncbatch extension, and the asyncbatch daemon, under
# supervisord (Debian bookworm).
#
#   docker build -t asyncbatch .
#   docker run -d --name app -p 9000:9000 -v asyncbatch-data:/var/lib/asyncbatch \
#       --sysctl kernel.msgmnb=4194304 --stop-timeout 35 asyncbatch
#
# php-fpm takes FastCGI on port 9000; the daemon loads the application's jobs from
# /var/www/app/config/asyncbatch-jobs.php (an example until you put yours there).
# deploy/README.md ("Docker") explains it; deploy/docker/compose.yaml adds nginx.
# The work of each stage is in deploy/docker/build.sh and deploy/docker/install.sh,
# which tests/tests/docker_steps.rs also runs on the host.

# The extension, built against Debian's PHP 8.2: the PHP of the runtime stage.
FROM rust:1-bookworm AS build
WORKDIR /usr/src/asyncbatch
COPY deploy/docker/build.sh deploy/docker/build.sh
RUN deploy/docker/build.sh packages
COPY Cargo.toml Cargo.lock ./
COPY src/ src/
COPY core/ core/
COPY tests/ tests/
RUN deploy/docker/build.sh extension /out

# php-fpm, the CLI and supervisord; the extension, its settings, the Composer
# package with the asyncbatch command, supervisord's programs, the healthcheck.
FROM debian:bookworm-slim
COPY deploy/docker/install.sh /usr/src/asyncbatch/deploy/docker/install.sh
RUN /usr/src/asyncbatch/deploy/docker/install.sh packages
COPY php/ /usr/src/asyncbatch/php/
COPY deploy/ /usr/src/asyncbatch/deploy/
COPY --from=build /out/asyncbatch.so /usr/src/asyncbatch/asyncbatch.so
RUN /usr/src/asyncbatch/deploy/docker/install.sh --extension /usr/src/asyncbatch/asyncbatch.so \
    && rm -rf /usr/src/asyncbatch

# The spool and the failure store (owned by www-data, 0700): keep them in a volume,
# so that what waits there outlives the container.
VOLUME /var/lib/asyncbatch
WORKDIR /var/www/app
EXPOSE 9000

# php-fpm answers its ping and `asyncbatch status` finds the daemon running.
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 \
    CMD ["/usr/local/bin/asyncbatch-healthcheck"]

# On docker stop (SIGTERM) supervisord stops php-fpm, then the daemon: give it
# --stop-timeout 35 (stop_grace_period in compose), more than Docker's 10 s.
STOPSIGNAL SIGTERM
CMD ["/usr/bin/supervisord", "-n", "-c", "/etc/supervisor/supervisord.conf"]
