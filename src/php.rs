//! The few engine calls the extension makes that ext-php-rs does not wrap, each
//! behind a small safe function.

use std::ffi::{CStr, CString};
use std::os::raw::{c_char, c_int};

use ext_php_rs::builders::ClassProperty;
use ext_php_rs::ffi::{
    self, _zend_expected_type as zend_expected_type, zend_class_entry, zend_object, zend_string, zval,
};
use ext_php_rs::flags::{DataType, PropertyFlags};
use ext_php_rs::types::{ZendObject, Zval};
use ext_php_rs::zend::ExecuteData;

#[allow(non_upper_case_globals)]
unsafe extern "C" {
    fn zend_ini_string_ex(
        name: *const c_char,
        name_length: usize,
        orig: c_int,
        exists: *mut bool,
    ) -> *mut c_char;
    fn php_get_temporary_directory() -> *const c_char;
    fn sapi_getenv(name: *const c_char, name_len: usize) -> *mut c_char;
    fn zend_error(type_: c_int, format: *const c_char, ...);
    fn php_log_err_with_severity(message: *const c_char, syslog_type: c_int);
    fn zend_is_unwind_exit(ex: *const zend_object) -> bool;
    fn zend_is_graceful_exit(ex: *const zend_object) -> bool;
    fn zend_parse_arg_str_slow(arg: *mut zval, dest: *mut *mut zend_string, arg_num: u32) -> bool;
    fn zend_wrong_parameter_type_error(num: u32, expected: zend_expected_type, arg: *mut zval);
    fn zend_wrong_callback_error(num: u32, error: *mut c_char);
    fn display_ini_entries(module: *mut ffi::zend_module_entry);
    fn zend_update_property(
        scope: *mut zend_class_entry,
        object: *mut zend_object,
        name: *const c_char,
        len: usize,
        value: *mut zval,
    );
    static mut php_json_serializable_ce: *mut zend_class_entry;
    pub(crate) static mut spl_ce_InvalidArgumentException: *mut zend_class_entry;
    pub(crate) static mut spl_ce_RuntimeException: *mut zend_class_entry;
}

const E_WARNING: c_int = 2;
const LOG_NOTICE: c_int = 5;

/// The current value of an ini setting (`None` when it is not registered).
pub fn ini(name: &str) -> Option<String> {
    // SAFETY: copied at once.
    unsafe { ini_bytes(name) }.map(|b| String::from_utf8_lossy(b).into_owned())
}

/// The bytes of ini setting `name` as the engine holds them, borrowed; `None` when
/// there is no such setting.
///
/// # Safety
/// The bytes live until the setting changes: use them before any PHP code runs.
pub unsafe fn ini_bytes<'a>(name: &str) -> Option<&'a [u8]> {
    let mut exists = false;
    // SAFETY: name/len describe a valid buffer; the engine returns a pointer into
    // its own ini storage.
    let value = unsafe { zend_ini_string_ex(name.as_ptr().cast(), name.len(), 0, &mut exists) };
    if !exists || value.is_null() {
        return None;
    }
    Some(unsafe { CStr::from_ptr(value) }.to_bytes())
}

/// PHP's temporary directory (`sys_get_temp_dir()`).
pub fn temp_dir() -> String {
    // SAFETY: returns a pointer to a process-lifetime string.
    let p = unsafe { php_get_temporary_directory() };
    if p.is_null() {
        return "/tmp".into();
    }
    unsafe { CStr::from_ptr(p) }.to_string_lossy().trim_end_matches('/').to_string()
}

/// An environment variable of the SAPI (FastCGI parameters under php-fpm), without
/// the process environment.
pub struct SapiEnv(*mut c_char);

impl SapiEnv {
    /// Reads variable `name`.
    pub fn get(name: &CStr) -> SapiEnv {
        // SAFETY: a valid name; the result is emalloc'd by the SAPI (or NULL).
        SapiEnv(unsafe { sapi_getenv(name.as_ptr(), name.to_bytes().len()) })
    }

    /// Its value, if it is set.
    pub fn bytes(&self) -> Option<&[u8]> {
        // SAFETY: a NUL-terminated string the SAPI made, alive until dropped.
        (!self.0.is_null()).then(|| unsafe { CStr::from_ptr(self.0) }.to_bytes())
    }
}

impl Drop for SapiEnv {
    fn drop(&mut self) {
        if !self.0.is_null() {
            // SAFETY: emalloc'd by the SAPI for us.
            unsafe { ffi::_efree(self.0.cast()) };
        }
    }
}

/// The SAPI's name: "cli", "fpm-fcgi", ...
pub fn sapi_name() -> String {
    // SAFETY: sapi_module is initialised before any extension code runs.
    let name = unsafe { (*std::ptr::addr_of!(ffi::sapi_module)).name };
    if name.is_null() {
        return String::new();
    }
    unsafe { CStr::from_ptr(name) }.to_string_lossy().into_owned()
}

fn c_message(msg: &str) -> CString {
    CString::new(msg.replace('\0', "\\0")).expect("NULs replaced")
}

/// Raises an `E_WARNING`.
pub fn warn(msg: &str) {
    let m = c_message(msg);
    // SAFETY: "%s" with one C string argument.
    unsafe { zend_error(E_WARNING, c"%s".as_ptr(), m.as_ptr()) };
}

/// Writes one line where `error_log()` writes (line breaks in it escaped).
pub fn log(msg: &str) {
    let m = c_message(&msg.replace('\r', "\\r").replace('\n', "\\n"));
    // SAFETY: a valid C string.
    unsafe { php_log_err_with_severity(m.as_ptr(), LOG_NOTICE) };
}

/// `JsonSerializable`.
pub fn json_serializable_ce() -> *mut zend_class_entry {
    // SAFETY: set by ext/json at startup, before any request.
    unsafe { *std::ptr::addr_of!(php_json_serializable_ce) }
}

/// Whether the pending exception is PHP's way of running `exit()` (or of tearing
/// down a fiber): such an exception must be left to propagate.
pub fn is_exit(ex: &ZendObject) -> bool {
    // SAFETY: a live exception object.
    unsafe { zend_is_unwind_exit(ex) || zend_is_graceful_exit(ex) }
}

/// Reads a `string` argument the way the engine's own functions do (weak-mode
/// coercion, strict_types, the null deprecation); on failure the TypeError is
/// thrown and `None` returned.
pub fn arg_string(arg: &mut Zval, num: u32) -> Option<&ffi::zend_string> {
    if arg.is_string() {
        // SAFETY: the zval holds a string.
        return unsafe { arg.value.str_.as_ref() };
    }
    let mut out: *mut zend_string = std::ptr::null_mut();
    // SAFETY: a valid zval; on success `out` points at the (possibly converted) string.
    if unsafe { zend_parse_arg_str_slow(arg, &mut out, num) } {
        return unsafe { out.as_ref() };
    }
    unsafe { zend_wrong_parameter_type_error(num, ffi::_zend_expected_type_Z_EXPECTED_STRING, arg) };
    None
}

/// Throws the engine's TypeError for an argument that is not an array.
pub fn wrong_array_arg(arg: &mut Zval, num: u32) {
    unsafe { zend_wrong_parameter_type_error(num, ffi::_zend_expected_type_Z_EXPECTED_ARRAY, arg) };
}

/// Checks a `callable` argument; on failure throws the engine's TypeError.
pub fn check_callable(arg: &mut Zval, num: u32) -> bool {
    let mut error: *mut c_char = std::ptr::null_mut();
    // SAFETY: valid zval; `error` is set (emalloc'd) on failure and freed by
    // zend_wrong_callback_error.
    let ok = unsafe {
        ffi::zend_is_callable_ex(
            arg,
            std::ptr::null_mut(),
            0,
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            &mut error,
        )
    };
    if ok {
        if !error.is_null() {
            unsafe { ffi::_efree(error.cast()) };
        }
        return true;
    }
    unsafe { zend_wrong_callback_error(num, error) };
    false
}

/// Throws the engine's ArgumentCountError unless `min <= given <= max`.
pub fn check_arg_count(ex: &ffi::zend_execute_data, min: u32, max: u32) -> bool {
    // SAFETY: ZEND_CALL_NUM_ARGS reads This.u2.num_args of the live frame.
    let given = unsafe { ex.This.u2.num_args };
    if given < min || given > max {
        unsafe { ffi::zend_wrong_parameters_count_error(min, max) };
        return false;
    }
    true
}

/// Calls a PHP callable with `args`; `None` when the engine could not call it.
/// An exception it threw is left pending.
pub fn call(callable: &Zval, args: &mut [Zval]) -> Option<Zval> {
    let mut retval = Zval::new();
    // SAFETY: valid callable and argument zvals; the engine copies (and addrefs)
    // the arguments into the new frame.
    let rc = unsafe {
        ffi::_call_user_function_impl(
            std::ptr::null_mut(),
            std::ptr::from_ref(callable).cast_mut(),
            &mut retval,
            args.len() as u32,
            args.as_mut_ptr(),
            std::ptr::null_mut(),
        )
    };
    (rc == 0).then_some(retval)
}

/// Calls a PHP function by name.
pub fn call_function(name: &str, args: &mut [Zval]) -> Option<Zval> {
    let mut f = Zval::new();
    f.set_string(name, false).ok()?;
    call(&f, args)
}

/// Whether a function exists (`function_exists()`).
pub fn function_exists(name: &str) -> bool {
    ext_php_rs::zend::Function::try_from_function(name).is_some()
}

/// Prints the module's ini entries in phpinfo().
pub fn print_ini_entries(module: *mut ffi::zend_module_entry) {
    unsafe { display_ini_entries(module) };
}

/// A string zval from bytes (binary-safe).
pub fn string_zval(bytes: &[u8]) -> Zval {
    let mut z = Zval::new();
    z.set_zend_string(ext_php_rs::types::ZendStr::new(bytes, false));
    z
}

/// The bytes of a zend_string.
pub fn str_bytes(s: &ffi::zend_string) -> &[u8] {
    // SAFETY: a zend_string's `val` holds `len` bytes.
    unsafe { std::slice::from_raw_parts(s.val.as_ptr().cast(), s.len) }
}

/// Sets property `name` of `obj` with `class` as scope (so a private one too).
pub fn update_property(class: *mut zend_class_entry, obj: &mut ZendObject, name: &str, value: &mut Zval) {
    // SAFETY: a live object of `class` and a property it declares.
    unsafe { zend_update_property(class, obj, name.as_ptr().cast(), name.len(), value) };
}

/// Reads property `name` of `obj` with `class` as scope (so a private one too).
pub fn read_property<'a>(class: *mut zend_class_entry, obj: &'a ZendObject, name: &str) -> Option<&'a Zval> {
    let mut rv = Zval::new();
    // SAFETY: reads a declared property of a live object; the result points into it.
    let p = unsafe {
        ffi::zend_read_property(
            class,
            std::ptr::from_ref(obj).cast_mut(),
            name.as_ptr().cast(),
            name.len(),
            true,
            &mut rv,
        )
    };
    unsafe { p.as_ref() }.map(Zval::dereference)
}

/// Argument `n` of the running call, dereferenced (`n` below [`given`]).
pub fn arg<'a>(ex: &ExecuteData, n: usize) -> Option<&'a mut Zval> {
    // SAFETY: n is below the argument count checked by the caller.
    unsafe { ex.zend_call_arg(n) }.map(Zval::dereference_mut)
}

/// How many arguments the running call was given.
pub fn given(ex: &ExecuteData) -> usize {
    // SAFETY: ZEND_CALL_NUM_ARGS of the live frame.
    unsafe { ex.This.u2.num_args as usize }
}

/// A private property declared by one of the extension's classes.
pub fn private_property(name: &str, default: fn() -> Zval) -> ClassProperty {
    ClassProperty {
        name: name.into(),
        flags: PropertyFlags::Private,
        default: Some(Box::new(move || Ok(default()))),
        docs: &[],
        ty: None,
        nullable: true,
        readonly: false,
        default_stub: None,
    }
}

/// `get_debug_type()` of a value, for messages.
pub fn debug_type(zv: &Zval) -> String {
    let zv = zv.dereference();
    if let Some(obj) = zv.object() {
        return obj.get_class_name().unwrap_or_else(|_| "object".into());
    }
    match zv.get_type() {
        DataType::Null => "null",
        DataType::False | DataType::True | DataType::Bool => "bool",
        DataType::Long => "int",
        DataType::Double => "float",
        DataType::String => "string",
        DataType::Array => "array",
        DataType::Resource => "resource",
        _ => "mixed",
    }
    .to_string()
}
