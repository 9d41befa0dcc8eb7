//! Walking a PHP array in place: packed arrays (bare zvals since PHP 8.2) and hash
//! arrays (buckets), skipping holes, keys binary-safe, no allocation.

use asyncbatch_core::config::ConfigKey;
use asyncbatch_core::item::php_numeric_key;
use ext_php_rs::ffi::{self, zend_array};
use ext_php_rs::types::{ZendHashTable, Zval};

use crate::php;

const HASH_FLAG_PACKED: u32 = 1 << 2;

/// An array key.
#[derive(Clone, Copy)]
pub enum Key<'a> {
    /// An integer key.
    Int(i64),
    /// A string key.
    Str(&'a [u8]),
}

impl<'a> Key<'a> {
    /// The key as config validation in core takes it.
    pub fn config_key(self) -> ConfigKey<'a> {
        match self {
            Key::Int(i) => ConfigKey::Int(i),
            Key::Str(s) => ConfigKey::Str(s),
        }
    }
}

fn is_undef(zv: &Zval) -> bool {
    // SAFETY: reading the type byte of an initialised zval.
    unsafe { zv.u1.v.type_ as u32 == ffi::IS_UNDEF }
}

/// Number of elements.
pub fn len(ht: &zend_array) -> usize {
    ht.nNumOfElements as usize
}

/// Calls `f` for each element in order; stops at the first error. Inlined: it is
/// the loop of the encoder's walk.
#[inline(always)]
pub fn try_for_each<'a, E>(
    ht: &'a zend_array,
    mut f: impl FnMut(Key<'a>, &'a Zval) -> Result<(), E>,
) -> Result<(), E> {
    // SAFETY: the flags word of a live array.
    let packed = unsafe { ht.u.flags } & HASH_FLAG_PACKED != 0;
    let used = ht.nNumUsed as usize;
    if packed {
        for i in 0..used {
            // SAFETY: packed arrays hold nNumUsed zvals at arPacked.
            let zv = unsafe { &*ht.__bindgen_anon_1.arPacked.add(i) };
            if !is_undef(zv) {
                f(Key::Int(i as i64), zv)?;
            }
        }
    } else {
        for i in 0..used {
            // SAFETY: hash arrays hold nNumUsed buckets at arData.
            let b = unsafe { &*ht.__bindgen_anon_1.arData.add(i) };
            if is_undef(&b.val) {
                continue;
            }
            let key = match unsafe { b.key.as_ref() } {
                None => Key::Int(b.h as i64),
                Some(s) => Key::Str(php::str_bytes(s)),
            };
            f(key, &b.val)?;
        }
    }
    Ok(())
}

/// `array_is_list()`: keys are 0, 1, 2, ... in order.
pub fn is_list(ht: &zend_array) -> bool {
    let mut next = 0i64;
    try_for_each(ht, |k, _| match k {
        Key::Int(i) if i == next => {
            next += 1;
            Ok(())
        }
        _ => Err(()),
    })
    .is_ok()
}

/// Inserts under a string key the way PHP arrays do: `"12"` becomes the key 12.
pub fn symtable_insert(ht: &mut ZendHashTable, key: &[u8], mut v: Zval) {
    // SAFETY: a live array and an owned zval; on success the array owns its contents.
    let slot = match php_numeric_key(key) {
        Some(i) => unsafe { ffi::zend_hash_index_update(ht, i as u64, &mut v) },
        None => unsafe { ffi::zend_hash_str_update(ht, key.as_ptr().cast(), key.len(), &mut v) },
    };
    if !slot.is_null() {
        std::mem::forget(v);
    }
}
