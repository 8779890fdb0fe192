//! A small reader for the Python literal form papers' repositories print:
//! `Genotype(normal=[('sep_conv_3x3', 0), …], normal_concat=range(2, 6), …)` — lists, tuples,
//! strings, ints and `range(a, b)`, bounded.

use super::Genotype;
use crate::{Error, Result};

/// Longest `range(a, b)` the Python-form reader expands.
const MAX_RANGE: i64 = 1024;

#[derive(Debug, Clone)]
enum Value {
    Str(String),
    Int(i64),
    List(Vec<Value>),
}

struct P<'a> {
    s: &'a [u8],
    i: usize,
}

impl P<'_> {
    fn err(&self, m: &str) -> Error {
        Error::Invalid(format!(
            "genotype (Python form), at character {}: {m}",
            self.i
        ))
    }
    fn ws(&mut self) {
        while self.i < self.s.len() && (self.s[self.i] as char).is_whitespace() {
            self.i += 1;
        }
    }
    fn eat(&mut self, c: u8) -> bool {
        self.ws();
        if self.s.get(self.i) == Some(&c) {
            self.i += 1;
            true
        } else {
            false
        }
    }
    fn ident(&mut self) -> String {
        self.ws();
        let start = self.i;
        while self.i < self.s.len()
            && (self.s[self.i].is_ascii_alphanumeric() || self.s[self.i] == b'_')
        {
            self.i += 1;
        }
        String::from_utf8_lossy(&self.s[start..self.i]).into_owned()
    }
    fn value(&mut self) -> Result<Value> {
        self.ws();
        match self.s.get(self.i) {
            Some(b'[') | Some(b'(') => {
                let close = if self.s[self.i] == b'[' { b']' } else { b')' };
                self.i += 1;
                let mut items = Vec::new();
                loop {
                    if self.eat(close) {
                        return Ok(Value::List(items));
                    }
                    items.push(self.value()?);
                    if !self.eat(b',') {
                        if self.eat(close) {
                            return Ok(Value::List(items));
                        }
                        return Err(self.err("expected ',' or a closing bracket"));
                    }
                }
            }
            Some(&q) if q == b'\'' || q == b'"' => {
                self.i += 1;
                let start = self.i;
                while self.i < self.s.len() && self.s[self.i] != q {
                    self.i += 1;
                }
                if self.i >= self.s.len() {
                    return Err(self.err("unterminated string"));
                }
                let v = String::from_utf8_lossy(&self.s[start..self.i]).into_owned();
                self.i += 1;
                Ok(Value::Str(v))
            }
            Some(c) if c.is_ascii_digit() || *c == b'-' => {
                let start = self.i;
                self.i += 1;
                while self.i < self.s.len() && self.s[self.i].is_ascii_digit() {
                    self.i += 1;
                }
                let t = String::from_utf8_lossy(&self.s[start..self.i]).into_owned();
                t.parse()
                    .map(Value::Int)
                    .map_err(|_| self.err("bad integer"))
            }
            _ => {
                let name = self.ident();
                if name == "range" {
                    let Value::List(args) = self.value()? else {
                        return Err(self.err("range needs arguments"));
                    };
                    let n: Vec<i64> = args
                        .iter()
                        .filter_map(|a| {
                            if let Value::Int(i) = a {
                                Some(*i)
                            } else {
                                None
                            }
                        })
                        .collect();
                    let (a, b) = match n.as_slice() {
                        [b] => (0, *b),
                        [a, b] => (*a, *b),
                        _ => return Err(self.err("range(a, b) expected")),
                    };
                    // A concat list names cell nodes; no genotype has more than a few.
                    if b.saturating_sub(a) > MAX_RANGE {
                        return Err(self.err(&format!(
                            "range({a}, {b}) is longer than {MAX_RANGE}: not a cell's node list"
                        )));
                    }
                    Ok(Value::List((a..b).map(Value::Int).collect()))
                } else {
                    Err(self.err(&format!(
                        "unexpected {:?}",
                        if name.is_empty() {
                            "symbol".to_string()
                        } else {
                            name
                        }
                    )))
                }
            }
        }
    }
}

fn cell(v: &Value, key: &str) -> Result<Vec<(String, usize)>> {
    let Value::List(items) = v else {
        return Err(Error::Invalid(format!(
            "{key}: expected a list of (op, input) pairs"
        )));
    };
    items
        .iter()
        .enumerate()
        .map(|(i, it)| match it {
            Value::List(p) => match p.as_slice() {
                [Value::Str(op), Value::Int(j)] if *j >= 0 => Ok((op.clone(), *j as usize)),
                _ => Err(Error::Invalid(format!(
                    "{key}[{i}]: expected ('op', input)"
                ))),
            },
            _ => Err(Error::Invalid(format!(
                "{key}[{i}]: expected ('op', input)"
            ))),
        })
        .collect()
}

fn ints(v: &Value, key: &str) -> Result<Vec<usize>> {
    let Value::List(items) = v else {
        return Err(Error::Invalid(format!("{key}: expected a list or range")));
    };
    items
        .iter()
        .map(|it| match it {
            Value::Int(i) if *i >= 0 => Ok(*i as usize),
            _ => Err(Error::Invalid(format!(
                "{key}: expected non-negative integers"
            ))),
        })
        .collect()
}

pub(super) fn parse(text: &str) -> Result<Genotype> {
    let start = text.find("Genotype(").ok_or_else(|| {
        Error::Invalid(
            "not a genotype: expected JSON ({\"normal\": …}) or Python Genotype(normal=…)".into(),
        )
    })?;
    let mut p = P {
        s: text.as_bytes(),
        i: start + "Genotype(".len(),
    };
    let (mut normal, mut nc, mut reduce, mut rc) = (None, None, None, None);
    loop {
        if p.eat(b')') {
            break;
        }
        let key = p.ident();
        if !p.eat(b'=') {
            return Err(p.err("expected key=value"));
        }
        let v = p.value()?;
        match key.as_str() {
            "normal" => normal = Some(cell(&v, "normal")?),
            "reduce" => reduce = Some(cell(&v, "reduce")?),
            "normal_concat" => nc = Some(ints(&v, "normal_concat")?),
            "reduce_concat" => rc = Some(ints(&v, "reduce_concat")?),
            other => return Err(p.err(&format!("unknown field {other:?}"))),
        }
        if !p.eat(b',') {
            if p.eat(b')') {
                break;
            }
            return Err(p.err("expected ',' or ')'"));
        }
    }
    let missing = |k: &str| Error::Invalid(format!("genotype: missing {k}"));
    Ok(Genotype {
        normal: normal.ok_or_else(|| missing("normal"))?,
        normal_concat: nc.ok_or_else(|| missing("normal_concat"))?,
        reduce: reduce.ok_or_else(|| missing("reduce"))?,
        reduce_concat: rc.ok_or_else(|| missing("reduce_concat"))?,
    })
}
