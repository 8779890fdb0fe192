//! The pickle machine: a stack, marks and a memo, run over the opcodes of protocols 2–5
//! (Python's `pickletools` documents each). Stack and memo are bounded; every length field is
//! checked against the bytes left before anything is allocated.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use super::numpy::{self, Dtype, NdArray};
use super::value::{Callable, Seq, Value};

/// Most values on the stack, and most memo entries (a file's lists are pickled in batches of
/// 1,000, so real files stay far below).
const MAX_ITEMS: usize = 1 << 20;

type R<T> = Result<T, String>;

pub struct Machine<'a> {
    bytes: &'a [u8],
    pos: usize,
    stack: Vec<Value>,
    marks: Vec<usize>,
    memo: HashMap<u32, Value>,
}

impl<'a> Machine<'a> {
    pub fn new(bytes: &'a [u8]) -> Self {
        Machine {
            bytes,
            pos: 0,
            stack: Vec::new(),
            marks: Vec::new(),
            memo: HashMap::new(),
        }
    }

    fn take(&mut self, n: usize) -> R<&'a [u8]> {
        let end = self.pos.checked_add(n).filter(|&e| e <= self.bytes.len());
        let Some(end) = end else {
            return Err(format!(
                "truncated: {n} bytes wanted at offset {}, {} left",
                self.pos,
                self.bytes.len() - self.pos
            ));
        };
        let s = &self.bytes[self.pos..end];
        self.pos = end;
        Ok(s)
    }

    fn uint(&mut self, n: usize) -> R<usize> {
        let b = self.take(n)?;
        let mut v = [0u8; 8];
        v[..n].copy_from_slice(b);
        usize::try_from(u64::from_le_bytes(v)).map_err(|_| "length out of range".into())
    }

    fn sized(&mut self, len_bytes: usize) -> R<&'a [u8]> {
        let n = self.uint(len_bytes)?;
        self.take(n)
    }

    fn line(&mut self) -> R<&'a str> {
        let rest = &self.bytes[self.pos..];
        let n = rest
            .iter()
            .take(256)
            .position(|&b| b == b'\n')
            .ok_or_else(|| format!("no end of line within 256 bytes at offset {}", self.pos))?;
        let s = std::str::from_utf8(&rest[..n]).map_err(|_| "a text line that is not UTF-8")?;
        self.pos += n + 1;
        Ok(s)
    }

    fn push(&mut self, v: Value) -> R<()> {
        if self.stack.len() >= MAX_ITEMS {
            return Err(format!("more than {MAX_ITEMS} values on the stack"));
        }
        self.stack.push(v);
        Ok(())
    }

    fn pop(&mut self) -> R<Value> {
        let floor = self.marks.last().copied().unwrap_or(0);
        if self.stack.len() <= floor {
            return Err(format!("stack underflow at offset {}", self.pos));
        }
        Ok(self.stack.pop().unwrap_or(Value::None))
    }

    fn top(&self) -> R<&Value> {
        self.stack.last().ok_or_else(|| "empty stack".to_string())
    }

    fn pop_mark(&mut self) -> R<Vec<Value>> {
        let m = self.marks.pop().ok_or("no mark on the stack")?;
        Ok(self.stack.split_off(m))
    }

    fn memoize(&mut self, key: u32) -> R<()> {
        if self.memo.len() >= MAX_ITEMS && !self.memo.contains_key(&key) {
            return Err(format!("more than {MAX_ITEMS} memo entries"));
        }
        let v = self.top()?.clone();
        self.memo.insert(key, v);
        Ok(())
    }

    fn recall(&mut self, key: u32) -> R<()> {
        let v = self.memo.get(&key).cloned();
        self.push(v.ok_or_else(|| format!("memo entry {key} was never stored"))?)
    }

    fn extend_list(&mut self, items: Vec<Value>) -> R<()> {
        let Value::List(l) = self.top()?.clone() else {
            return Err(format!("APPEND to {}", self.top()?.describe()));
        };
        let sealed = l.borrow().sealed;
        let depth = Self::seal_all(sealed, items.iter())?;
        let mut l = l.borrow_mut();
        // Sealing the items sealed the list itself when it was among them.
        if l.sealed {
            return Err("a list changed after it was placed in a container (or in itself)".into());
        }
        l.depth = l.depth.max(depth);
        l.items.extend(items);
        Ok(())
    }

    /// Seals values about to go into a container; the depth that container needs.
    fn seal_all<'v>(target_sealed: bool, items: impl Iterator<Item = &'v Value>) -> R<usize> {
        if target_sealed {
            return Err("a container changed after it was placed in another".into());
        }
        let mut depth = 0;
        for v in items {
            depth = depth.max(v.seal()? + 1);
        }
        Ok(depth)
    }

    fn extend_dict(&mut self, items: Vec<Value>) -> R<()> {
        if !items.len().is_multiple_of(2) {
            return Err("SETITEMS with an odd number of values".into());
        }
        let Value::Dict(d) = self.top()?.clone() else {
            return Err(format!("SETITEM on {}", self.top()?.describe()));
        };
        let sealed = d.borrow().sealed;
        let depth = Self::seal_all(sealed, items.iter())?;
        let mut d = d.borrow_mut();
        if d.sealed {
            return Err("a dict changed after it was placed in a container (or in itself)".into());
        }
        d.depth = d.depth.max(depth);
        let mut it = items.into_iter();
        while let (Some(k), Some(v)) = (it.next(), it.next()) {
            d.items.push((k, v));
        }
        Ok(())
    }

    fn global(&mut self, module: &str, name: &str) -> R<()> {
        let numpy_mod = |m: &str, sub: &str| {
            m == format!("numpy.core.{sub}") || m == format!("numpy._core.{sub}")
        };
        let c = match (module, name) {
            (m, "_reconstruct") if numpy_mod(m, "multiarray") => Callable::Reconstruct,
            (m, "scalar") if numpy_mod(m, "multiarray") => Callable::Scalar,
            (m, "_frombuffer") if numpy_mod(m, "numeric") => Callable::FromBuffer,
            ("numpy", "ndarray") => Callable::NdarrayType,
            ("numpy", "dtype") => Callable::Dtype,
            ("_codecs", "encode") => Callable::Encode,
            ("__builtin__" | "builtins", "bytearray") => Callable::Bytearray,
            _ => {
                return Err(format!(
                    "refusing {module}.{name}: only dicts, lists, numbers, strings and numpy \
                     arrays are read"
                ));
            }
        };
        self.push(Value::Callable(c))
    }

    fn reduce(&mut self) -> R<()> {
        let args = match self.pop()? {
            Value::Tuple(t) => t.items.clone(),
            other => return Err(format!("REDUCE arguments are {}", other.describe())),
        };
        let v = match self.pop()? {
            Value::Callable(Callable::Reconstruct) => Value::Array(Rc::new(RefCell::new(None))),
            Value::Callable(Callable::FromBuffer) => {
                Value::Array(Rc::new(RefCell::new(Some(NdArray::from_buffer(&args)?))))
            }
            Value::Callable(Callable::Scalar) => numpy::scalar(&args)?,
            Value::Callable(Callable::Dtype) => {
                let name = args.first().and_then(Value::text).unwrap_or_default();
                Value::Dtype(Rc::new(RefCell::new(Dtype::parse(&name)?)))
            }
            Value::Callable(Callable::Encode | Callable::Bytearray) => match args.first() {
                // Text whose code points are the bytes (latin-1).
                Some(Value::Str(s)) => Value::Bytes(
                    s.chars()
                        .map(|c| {
                            u8::try_from(c as u32)
                                .map_err(|_| "bytes as text beyond latin-1".to_string())
                        })
                        .collect::<R<Vec<u8>>>()?
                        .into(),
                ),
                Some(Value::Bytes(b)) => Value::Bytes(b.clone()),
                None => Value::Bytes(Rc::from(&[][..])),
                Some(other) => return Err(format!("bytes made from {}", other.describe())),
            },
            other => return Err(format!("REDUCE calls {}", other.describe())),
        };
        self.push(v)
    }

    fn build(&mut self) -> R<()> {
        let state = self.pop()?;
        match self.top()? {
            Value::Array(a) => {
                let filled = NdArray::from_state(&state)?;
                *a.borrow_mut() = Some(filled);
                Ok(())
            }
            Value::Dtype(d) => d.borrow_mut().set_state(&state),
            other => Err(format!("BUILD on {}", other.describe())),
        }
    }

    fn text(b: &[u8]) -> R<Value> {
        let s = std::str::from_utf8(b).map_err(|_| "a str that is not UTF-8")?;
        Ok(Value::Str(s.into()))
    }

    fn int_bytes(b: &[u8]) -> R<Value> {
        if b.len() > 8 {
            return Err(format!("an integer of {} bytes", b.len()));
        }
        let mut v = [0u8; 8];
        v[..b.len()].copy_from_slice(b);
        if b.last().is_some_and(|&x| x & 0x80 != 0) {
            v[b.len()..].fill(0xff);
        }
        Ok(Value::Int(i64::from_le_bytes(v)))
    }

    pub fn run(mut self) -> R<Value> {
        loop {
            let at = self.pos;
            let op = *self
                .take(1)
                .map_err(|_| "ends without STOP".to_string())?
                .first()
                .unwrap_or(&0);
            match op {
                0x80 => {
                    let p = self.take(1)?[0];
                    if p > 5 {
                        return Err(format!("pickle protocol {p} (this reader knows 2 to 5)"));
                    }
                }
                0x95 => {
                    self.uint(8)?; // FRAME: a length hint only
                }
                b'.' => return self.pop(),
                b'(' => {
                    if self.marks.len() >= MAX_ITEMS {
                        return Err("too many marks".into());
                    }
                    self.marks.push(self.stack.len());
                }
                b'0' => drop(self.pop()?),
                b'1' => drop(self.pop_mark()?),
                b'2' => {
                    let v = self.top()?.clone();
                    self.push(v)?;
                }
                b'p' => {
                    let k = self.line()?.parse().map_err(|_| "bad PUT index")?;
                    self.memoize(k)?;
                }
                b'q' => {
                    let k = self.uint(1)? as u32;
                    self.memoize(k)?;
                }
                b'r' => {
                    let k = self.uint(4)? as u32;
                    self.memoize(k)?;
                }
                0x94 => self.memoize(self.memo.len() as u32)?,
                b'g' => {
                    let k = self.line()?.parse().map_err(|_| "bad GET index")?;
                    self.recall(k)?;
                }
                b'h' => {
                    let k = self.uint(1)? as u32;
                    self.recall(k)?;
                }
                b'j' => {
                    let k = self.uint(4)? as u32;
                    self.recall(k)?;
                }
                b'N' => self.push(Value::None)?,
                0x88 => self.push(Value::Bool(true))?,
                0x89 => self.push(Value::Bool(false))?,
                b'J' => {
                    let b = self.take(4)?;
                    self.push(Self::int_bytes(b)?)?;
                }
                b'K' => {
                    let v = self.uint(1)? as i64;
                    self.push(Value::Int(v))?;
                }
                b'M' => {
                    let v = self.uint(2)? as i64;
                    self.push(Value::Int(v))?;
                }
                0x8a => {
                    let b = self.sized(1)?;
                    self.push(Self::int_bytes(b)?)?;
                }
                0x8b => {
                    let b = self.sized(4)?;
                    self.push(Self::int_bytes(b)?)?;
                }
                b'I' | b'L' => {
                    let l = self.line()?.trim_end_matches('L');
                    let v = match l {
                        "00" => Value::Bool(false),
                        "01" => Value::Bool(true),
                        n => Value::Int(n.parse().map_err(|_| format!("bad integer {n:?}"))?),
                    };
                    self.push(v)?;
                }
                b'G' => {
                    let b: [u8; 8] = self.take(8)?.try_into().map_err(|_| "short float")?;
                    self.push(Value::Float(f64::from_be_bytes(b)))?;
                }
                b'F' => {
                    let l = self.line()?;
                    let v = l.parse().map_err(|_| format!("bad float {l:?}"))?;
                    self.push(Value::Float(v))?;
                }
                // Python 2 str (BINSTRING, SHORT_BINSTRING) and Python 3 bytes: raw bytes.
                b'T' | b'B' => {
                    let b = self.sized(4)?;
                    self.push(Value::Bytes(b.into()))?;
                }
                b'U' | b'C' => {
                    let b = self.sized(1)?;
                    self.push(Value::Bytes(b.into()))?;
                }
                0x8e | 0x96 => {
                    let b = self.sized(8)?;
                    self.push(Value::Bytes(b.into()))?;
                }
                b'X' => {
                    let b = self.sized(4)?;
                    self.push(Self::text(b)?)?;
                }
                0x8c => {
                    let b = self.sized(1)?;
                    self.push(Self::text(b)?)?;
                }
                0x8d => {
                    let b = self.sized(8)?;
                    self.push(Self::text(b)?)?;
                }
                b')' => self.push(Value::tuple(vec![])?)?,
                b't' => {
                    let items = self.pop_mark()?;
                    self.push(Value::tuple(items)?)?;
                }
                0x85..=0x87 => {
                    let n = (op - 0x84) as usize;
                    let mut items = (0..n).map(|_| self.pop()).collect::<R<Vec<_>>>()?;
                    items.reverse();
                    self.push(Value::tuple(items)?)?;
                }
                b']' => self.push(Value::List(Rc::new(RefCell::new(Seq::default()))))?,
                b'l' => {
                    let items = self.pop_mark()?;
                    self.push(Value::List(Rc::new(RefCell::new(Seq::default()))))?;
                    self.extend_list(items)?;
                }
                b'a' => {
                    let v = self.pop()?;
                    self.extend_list(vec![v])?;
                }
                b'e' => {
                    let items = self.pop_mark()?;
                    self.extend_list(items)?;
                }
                b'}' => self.push(Value::Dict(Rc::new(RefCell::new(Seq::default()))))?,
                b'd' => {
                    let items = self.pop_mark()?;
                    self.push(Value::Dict(Rc::new(RefCell::new(Seq::default()))))?;
                    self.extend_dict(items)?;
                }
                b's' => {
                    let v = self.pop()?;
                    let k = self.pop()?;
                    self.extend_dict(vec![k, v])?;
                }
                b'u' => {
                    let items = self.pop_mark()?;
                    self.extend_dict(items)?;
                }
                b'c' => {
                    let module = self.line()?.to_string();
                    let name = self.line()?.to_string();
                    self.global(&module, &name)?;
                }
                0x93 => {
                    let name = self.pop()?.text().ok_or("STACK_GLOBAL name is not text")?;
                    let module = self
                        .pop()?
                        .text()
                        .ok_or("STACK_GLOBAL module is not text")?;
                    self.global(&module, &name)?;
                }
                b'R' => self.reduce()?,
                b'b' => self.build()?,
                other => {
                    return Err(format!(
                        "opcode {:?} (0x{other:02x}) at offset {at} is not one this reader takes",
                        other as char
                    ));
                }
            }
        }
    }
}
