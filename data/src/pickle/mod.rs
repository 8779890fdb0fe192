//! Python pickles as the datasets of torchvision and NAS-Bench-201 ship them (CIFAR-10/100
//! "python version", downsampled ImageNet 16×16): a small unpickler for the opcodes of protocols
//! 2–5 that such files use — dicts, lists, tuples, numbers, strings and numpy arrays — and
//! nothing else: any other class or opcode is refused by name, never executed.
//!
//! Why not serde-pickle: it copies a memoised value at every reference (a 10 KB pickle that
//! refers to a 1 MB string a thousand times times a thousand claims a terabyte) and drops the
//! dtype of numpy arrays. Here values are shared (`Rc`), containers are sealed once placed in
//! another (no cycles, nesting bounded by [`MAX_DEPTH`]), and stack and memo are bounded.

mod numpy;
mod value;
mod vm;

pub use numpy::{Dtype, NdArray};
pub use value::Value;

use std::path::Path;

use crate::{Error, Result};

/// Deepest nesting of containers accepted (dataset files nest three or four deep).
pub const MAX_DEPTH: usize = 32;

/// Reads the pickle in `path` (bounded by the data-file limit). Errors name the file, the byte
/// offset and what was found there.
pub fn load(path: &Path) -> Result<Value> {
    let bytes = crate::files::read_file(path, crate::files::DATA_LIMIT)?;
    parse(&bytes).map_err(|e| Error::format(path, format!("not a readable Python pickle: {e}")))
}

/// Unpickles `bytes`; the error text says where and why.
pub fn parse(bytes: &[u8]) -> std::result::Result<Value, String> {
    vm::Machine::new(bytes).run()
}

#[cfg(test)]
mod tests;
