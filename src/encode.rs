//! PHP value -> MessagePack, written straight from the zval while walking it: no
//! intermediate tree, no allocation beyond the output buffer.

use asyncbatch_core::item::{ItemErrorKind, ItemPath, PathStep};
use asyncbatch_core::msgpack::{self, MAX_DEPTH};
use ext_php_rs::ffi;
use ext_php_rs::types::{ZendObject, Zval};
use ext_php_rs::zend::ExecutorGlobals;

use crate::array::{self, Key};
use crate::php;

/// Why an item was not encoded.
pub enum EncodeError {
    /// The item is not acceptable (boxed: errors are rare, and a small result keeps
    /// the walk's frames small).
    Item(Box<ItemErrorKind>),
    /// `jsonSerialize()` threw; the exception is pending.
    Exception,
    /// The item holds an object, and this walk may not run PHP code.
    NeedsPhp,
}

/// Appends the encoding of `item` to `out`, checking its size. Runs no PHP code: an
/// object makes it stop with [`EncodeError::NeedsPhp`], so it may run while the
/// runtime is borrowed. Sets `linked` when the value holds a PHP reference
/// (`&$x`) or an indirect slot, whose target can change after the submit: such a
/// value is not a frozen copy of what was encoded.
#[inline]
pub fn encode_plain(
    item: &Zval,
    out: &mut Vec<u8>,
    max_size: usize,
    linked: &mut bool,
) -> Result<(), EncodeError> {
    let start = out.len();
    encode(item, out, 0, false, linked)?;
    check_size(out.len() - start, max_size)
}

/// Appends the encoding of array `ht`; as [`encode_plain`], without a size limit.
pub fn encode_plain_array(ht: &ffi::zend_array, out: &mut Vec<u8>) -> Result<(), EncodeError> {
    encode_array(ht, out, 1, false, &mut false)
}

/// Appends the encoding of `item` to `out`, replacing `JsonSerializable` objects by
/// their data (which runs their PHP code), checking its size.
pub fn encode_item(item: &Zval, out: &mut Vec<u8>, max_size: usize) -> Result<(), EncodeError> {
    let start = out.len();
    encode(item, out, 0, true, &mut false)?;
    check_size(out.len() - start, max_size)
}

fn check_size(size: usize, max: usize) -> Result<(), EncodeError> {
    if size > max {
        return Err(EncodeError::Item(Box::new(ItemErrorKind::TooLarge { size, max })));
    }
    Ok(())
}

fn encode(
    zv: &Zval,
    out: &mut Vec<u8>,
    depth: usize,
    php: bool,
    linked: &mut bool,
) -> Result<(), EncodeError> {
    // SAFETY: each arm reads the union member its type tag says is there.
    unsafe {
        match zv.u1.v.type_ as u32 {
            ffi::IS_NULL | ffi::IS_UNDEF => msgpack::write_nil(out),
            ffi::IS_FALSE => msgpack::write_bool(out, false),
            ffi::IS_TRUE => msgpack::write_bool(out, true),
            ffi::IS_LONG => msgpack::write_int(out, zv.value.lval),
            ffi::IS_DOUBLE => msgpack::write_f64(out, zv.value.dval),
            ffi::IS_STRING => msgpack::write_bytes(out, php::str_bytes(&*zv.value.str_)),
            ffi::IS_ARRAY => encode_array(&*zv.value.arr, out, depth + 1, php, linked)?,
            ffi::IS_REFERENCE => {
                *linked = true;
                encode(&(*zv.value.ref_).val, out, depth, php, linked)?
            }
            ffi::IS_INDIRECT => {
                *linked = true;
                encode(&*zv.value.zv, out, depth, php, linked)?
            }
            ffi::IS_OBJECT => encode_object(&*zv.value.obj, out, depth, php, linked)?,
            _ => return Err(EncodeError::Item(Box::new(ItemErrorKind::Resource { path: ItemPath::root() }))),
        }
    }
    Ok(())
}

// Inlined into `encode`, the walk's hot loop, whatever else calls it.
#[inline(always)]
fn encode_array(
    ht: &ffi::zend_array,
    out: &mut Vec<u8>,
    depth: usize,
    php: bool,
    linked: &mut bool,
) -> Result<(), EncodeError> {
    if depth > MAX_DEPTH {
        return Err(EncodeError::Item(Box::new(ItemErrorKind::TooDeep)));
    }
    let n = array::len(ht);
    let list = array::is_list(ht);
    if list {
        msgpack::write_array_len(out, n);
    } else {
        msgpack::write_map_len(out, n);
    }
    array::try_for_each(ht, |key, value| {
        if !list {
            match key {
                Key::Int(i) => msgpack::write_int(out, i),
                Key::Str(s) => msgpack::write_bytes(out, s),
            }
        }
        encode(value, out, depth, php, linked).map_err(|e| match e {
            EncodeError::Item(mut kind) => {
                *kind = kind.within(match key {
                    Key::Int(i) => PathStep::Index(i),
                    Key::Str(s) => PathStep::Key(s.to_vec()),
                });
                EncodeError::Item(kind)
            }
            other => other,
        })
    })
}

fn encode_object(
    obj: &ZendObject,
    out: &mut Vec<u8>,
    depth: usize,
    php: bool,
    linked: &mut bool,
) -> Result<(), EncodeError> {
    let json = php::json_serializable_ce();
    // SAFETY: a live object's class entry; instanceof on two valid class entries.
    let serializable = !json.is_null() && unsafe { ffi::instanceof_function_slow(obj.ce, json) };
    if !serializable {
        let class = obj.get_class_name().unwrap_or_else(|_| "object".into());
        return Err(EncodeError::Item(Box::new(ItemErrorKind::Object { path: ItemPath::root(), class })));
    }
    if !php {
        return Err(EncodeError::NeedsPhp);
    }
    let data = match obj.try_call_method("jsonSerialize", vec![]) {
        Ok(v) if !ExecutorGlobals::has_exception() => v,
        _ => return Err(EncodeError::Exception),
    };
    // An object standing for another object counts a level, so a chain of them
    // (or one returning itself) ends at the depth limit.
    let deeper = if data.is_object() { depth + 1 } else { depth };
    if deeper > MAX_DEPTH {
        return Err(EncodeError::Item(Box::new(ItemErrorKind::TooDeep)));
    }
    encode(&data, out, deeper, php, linked)
}
