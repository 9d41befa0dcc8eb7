//! MessagePack -> PHP arrays: the batch a callable receives, built directly, each
//! array sized up front.

use asyncbatch_core::batch::Batch;
use asyncbatch_core::msgpack::{self, Build, DecodeError};
use ext_php_rs::boxed::ZBox;
use ext_php_rs::ffi;
use ext_php_rs::types::{ZendHashTable, Zval};

use crate::{array, php};

struct ZvalBuilder;

fn insert(result: *mut Zval, v: Zval) {
    // On success the array took the zval's contents over; on failure (a full
    // index space) it did not, and the Rust value frees them.
    if !result.is_null() {
        std::mem::forget(v);
    }
}

impl Build for ZvalBuilder {
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
    fn bytes(&mut self, v: &[u8]) -> Zval {
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
        let r = unsafe { ffi::zend_hash_next_index_insert(&mut **c, &mut v) };
        insert(r, v);
    }
    fn insert_int(&mut self, c: &mut ZBox<ZendHashTable>, k: i64, mut v: Zval) {
        // SAFETY: as above.
        let r = unsafe { ffi::zend_hash_index_update(&mut **c, k as u64, &mut v) };
        insert(r, v);
    }
    fn insert_bytes(&mut self, c: &mut ZBox<ZendHashTable>, k: &[u8], v: Zval) {
        array::symtable_insert(c, k, v);
    }
    fn finish(&mut self, c: ZBox<ZendHashTable>) -> Zval {
        let mut z = Zval::new();
        z.set_hashtable(c);
        z
    }
}

/// The PHP list a callable receives for `batch`.
pub fn batch_to_array(batch: &Batch) -> Result<Zval, DecodeError> {
    let mut list = ZendHashTable::with_capacity(batch.len() as u32);
    let mut b = ZvalBuilder;
    for item in batch.iter() {
        let v = msgpack::decode(item, &mut b)?;
        b.push(&mut list, v);
    }
    Ok(b.finish(list))
}
