//! MessagePack -> PHP arrays: the batch a callable receives, built directly, each
//! array sized up front. Map keys repeat from item to item (log records share
//! their field names), so each distinct key string is made once per batch.

use std::collections::HashMap;

use asyncbatch_core::batch::Batch;
use asyncbatch_core::item::php_numeric_key;
use asyncbatch_core::msgpack::{self, Build, DecodeError};
use ext_php_rs::boxed::ZBox;
use ext_php_rs::ffi::{self, zend_string};
use ext_php_rs::types::{ZendHashTable, ZendStr, Zval};

use crate::php;

/// Distinct keys kept per batch; beyond this, keys are made one by one.
const MAX_CACHED_KEYS: usize = 256;

struct ZvalBuilder<'b> {
    keys: HashMap<&'b [u8], *mut zend_string, rustc_hash::FxBuildHasher>,
    /// The key last met at each place in a map (by place and length): records
    /// repeat their keys in the same order, so most keys are found here with one
    /// comparison. Its strings are those of `keys`.
    recent: [(&'b [u8], *mut zend_string); RECENT],
}

/// Places remembered in `ZvalBuilder::recent`.
const RECENT: usize = 64;

impl<'b> ZvalBuilder<'b> {
    fn new() -> Self {
        ZvalBuilder { keys: HashMap::default(), recent: [(&[], std::ptr::null_mut()); RECENT] }
    }
}

impl Drop for ZvalBuilder<'_> {
    fn drop(&mut self) {
        for (_, key) in self.keys.drain() {
            // SAFETY: we hold one reference to each cached key.
            drop(unsafe { ZBox::<ZendStr>::from_raw(key) });
        }
    }
}

fn inserted(slot: *mut Zval, v: Zval) {
    // On success the array took the zval's contents over; on failure (a full
    // index space) it did not, and the Rust value frees them.
    if !slot.is_null() {
        std::mem::forget(v);
    }
}

impl<'b> ZvalBuilder<'b> {
    fn insert_key(&mut self, c: &mut ZBox<ZendHashTable>, k: &'b [u8], mut v: Zval) {
        let place = (c.nNumOfElements as usize * 8 + k.len()) % RECENT;
        let (seen, key) = self.recent[place];
        if !key.is_null() && seen == k {
            // SAFETY: a live array, a live key (the array adds its own reference).
            let slot = unsafe { ffi::zend_hash_update(&mut **c, key, &mut v) };
            return inserted(slot, v);
        }
        // A key seen before in this batch is a string key (numeric ones are never
        // kept), found without looking at its bytes again.
        let cached = self.keys.get(k).copied();
        if cached.is_none() {
            if let Some(i) = php_numeric_key(k) {
                // SAFETY: a live array and an owned zval.
                let slot = unsafe { ffi::zend_hash_index_update(&mut **c, i as u64, &mut v) };
                return inserted(slot, v);
            }
        }
        let key = match cached {
            Some(key) => key,
            None if self.keys.len() < MAX_CACHED_KEYS => {
                let key = ZendStr::new(k, false).into_raw();
                self.keys.insert(k, key);
                key
            }
            None => {
                // SAFETY: as above; the array copies the key.
                let slot = unsafe { ffi::zend_hash_str_update(&mut **c, k.as_ptr().cast(), k.len(), &mut v) };
                return inserted(slot, v);
            }
        };
        self.recent[place] = (k, key);
        // SAFETY: a live array, a live key (the array adds its own reference).
        let slot = unsafe { ffi::zend_hash_update(&mut **c, key, &mut v) };
        inserted(slot, v);
    }
}

impl<'b> Build<'b> for ZvalBuilder<'b> {
    type Value = Zval;
    type Container = ZBox<ZendHashTable>;

    fn nil(&mut self) -> Zval {
        Zval::null()
    }
    fn bool(&mut self, v: bool) -> Zval {
        let mut z = Zval::new();
        z.set_bool(v);
        z
    }
    fn int(&mut self, v: i64) -> Zval {
        let mut z = Zval::new();
        z.set_long(v);
        z
    }
    fn float(&mut self, v: f64) -> Zval {
        let mut z = Zval::new();
        z.set_double(v);
        z
    }
    fn bytes(&mut self, v: &'b [u8]) -> Zval {
        php::string_zval(v)
    }
    fn list(&mut self, len: usize) -> ZBox<ZendHashTable> {
        ZendHashTable::with_capacity(len.min(u32::MAX as usize) as u32)
    }
    fn map(&mut self, len: usize) -> ZBox<ZendHashTable> {
        ZendHashTable::with_capacity(len.min(u32::MAX as usize) as u32)
    }
    fn push(&mut self, c: &mut ZBox<ZendHashTable>, mut v: Zval) {
        // SAFETY: a live array and an owned zval.
        let slot = unsafe { ffi::zend_hash_next_index_insert(&mut **c, &mut v) };
        inserted(slot, v);
    }
    fn insert_int(&mut self, c: &mut ZBox<ZendHashTable>, k: i64, mut v: Zval) {
        // SAFETY: as above.
        let slot = unsafe { ffi::zend_hash_index_update(&mut **c, k as u64, &mut v) };
        inserted(slot, v);
    }
    fn insert_bytes(&mut self, c: &mut ZBox<ZendHashTable>, k: &'b [u8], v: Zval) {
        self.insert_key(c, k, v);
    }
    fn finish(&mut self, c: ZBox<ZendHashTable>) -> Zval {
        let mut z = Zval::new();
        z.set_hashtable(c);
        z
    }
}

/// The PHP list a callable receives for `batch`: each item is the value `kept`
/// gives for its bytes, else decoded from them.
pub fn batch_to_array(
    batch: &Batch,
    mut kept: impl FnMut(&[u8]) -> Option<Zval>,
) -> Result<Zval, DecodeError> {
    let mut list = ZendHashTable::with_capacity(batch.len() as u32);
    let mut b = ZvalBuilder::new();
    for item in batch.iter() {
        let v = match kept(item) {
            Some(v) => v,
            None => msgpack::decode(item, &mut b)?,
        };
        b.push(&mut list, v);
    }
    Ok(b.finish(list))
}
