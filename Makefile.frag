# The extension, built by cargo against the PHP of ./configure (config.m4).
# cargo decides what to rebuild, so the rule always runs it.
$(phplibdir)/asyncbatch.so: asyncbatch-cargo

asyncbatch-cargo:
	PHP="$(PHP_EXECUTABLE)" PHP_CONFIG="$(ASYNCBATCH_PHP_CONFIG)" \
		"$(CARGO)" build --release --locked --manifest-path "$(top_srcdir)/Cargo.toml" \
		--target-dir "$(ASYNCBATCH_TARGET_DIR)" -p asyncbatch
	@mkdir -p "$(phplibdir)"
	cp "$(ASYNCBATCH_TARGET_DIR)/release/libasyncbatch.so" "$(phplibdir)/asyncbatch.so"

.PHONY: asyncbatch-cargo
