//! Unpickled values. Containers are shared, as in Python (a memoised list that is appended to
//! later is the same list everywhere), and sealed once placed inside another container: after
//! that they cannot change, so every container's nesting depth is known when it is built, and
//! no value can contain itself.

use std::cell::RefCell;
use std::rc::Rc;

use super::MAX_DEPTH;
use super::numpy::{Dtype, NdArray};

/// A list, a dict's items or a tuple's items, with its nesting depth.
#[derive(Debug)]
pub struct Seq<T> {
    pub items: Vec<T>,
    pub depth: usize,
    pub sealed: bool,
}

impl<T> Default for Seq<T> {
    fn default() -> Self {
        Seq {
            items: Vec::new(),
            depth: 0,
            sealed: false,
        }
    }
}

/// The callables a pickle of numpy data names (module and name resolved, nothing imported).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Callable {
    /// `numpy.core.multiarray._reconstruct`: an empty array that BUILD fills.
    Reconstruct,
    /// `numpy.ndarray`, `_reconstruct`'s first argument.
    NdarrayType,
    /// `numpy.dtype`.
    Dtype,
    /// `numpy.core.numeric._frombuffer`: protocol-5 arrays.
    FromBuffer,
    /// `numpy.core.multiarray.scalar`: a numpy scalar (an `np.int64` label, say).
    Scalar,
    /// `_codecs.encode`: bytes pickled by Python 3 at protocol 2, as latin-1 text.
    Encode,
    /// `bytearray`.
    Bytearray,
}

#[derive(Debug, Clone)]
pub enum Value {
    None,
    Bool(bool),
    Int(i64),
    Float(f64),
    Bytes(Rc<[u8]>),
    Str(Rc<str>),
    Tuple(Rc<Seq<Value>>),
    List(Rc<RefCell<Seq<Value>>>),
    Dict(Rc<RefCell<Seq<(Value, Value)>>>),
    Callable(Callable),
    /// An array: `None` between `_reconstruct` and the BUILD that fills it.
    Array(Rc<RefCell<Option<NdArray>>>),
    Dtype(Rc<RefCell<Dtype>>),
}

impl Value {
    /// Seals a container that is being placed in another and returns its depth (0 for
    /// scalars); refuses a container nested deeper than [`MAX_DEPTH`].
    pub fn seal(&self) -> Result<usize, String> {
        let depth = match self {
            Value::Tuple(t) => t.depth,
            Value::List(l) => {
                let mut l = l.borrow_mut();
                l.sealed = true;
                l.depth
            }
            Value::Dict(d) => {
                let mut d = d.borrow_mut();
                d.sealed = true;
                d.depth
            }
            _ => 0,
        };
        if depth >= MAX_DEPTH {
            return Err(format!("containers nested deeper than {MAX_DEPTH}"));
        }
        Ok(depth)
    }

    pub fn tuple(items: Vec<Value>) -> Result<Value, String> {
        let mut depth = 0;
        for v in &items {
            depth = depth.max(v.seal()? + 1);
        }
        Ok(Value::Tuple(Rc::new(Seq {
            items,
            depth,
            sealed: true,
        })))
    }

    /// The short type name Python would print, with a size where it helps.
    pub fn describe(&self) -> String {
        match self {
            Value::None => "None".into(),
            Value::Bool(_) => "bool".into(),
            Value::Int(_) => "int".into(),
            Value::Float(_) => "float".into(),
            Value::Bytes(b) => format!("bytes of length {}", b.len()),
            Value::Str(s) => format!("str of length {}", s.chars().count()),
            Value::Tuple(t) => format!("tuple of {}", t.items.len()),
            Value::List(l) => format!("list of {}", l.borrow().items.len()),
            Value::Dict(d) => format!("dict of {}", d.borrow().items.len()),
            Value::Callable(c) => format!("{c:?}"),
            Value::Array(a) => match &*a.borrow() {
                Some(a) => format!("numpy array {} {:?}", a.dtype.name(), a.shape),
                None => "numpy array without data".into(),
            },
            Value::Dtype(d) => format!("numpy dtype {}", d.borrow().name()),
        }
    }

    /// Text of a `str`, or of Python 2 bytes (which dataset files use for keys and names).
    pub fn text(&self) -> Option<String> {
        match self {
            Value::Str(s) => Some(s.to_string()),
            Value::Bytes(b) => Some(String::from_utf8_lossy(b).into_owned()),
            _ => None,
        }
    }

    /// `self[key]` of a dict whose keys are `str` or (Python 2) bytes.
    pub fn get(&self, key: &str) -> Option<Value> {
        let Value::Dict(d) = self else { return None };
        let d = d.borrow();
        d.items
            .iter()
            .find(|(k, _)| match k {
                Value::Str(s) => &**s == key,
                Value::Bytes(b) => &**b == key.as_bytes(),
                _ => false,
            })
            .map(|(_, v)| v.clone())
    }

    /// The keys of a dict that are text, for "expected one of" messages.
    pub fn keys(&self) -> Vec<String> {
        match self {
            Value::Dict(d) => d
                .borrow()
                .items
                .iter()
                .filter_map(|(k, _)| k.text())
                .collect(),
            _ => vec![],
        }
    }

    /// The items of a list or tuple.
    pub fn items(&self) -> Option<Vec<Value>> {
        match self {
            Value::List(l) => Some(l.borrow().items.clone()),
            Value::Tuple(t) => Some(t.items.clone()),
            _ => None,
        }
    }

    /// The array this value holds, when it is a filled numpy array.
    pub fn array(&self) -> Option<NdArray> {
        match self {
            Value::Array(a) => a.borrow().clone(),
            _ => None,
        }
    }

    /// Integers of a list (Python or numpy ints) or of an integer array.
    pub fn int_vec(&self) -> Result<Vec<i64>, String> {
        if let Some(a) = self.array() {
            return a.ints();
        }
        let items = self
            .items()
            .ok_or_else(|| format!("expected a list of ints, found {}", self.describe()))?;
        items
            .iter()
            .enumerate()
            .map(|(i, v)| match v {
                Value::Int(x) => Ok(*x),
                Value::Bool(b) => Ok(*b as i64),
                other => Err(format!("item {i} is {}, not an int", other.describe())),
            })
            .collect()
    }
}
