//! α → genotype (spec §4.3, quark0 `model_search.py` `genotype()`): per node, rank incoming
//! edges by their strongest non-`none` β, keep the top two (stable: ties keep the lower input),
//! take each kept edge's strongest non-`none` op (first maximum wins), pair order by strength.

use super::{Genotype, STEPS};
use crate::arch_params::softmax_rows;

/// `alphas` = [normal, reduce], row-major `[14, ops.len()]`; `ops` = α column names.
pub fn derive_genotype(alphas: &[Vec<f32>], ops: &[&str]) -> Genotype {
    let k = ops.len();
    let parse = |alpha: &[f32]| -> Vec<(String, usize)> {
        let beta = softmax_rows(alpha, k, 1.0);
        let mut gene = Vec::with_capacity(2 * STEPS);
        let mut start = 0;
        for i in 0..STEPS {
            let n = i + 2;
            let rows: Vec<&[f32]> = (start..start + n)
                .map(|r| &beta[r * k..(r + 1) * k])
                .collect();
            // Best non-none op of each incoming edge: (strength, op index).
            let best: Vec<(f32, usize)> = rows
                .iter()
                .map(|row| {
                    let mut b: Option<(f32, usize)> = None;
                    for (o, &v) in row.iter().enumerate() {
                        if ops[o] == "none" {
                            continue;
                        }
                        if b.is_none_or(|(bv, _)| v > bv) {
                            b = Some((v, o));
                        }
                    }
                    b.unwrap_or((f32::NEG_INFINITY, 0))
                })
                .collect();
            let mut order: Vec<usize> = (0..n).collect();
            order.sort_by(|&a, &b| best[b].0.total_cmp(&best[a].0)); // stable, descending
            for &j in order.iter().take(2) {
                gene.push((ops[best[j].1].to_string(), j));
            }
            start += n;
        }
        gene
    };
    Genotype {
        normal: parse(&alphas[0]),
        normal_concat: (2..2 + STEPS).collect(),
        reduce: parse(&alphas[1]),
        reduce_concat: (2..2 + STEPS).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::darts::PRIMITIVES;

    fn alpha(set: &[(usize, usize, f32)]) -> Vec<f32> {
        let mut a = vec![0.0f32; 14 * 8];
        for &(row, op, v) in set {
            a[row * 8 + op] = v;
        }
        a
    }

    #[test]
    fn none_is_excluded_and_top_two_are_ordered_by_strength() {
        // Node 0 (rows 0, 1): row 1 has a big `none` but a weaker best real op than row 0.
        // Node 1 (rows 2..5): rows 4 > 2 > 3 by their best non-none op.
        let a = alpha(&[
            (0, 4, 2.0),
            (1, 0, 9.0),
            (1, 5, 1.0),
            (2, 3, 1.5),
            (3, 6, 1.0),
            (4, 7, 3.0),
        ]);
        let g = derive_genotype(&[a.clone(), a], &PRIMITIVES);
        // β of none in row 1 is huge, so its other ops are tiny: row 0 ranks first.
        assert_eq!(g.normal[0], ("sep_conv_3x3".into(), 0));
        assert_eq!(g.normal[1], ("sep_conv_5x5".into(), 1));
        assert_eq!(g.normal[2], ("dil_conv_5x5".into(), 2));
        assert_eq!(g.normal[3], ("skip_connect".into(), 0));
        assert!(g.normal.iter().all(|(o, _)| o != "none"));
        g.validate().unwrap();
    }

    #[test]
    fn ties_keep_the_lower_input_and_first_op() {
        let a = vec![0.0f32; 14 * 8];
        let g = derive_genotype(&[a.clone(), a], &PRIMITIVES);
        // All β equal: inputs 0 and 1 for every node, op = first non-none (max_pool_3x3).
        for i in 0..4 {
            assert_eq!(g.normal[2 * i], ("max_pool_3x3".into(), 0));
            assert_eq!(g.normal[2 * i + 1], ("max_pool_3x3".into(), 1));
        }
    }

    #[test]
    fn normal_and_reduce_come_from_their_own_alpha() {
        let normal = alpha(&[(0, 3, 5.0)]);
        let reduce = alpha(&[(1, 1, 5.0)]);
        let g = derive_genotype(&[normal, reduce], &PRIMITIVES);
        assert_eq!(g.normal[0], ("skip_connect".into(), 0));
        assert_eq!(g.reduce[0], ("max_pool_3x3".into(), 1));
    }

    #[test]
    fn seven_op_space_has_nothing_to_exclude() {
        let ops = &PRIMITIVES[1..];
        let mut a = vec![0.0f32; 14 * 7];
        a[5] = 1.0; // row 0: dil_conv_3x3
        let g = derive_genotype(&[a.clone(), a], ops);
        assert_eq!(g.normal[0], ("dil_conv_3x3".into(), 0));
    }
}
