//! NB201 arch strings (`|op~0|+|op~0|op~1|+|op~0|op~1|op~2|`) and their derivation from α.

use std::fmt;
use std::str::FromStr;

use super::Op;
use crate::Error;

/// α column order, as in the NB201 / β-DARTS code.
pub const OPS: [&str; Op::ALL.len()] = Op::NAMES;

/// Edges per cell: 1←0, 2←0, 2←1, 3←0, 3←1, 3←2 (sorted "i<-j" keys).
pub const NUM_EDGES: usize = 6;

/// Index of edge `to ← from` in α's rows.
pub fn edge_index(to: usize, from: usize) -> usize {
    debug_assert!(from < to && (1..=3).contains(&to));
    to * (to - 1) / 2 + from
}

/// `(to, from)` of edge `e`.
pub fn edge_nodes(e: usize) -> (usize, usize) {
    let to = (1..=3).find(|&t| e < t * (t + 1) / 2).unwrap_or(3);
    (to, e - to * (to - 1) / 2)
}

/// A discrete NB201 cell: one op per edge, in edge order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Arch(pub [Op; NUM_EDGES]);

impl Arch {
    /// Argmax over all five ops per edge (`none` included); ties pick the first index.
    /// `alpha` is row-major `[6, 5]`.
    pub fn derive(alpha: &[f32]) -> Result<Arch, Error> {
        if alpha.len() != NUM_EDGES * OPS.len() {
            return Err(Error::Invalid(format!(
                "NB201 α must have {}×{} values, got {}",
                NUM_EDGES,
                OPS.len(),
                alpha.len()
            )));
        }
        let mut ops = [Op::None; NUM_EDGES];
        for (e, row) in alpha.chunks(OPS.len()).enumerate() {
            let mut best = 0;
            for k in 1..row.len() {
                if row[k] > row[best] {
                    best = k;
                }
            }
            ops[e] = Op::ALL[best];
        }
        Ok(Arch(ops))
    }

    pub fn op(&self, to: usize, from: usize) -> Op {
        self.0[edge_index(to, from)]
    }

    /// Number of edges whose op is `op`.
    pub fn count(&self, op: Op) -> usize {
        self.0.iter().filter(|&&o| o == op).count()
    }
}

impl fmt::Display for Arch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for to in 1..=3 {
            if to > 1 {
                write!(f, "+")?;
            }
            write!(f, "|")?;
            for from in 0..to {
                write!(f, "{}~{}|", self.op(to, from).name(), from)?;
            }
        }
        Ok(())
    }
}

impl FromStr for Arch {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = |why: String| Error::Invalid(format!("arch string {s:?}: {why}"));
        let nodes: Vec<&str> = s.trim().split('+').collect();
        if nodes.len() != 3 {
            return Err(bad(format!(
                "expected 3 nodes joined by '+', found {}",
                nodes.len()
            )));
        }
        let mut ops = [Op::None; NUM_EDGES];
        for (i, node) in nodes.iter().enumerate() {
            let to = i + 1;
            let inner = node
                .strip_prefix('|')
                .and_then(|n| n.strip_suffix('|'))
                .ok_or_else(|| bad(format!("node {to} must look like |op~j|…|")))?;
            let entries: Vec<&str> = inner.split('|').collect();
            if entries.len() != to {
                return Err(bad(format!(
                    "node {to} needs {to} inputs, found {}",
                    entries.len()
                )));
            }
            for (from, entry) in entries.iter().enumerate() {
                let (name, j) = entry
                    .split_once('~')
                    .ok_or_else(|| bad(format!("entry {entry:?} is not op~input")))?;
                let op = Op::from_name(name).ok_or_else(|| {
                    bad(format!(
                        "unknown op {name:?}; NB201 ops are {}",
                        OPS.join(", ")
                    ))
                })?;
                if j.parse::<usize>().ok() != Some(from) {
                    return Err(bad(format!(
                        "entry {entry:?} of node {to}: input must be {from}"
                    )));
                }
                ops[edge_index(to, from)] = op;
            }
        }
        Ok(Arch(ops))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ARCH_9930: &str = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|";

    #[test]
    fn edge_order_is_the_sorted_key_order() {
        let expect = [(1, 0), (2, 0), (2, 1), (3, 0), (3, 1), (3, 2)];
        for (e, &(to, from)) in expect.iter().enumerate() {
            assert_eq!(edge_index(to, from), e);
            assert_eq!(edge_nodes(e), (to, from));
        }
    }

    #[test]
    fn arch_string_round_trips() {
        let a: Arch = ARCH_9930.parse().unwrap();
        assert_eq!(a.to_string(), ARCH_9930);
        assert_eq!(a.op(3, 0), Op::Skip);
        assert_eq!(a.0[3], Op::Skip);
        assert_eq!(a.count(Op::Conv3x3), 5);
    }

    #[test]
    fn malformed_strings_are_rejected_with_the_reason() {
        let e = "|nor_conv_3x3~0|+|bogus~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|"
            .parse::<Arch>()
            .unwrap_err()
            .to_string();
        assert!(e.contains("unknown op \"bogus\""), "{e}");
        let e = "|nor_conv_3x3~0|".parse::<Arch>().unwrap_err().to_string();
        assert!(e.contains("3 nodes"), "{e}");
        let e = "|nor_conv_3x3~1|+|none~0|none~1|+|none~0|none~1|none~2|"
            .parse::<Arch>()
            .unwrap_err();
        assert!(e.to_string().contains("input must be 0"));
    }

    #[test]
    fn derivation_takes_argmax_and_can_pick_none() {
        let k = Op::ALL.len();
        let mut alpha = vec![0.0f32; NUM_EDGES * k];
        // Edge 0: none is largest. Edge 5: avg_pool. Others: ties → first (none).
        alpha[0] = 1.0;
        alpha[5 * k + Op::AvgPool3x3.index()] = 0.5;
        alpha[2 * k + Op::Conv3x3.index()] = 0.3;
        let a = Arch::derive(&alpha).unwrap();
        assert_eq!(a.0[0], Op::None);
        assert_eq!(a.0[5], Op::AvgPool3x3);
        assert_eq!(a.0[2], Op::Conv3x3);
        assert_eq!(a.0[1], Op::None, "all-zero row ties to the first op");
        assert!(Arch::derive(&vec![0.0; NUM_EDGES * k - 1]).is_err());
    }
}
