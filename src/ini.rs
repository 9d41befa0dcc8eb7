//! Registers the `asyncbatch.*` ini settings declared in `core::settings::INI`.

use std::ffi::CString;

use asyncbatch_core::settings::INI;
use ext_php_rs::flags::IniEntryPermission;
use ext_php_rs::zend::IniEntryDef;

fn leak(s: &str) -> &'static std::ffi::CStr {
    Box::leak(CString::new(s).expect("ini names have no NUL").into_boxed_c_str())
}

/// Registers every setting (MINIT). The engine keeps the table for the process.
pub fn register(module_number: i32) {
    let mut defs: Vec<IniEntryDef> = INI
        .iter()
        .map(|d| IniEntryDef::new(leak(d.name), leak(d.default), IniEntryPermission::All))
        .collect();
    defs.push(IniEntryDef::end());
    IniEntryDef::register(Box::leak(defs.into_boxed_slice()), module_number);
}
