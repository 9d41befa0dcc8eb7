dnl asyncbatch is written in Rust: `phpize && ./configure && make && make install`
dnl (and PIE, which runs them) build it with cargo, against the PHP whose php-config
dnl phpize was given, and install modules/asyncbatch.so into its extension directory.
dnl
dnl   ./configure [--with-php-config=PATH] [CARGO=PATH] [CARGO_TARGET_DIR=DIR]

PHP_ARG_ENABLE([asyncbatch],
  [whether to enable asyncbatch],
  [AS_HELP_STRING([--enable-asyncbatch], [Build the asyncbatch extension (the default)])],
  [yes], [no])

if test "$PHP_ASYNCBATCH" != "no"; then
  dnl The PHP versions the extension builds for, as in build.rs.
  AC_MSG_CHECKING([the PHP asyncbatch is built for])
  ab_vernum=`$PHP_CONFIG --vernum 2>/dev/null`
  ab_version=`$PHP_CONFIG --version 2>/dev/null`
  if test -z "$ab_vernum" || test "$ab_vernum" -lt 80200 || test "$ab_vernum" -ge 80600; then
    AC_MSG_RESULT([PHP $ab_version])
    AC_MSG_ERROR([asyncbatch builds for PHP 8.2 to 8.5; $PHP_CONFIG is PHP $ab_version. Give ./configure --with-php-config=PATH of a supported PHP.])
  fi
  AC_MSG_RESULT([PHP $ab_version])

  AC_ARG_VAR([CARGO], [the cargo that builds the extension (Rust 1.88 or later)])
  AC_PATH_PROG([CARGO], [cargo], [no], [$PATH$PATH_SEPARATOR$HOME/.cargo/bin])
  if test "$CARGO" = "no"; then
    AC_MSG_ERROR([asyncbatch is written in Rust and needs cargo (Rust 1.88 or later), found neither in PATH nor in ~/.cargo/bin: install Rust with rustup (https://rustup.rs), or give ./configure CARGO=PATH])
  fi
  AC_MSG_CHECKING([the version of Rust])
  ab_rustc=`dirname "$CARGO"`/rustc
  test -x "$ab_rustc" || ab_rustc=rustc
  ab_rust=`"$ab_rustc" --version 2>/dev/null | cut -d' ' -f2`
  AC_MSG_RESULT([$ab_rust])
  ab_rust_major=`echo "$ab_rust" | cut -d. -f1`
  ab_rust_minor=`echo "$ab_rust" | cut -d. -f2`
  if test -z "$ab_rust_minor" || test "$ab_rust_major" -lt 1 || { test "$ab_rust_major" -eq 1 && test "$ab_rust_minor" -lt 88; }; then
    AC_MSG_ERROR([asyncbatch needs Rust 1.88 or later; $ab_rustc is ${ab_rust:-not found}: run rustup update])
  fi

  AC_ARG_VAR([CARGO_TARGET_DIR], [where cargo builds (default: target/ in the source directory)])
  ASYNCBATCH_TARGET_DIR=${CARGO_TARGET_DIR:-$abs_srcdir/target}
  dnl ext-php-rs's build wants a path, and phpize's default is a name.
  ASYNCBATCH_PHP_CONFIG=`command -v "$PHP_CONFIG"`
  PHP_SUBST(CARGO)
  PHP_SUBST(ASYNCBATCH_TARGET_DIR)
  PHP_SUBST(ASYNCBATCH_PHP_CONFIG)

  dnl No C sources: the module is cargo's, copied to modules/ (Makefile.frag),
  dnl which `make install` installs as it does any extension.
  PHP_MODULES="\$(phplibdir)/asyncbatch.so"
  dnl phpize makes the build directories of the C sources; there is one: here.
  PHP_ADD_BUILD_DIR([.])
  PHP_ADD_MAKEFILE_FRAGMENT([$abs_srcdir/Makefile.frag])
fi
