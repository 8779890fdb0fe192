//! numpy arrays as pickles carry them: `_reconstruct` + BUILD state `(version, shape, dtype,
//! is_fortran, raw bytes)` up to protocol 4, `_frombuffer(buffer, dtype, shape, order)` from
//! protocol 5, and `dtype('u1', False, True)` + BUILD `(3, byte order, …)` for their types.
//! Arrays are kept as raw bytes in C order; only the readers that need values decode them.

use std::rc::Rc;

use super::value::Value;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dtype {
    /// numpy's kind: `u`, `i`, `f`, `b` (bool).
    pub kind: char,
    pub size: usize,
    pub big_endian: bool,
}

impl Dtype {
    /// From numpy's short name (`u1`, `i8`, `f4`, `b1`), as `dtype.__reduce__` writes it.
    pub fn parse(name: &str) -> Result<Dtype, String> {
        let mut chars = name.chars();
        let kind = chars.next().unwrap_or(' ');
        let size: usize = chars.as_str().parse().unwrap_or(0);
        let ok = match kind {
            'u' | 'i' => matches!(size, 1 | 2 | 4 | 8),
            'f' => matches!(size, 2 | 4 | 8),
            'b' => size == 1,
            _ => false,
        };
        if !ok {
            return Err(format!(
                "numpy dtype {name:?} is not supported (numbers and bools only)"
            ));
        }
        Ok(Dtype {
            kind,
            size,
            big_endian: false,
        })
    }

    pub fn name(&self) -> String {
        let order = if self.size > 1 && self.big_endian {
            ">"
        } else {
            ""
        };
        format!("{order}{}{}", self.kind, self.size)
    }

    /// BUILD's state `(3, '<'|'>'|'|'|'=', …)` sets the byte order.
    pub fn set_state(&mut self, state: &Value) -> Result<(), String> {
        let order = state
            .items()
            .and_then(|s| s.get(1).and_then(Value::text))
            .ok_or_else(|| format!("bad numpy dtype state: {}", state.describe()))?;
        self.big_endian = order == ">" || (order == "=" && cfg!(target_endian = "big"));
        Ok(())
    }
}

#[derive(Debug, Clone)]
pub struct NdArray {
    pub dtype: Dtype,
    pub shape: Vec<usize>,
    /// Row-major (C order) raw values.
    pub data: Rc<[u8]>,
}

fn shape_of(v: &Value) -> Result<Vec<usize>, String> {
    let items = v
        .items()
        .ok_or_else(|| format!("numpy shape is {}, not a tuple", v.describe()))?;
    items
        .iter()
        .map(|d| match d {
            Value::Int(n) if *n >= 0 => Ok(*n as usize),
            other => Err(format!("numpy shape holds {}", other.describe())),
        })
        .collect()
}

fn dtype_of(v: &Value) -> Result<Dtype, String> {
    match v {
        Value::Dtype(d) => Ok(*d.borrow()),
        other => Err(format!(
            "expected a numpy dtype, found {}",
            other.describe()
        )),
    }
}

fn raw_of(v: &Value) -> Result<Rc<[u8]>, String> {
    match v {
        Value::Bytes(b) => Ok(b.clone()),
        Value::List(_) => Err("numpy array of Python objects (dtype=object): not supported".into()),
        other => Err(format!("numpy array data is {}", other.describe())),
    }
}

impl NdArray {
    /// Checks the size and brings Fortran-ordered data into C order.
    fn new(dtype: Dtype, shape: Vec<usize>, data: Rc<[u8]>, fortran: bool) -> Result<Self, String> {
        let count = shape
            .iter()
            .try_fold(1usize, |a, &d| a.checked_mul(d))
            .and_then(|n| n.checked_mul(dtype.size))
            .ok_or_else(|| format!("numpy shape {shape:?} is too large"))?;
        if count != data.len() {
            return Err(format!(
                "numpy array {} {shape:?} needs {count} bytes of data, the pickle holds {}",
                dtype.name(),
                data.len()
            ));
        }
        let data = if fortran && shape.len() > 1 {
            to_c_order(&data, &shape, dtype.size).into()
        } else {
            data
        };
        Ok(NdArray { dtype, shape, data })
    }

    /// BUILD on `_reconstruct`'s empty array: `(version, shape, dtype, is_fortran, raw)`, or the
    /// four-item form without the version.
    pub fn from_state(state: &Value) -> Result<Self, String> {
        let s = state
            .items()
            .ok_or_else(|| format!("bad numpy array state: {}", state.describe()))?;
        let s = match s.len() {
            5 => &s[1..],
            4 => &s[..],
            n => return Err(format!("numpy array state has {n} items, expected 4 or 5")),
        };
        let fortran = matches!(s[2], Value::Bool(true) | Value::Int(1));
        Self::new(dtype_of(&s[1])?, shape_of(&s[0])?, raw_of(&s[3])?, fortran)
    }

    /// `_frombuffer(buffer, dtype, shape, order)`.
    pub fn from_buffer(args: &[Value]) -> Result<Self, String> {
        let [buf, dtype, shape, order] = args else {
            return Err(format!("_frombuffer takes 4 arguments, got {}", args.len()));
        };
        let fortran = order.text().as_deref() == Some("F");
        Self::new(dtype_of(dtype)?, shape_of(shape)?, raw_of(buf)?, fortran)
    }

    /// Values of an integer or bool array.
    pub fn ints(&self) -> Result<Vec<i64>, String> {
        let Dtype {
            kind,
            size,
            big_endian,
        } = self.dtype;
        if !matches!(kind, 'u' | 'i' | 'b') {
            return Err(format!(
                "expected integers, found a {} array",
                self.dtype.name()
            ));
        }
        Ok(self
            .data
            .chunks_exact(size)
            .map(|c| int_of(c, kind == 'i', big_endian))
            .collect())
    }
}

/// One integer from `size` raw bytes (wrapping for u8 values above i64::MAX: not labels).
fn int_of(c: &[u8], signed: bool, big_endian: bool) -> i64 {
    let mut b = [0u8; 8];
    let n = c.len();
    if big_endian {
        b[8 - n..].copy_from_slice(c);
        b.reverse();
    } else {
        b[..n].copy_from_slice(c);
    }
    let negative = signed && (b[n - 1] & 0x80) != 0;
    if negative {
        b[n..].fill(0xff);
    }
    i64::from_le_bytes(b)
}

/// `numpy.core.multiarray.scalar(dtype, raw)`: a numpy number as a plain value.
pub fn scalar(args: &[Value]) -> Result<Value, String> {
    let [dtype, raw] = args else {
        return Err(format!(
            "numpy scalar takes 2 arguments, got {}",
            args.len()
        ));
    };
    let a = NdArray::new(dtype_of(dtype)?, vec![], raw_of(raw)?, false)?;
    match a.dtype.kind {
        'f' if a.dtype.size == 8 => {
            let mut b: [u8; 8] = a.data[..8].try_into().map_err(|_| "bad float")?;
            if a.dtype.big_endian {
                b.reverse();
            }
            Ok(Value::Float(f64::from_le_bytes(b)))
        }
        'f' => Err(format!("numpy scalar {} is not supported", a.dtype.name())),
        _ => Ok(Value::Int(a.ints()?[0])),
    }
}

/// Row-major copy of column-major data.
fn to_c_order(data: &[u8], shape: &[usize], size: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len());
    let n: usize = shape.iter().product();
    // Column-major strides, in elements.
    let mut fstride = vec![1usize; shape.len()];
    for d in 1..shape.len() {
        fstride[d] = fstride[d - 1] * shape[d - 1];
    }
    let mut idx = vec![0usize; shape.len()];
    for _ in 0..n {
        let off: usize = idx.iter().zip(&fstride).map(|(i, s)| i * s).sum();
        out.extend_from_slice(&data[off * size..(off + 1) * size]);
        for d in (0..shape.len()).rev() {
            idx[d] += 1;
            if idx[d] < shape[d] {
                break;
            }
            idx[d] = 0;
        }
    }
    out
}
