//! Genotypes: the discrete DARTS cell as data. JSON form (the DARTS namedtuple as JSON):
//!
//! ```json
//! {"normal": [["sep_conv_3x3", 0], ["sep_conv_3x3", 1], …8 pairs],
//!  "normal_concat": [2, 3, 4, 5],
//!  "reduce": [["max_pool_3x3", 0], …8 pairs],
//!  "reduce_concat": [2, 3, 4, 5]}
//! ```
//!
//! Pairs 2i and 2i+1 feed intermediate node i; an input index is 0 (c_{k-2}), 1 (c_{k-1}) or
//! j ≥ 2 (intermediate node j−2). The Python form that papers' repositories print,
//! `Genotype(normal=[('sep_conv_3x3', 0), …], normal_concat=range(2, 6), …)`, is read too.

use std::fmt;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::ops::Op;
use crate::{Error, Result};

mod python;

/// Intermediate nodes per cell.
pub const STEPS: usize = 4;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Genotype {
    pub normal: Vec<(String, usize)>,
    pub normal_concat: Vec<usize>,
    pub reduce: Vec<(String, usize)>,
    pub reduce_concat: Vec<usize>,
}

impl Genotype {
    /// Checks op names, edge counts, input indices and concat lists; the error names the entry.
    pub fn validate(&self) -> Result<()> {
        for (name, cell, concat) in [
            ("normal", &self.normal, &self.normal_concat),
            ("reduce", &self.reduce, &self.reduce_concat),
        ] {
            if cell.len() != 2 * STEPS {
                return Err(Error::Invalid(format!(
                    "{name}: expected {} (op, input) pairs (2 per node × {STEPS} nodes), found {}",
                    2 * STEPS,
                    cell.len()
                )));
            }
            for (i, (op, input)) in cell.iter().enumerate() {
                if Op::from_name(op).is_none() {
                    return Err(Error::Invalid(format!(
                        "{name}[{i}]: unknown op {op:?}; known ops: {}",
                        super::PRIMITIVES.join(", ")
                    )));
                }
                let node = i / 2;
                if *input >= node + 2 {
                    return Err(Error::Invalid(format!(
                        "{name}[{i}]: input index {input} out of range for node {node} (0..={})",
                        node + 1
                    )));
                }
            }
            if concat.is_empty() {
                return Err(Error::Invalid(format!("{name}_concat: empty")));
            }
            for (i, &c) in concat.iter().enumerate() {
                if !(2..2 + STEPS).contains(&c) {
                    return Err(Error::Invalid(format!(
                        "{name}_concat[{i}]: {c} is not an intermediate node (2..={})",
                        STEPS + 1
                    )));
                }
            }
        }
        Ok(())
    }

    /// The JSON form (one field per line, as `genotype.json` is written).
    pub fn to_json(&self) -> String {
        let [n, nc, r, rc] = self.fields(|o, i| format!("[\"{o}\", {i}]"));
        format!(
            "{{\n  \"normal\": [{n}],\n  \"normal_concat\": [{nc}],\n  \"reduce\": [{r}],\n  \"reduce_concat\": [{rc}]\n}}\n"
        )
    }

    /// The four fields' list contents, each pair written by `pair(op, input)`.
    fn fields(&self, pair: impl Fn(&str, usize) -> String) -> [String; 4] {
        let cell = |c: &[(String, usize)]| {
            c.iter()
                .map(|(o, i)| pair(o, *i))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let ints = |v: &[usize]| {
            v.iter()
                .map(|i| i.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        };
        [
            cell(&self.normal),
            ints(&self.normal_concat),
            cell(&self.reduce),
            ints(&self.reduce_concat),
        ]
    }

    /// Parses JSON or the Python `Genotype(...)` form, then validates.
    pub fn parse(text: &str) -> Result<Genotype> {
        let t = text.trim();
        let g = if t.starts_with('{') {
            serde_json::from_str::<Genotype>(t)
                .map_err(|e| Error::Invalid(format!("genotype JSON: {e}")))?
        } else {
            python::parse(t)?
        };
        g.validate()?;
        Ok(g)
    }

    /// Reads a genotype file; errors name the file.
    pub fn load(path: &Path) -> Result<Genotype> {
        let text = betadarts_data::files::read_text(path)?;
        Genotype::parse(&text).map_err(|e| Error::format(path, e.to_string()))
    }

    pub fn save(&self, path: &Path) -> Result<()> {
        crate::run_dir::write_atomic(path, self.to_json().as_bytes())
    }

    /// Share of the 16 edges (normal and reduce) that are skip-connections.
    pub fn skip_share(&self) -> f64 {
        let all = self.normal.iter().chain(&self.reduce);
        all.clone().filter(|(o, _)| o == "skip_connect").count() as f64 / all.count() as f64
    }

    /// Share of skip-connections in the normal cell (the collapse measure of the papers).
    pub fn normal_skip_count(&self) -> usize {
        self.normal
            .iter()
            .filter(|(o, _)| o == "skip_connect")
            .count()
    }
}

/// The Python form (`Genotype(normal=[('sep_conv_3x3', 0), …], …)`), as the papers print it.
impl fmt::Display for Genotype {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let [n, nc, r, rc] = self.fields(|o, i| format!("('{o}', {i})"));
        write!(
            f,
            "Genotype(normal=[{n}], normal_concat=[{nc}], reduce=[{r}], reduce_concat=[{rc}])"
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DARTS_V2_PY: &str = "DARTS_V2 = Genotype(normal=[('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 1), ('skip_connect', 0), ('skip_connect', 0), ('dil_conv_3x3', 2)], normal_concat=[2, 3, 4, 5], reduce=[('max_pool_3x3', 0), ('max_pool_3x3', 1), ('skip_connect', 2), ('max_pool_3x3', 1), ('max_pool_3x3', 0), ('skip_connect', 2), ('skip_connect', 2), ('max_pool_3x3', 1)], reduce_concat=range(2, 6))";

    #[test]
    fn python_form_json_round_trip() {
        let g = Genotype::parse(DARTS_V2_PY).unwrap();
        assert_eq!(g.normal[7], ("dil_conv_3x3".to_string(), 2));
        assert_eq!(g.reduce_concat, vec![2, 3, 4, 5]);
        let again = Genotype::parse(&g.to_json()).unwrap();
        assert_eq!(again, g);
        assert_eq!(
            Genotype::parse(&g.to_string()).unwrap(),
            g,
            "Display is the Python form"
        );
        assert_eq!(g.normal_skip_count(), 2);
    }

    #[test]
    fn a_huge_python_range_is_an_error_not_an_allocation() {
        let text = DARTS_V2_PY.replace("range(2, 6)", "range(2, 100000000000)");
        let e = Genotype::parse(&text).unwrap_err().to_string();
        assert!(
            e.contains("range(2, 100000000000) is longer than 1024"),
            "{e}"
        );
    }

    #[test]
    fn malformed_genotypes_name_the_entry() {
        let g = Genotype::parse(DARTS_V2_PY).unwrap();
        let mut bad = g.clone();
        bad.reduce[3].0 = "sep_conv_7x7".into();
        let e = bad.validate().unwrap_err().to_string();
        assert!(e.contains("reduce[3]") && e.contains("sep_conv_7x7"), "{e}");
        let mut bad = g.clone();
        bad.normal[2].1 = 3; // node 1 has inputs 0..=2
        let e = bad.validate().unwrap_err().to_string();
        assert!(
            e.contains("normal[2]") && e.contains("input index 3"),
            "{e}"
        );
        let mut bad = g.clone();
        bad.normal.pop();
        assert!(bad.validate().unwrap_err().to_string().contains("found 7"));
        let e = Genotype::parse("{\"normal\": 3}").unwrap_err().to_string();
        assert!(e.contains("genotype JSON"), "{e}");
        let e = Genotype::parse("Genotype(normal=[('a', 0)")
            .unwrap_err()
            .to_string();
        assert!(e.contains("Python form"), "{e}");
    }
}
