//! Registers the `asyncbatch.*` ini settings declared in `core::settings::INI`.

use std::ffi::CString;

use asyncbatch_core::settings::INI;
use ext_php_rs::flags::IniEntryPermission;
use ext_php_rs::zend::IniEntryDef;

fn leak(s: &str) -> &'static std::ffi::CStr {
    let owned = CString::new(s).expect("ini names have no NUL").into_boxed_c_str();
    let ptr: *const std::ffi::CStr = &*owned;
    crate::keep_forever(owned);
    // SAFETY: kept (never freed) by keep_forever; the heap allocation does not move.
    unsafe { &*ptr }
}

/// Registers every setting (MINIT). The engine keeps the table for the process.
pub fn register(module_number: i32) {
    let mut defs: Vec<IniEntryDef> = INI
        .iter()
        .map(|d| IniEntryDef::new(leak(d.name), leak(d.default), IniEntryPermission::All))
        .collect();
    defs.push(IniEntryDef::end());
    let table = defs.into_boxed_slice();
    let ptr: *const [IniEntryDef] = &*table;
    crate::keep_forever(table);
    // SAFETY: kept for the process by keep_forever; the boxed slice does not move.
    IniEntryDef::register(unsafe { &*ptr }, module_number);
}
