//! The rewritten plan against tract's own (an independent implementation of the same convs).

use super::*;
use crate::depthwise::Depthwise;
use tract_onnx::tract_core::ops::Downsample;
use tract_onnx::tract_core::ops::cnn::PaddingSpec;
use tract_onnx::tract_core::ops::math::max;

pub(super) fn values(n: usize, seed: f32) -> Vec<f32> {
    (0..n)
        .map(|i| (i as f32 * 0.37 + seed).sin() * 1.7)
        .collect()
}

struct Case {
    c: usize,
    h: usize,
    k: usize,
    s: usize,
    d: usize,
    /// ReLU before the conv; and whether the ReLU's output is also a model output (a second
    /// consumer, so the ReLU must stay).
    relu: bool,
    shared: bool,
}

/// `x → [ReLU] → depthwise conv` (padding (k−1)/2·d, the DARTS convs), as a decluttered model.
fn model(t: &Case) -> TractResult<TypedModel> {
    let mut m = TypedModel::default();
    let x = m.add_source("x", f32::fact([1, t.c, t.h, t.h]))?;
    let mut input = x;
    let mut outputs = vec![];
    if t.relu {
        let zero = m.add_const("zero", Tensor::from_shape(&[1, 1, 1, 1], &[0f32])?)?;
        input = m.wire_node("relu.low", max(), &[x, zero])?[0];
        if t.shared {
            outputs.push(input);
        }
    }
    let kw = m.add_const(
        "k",
        Tensor::from_shape(&[t.c, 1, t.k, t.k], &values(t.c * t.k * t.k, 0.7))?,
    )?;
    let bw = m.add_const("b", Tensor::from_shape(&[t.c], &values(t.c, 0.3))?)?;
    let p = (t.k - 1) / 2 * t.d;
    let pool_spec = PoolSpec {
        data_format: DataFormat::NCHW,
        kernel_shape: tvec!(t.k, t.k),
        padding: PaddingSpec::Explicit(tvec!(p, p), tvec!(p, p)),
        dilations: Some(tvec!(t.d, t.d)),
        strides: Some(tvec!(t.s, t.s)),
        input_channels: t.c,
        output_channels: t.c,
    };
    let conv = Conv {
        pool_spec,
        kernel_fmt: KernelFormat::OIHW,
        group: t.c,
        q_params: None,
    };
    outputs.insert(0, m.wire_node("dw", conv, &[input, kw, bw])?[0]);
    m.select_output_outlets(&outputs)?;
    m.into_decluttered()
}

fn run(m: TypedModel, x: &[f32], t: &Case) -> TractResult<Vec<Vec<f32>>> {
    let plan = m.into_optimized()?.into_runnable()?;
    let x = Tensor::from_shape(&[1, t.c, t.h, t.h], x)?;
    let out = plan.run(tvec!(x.into_tvalue()))?;
    out.iter()
        .map(|o| Ok(o.to_plain_array_view::<f32>()?.iter().copied().collect()))
        .collect()
}

#[test]
fn depthwise_convs_become_ours_with_their_relu_and_match_tracts_own() {
    let cases = [
        (36, 32, 3, 1, 1, true, false),
        (36, 32, 5, 1, 2, true, false),
        (72, 16, 3, 2, 1, true, true),
        (144, 8, 5, 1, 2, false, false),
        (5, 7, 3, 2, 2, true, false),
    ];
    for (c, h, k, s, d, relu, shared) in cases {
        let t = Case {
            c,
            h,
            k,
            s,
            d,
            relu,
            shared,
        };
        let x = values(c * h * h, 0.1);
        let theirs = run(model(&t).unwrap(), &x, &t).unwrap();
        let mut ours = model(&t).unwrap();
        our_ops(&mut ours).unwrap();
        let op = ours
            .nodes()
            .iter()
            .find_map(|n| n.op_as::<Depthwise>())
            .cloned()
            .expect("the conv became ours");
        assert_eq!(op.relu, relu, "ReLU fused");
        assert_eq!(
            relus_left(&ours),
            usize::from(shared),
            "a ReLU stays only for another consumer"
        );
        let ours = run(ours, &x, &t).unwrap();
        assert_eq!(ours.len(), theirs.len());
        for (a, b) in ours.iter().zip(&theirs) {
            assert_eq!(a.len(), b.len());
            let diff = a.iter().zip(b).fold(0f32, |m, (p, q)| m.max((p - q).abs()));
            assert!(diff < 1e-5, "{c}x{h}x{h} k{k} s{s} d{d}: max diff {diff}");
        }
    }
}

/// The ReLUs (`max` nodes) left in `m`'s optimised plan.
pub(super) fn relus_left(m: &TypedModel) -> usize {
    let optimised = m.clone().into_optimized().unwrap();
    let nodes = optimised.nodes().iter();
    nodes.filter(|n| n.op.name().contains("Max")).count()
}

/// The optimised plan's (first) output on `x`.
pub(super) fn output(m: TypedModel, x: &[f32], shape: &[usize]) -> Vec<f32> {
    output_of(m, &[(x, shape)])
}

/// The optimised plan's (first) output on its inputs (values, shape).
pub(super) fn output_of(m: TypedModel, inputs: &[(&[f32], &[usize])]) -> Vec<f32> {
    let plan = m.into_optimized().unwrap().into_runnable().unwrap();
    let inputs = inputs
        .iter()
        .map(|(x, shape)| Tensor::from_shape(shape, x).unwrap().into_tvalue());
    let out = plan.run(inputs.collect()).unwrap();
    out[0]
        .to_plain_array_view::<f32>()
        .unwrap()
        .iter()
        .copied()
        .collect()
}

/// `x → ReLU → Downsample(rows) → Downsample(columns)` on `[1, 3, h, w]`, as tract lowers a
/// strided slice.
fn downsampled(h: usize, w: usize, stride: usize, offset: [usize; 2]) -> TractResult<TypedModel> {
    let mut m = TypedModel::default();
    let x = m.add_source("x", f32::fact([1, 3, h, w]))?;
    let zero = m.add_const("zero", Tensor::from_shape(&[1, 1, 1, 1], &[0f32])?)?;
    let r = m.wire_node("relu.low", max(), &[x, zero])?;
    let down = |axis, modulo| Downsample {
        axis,
        stride: stride as isize,
        modulo,
    };
    let rows = m.wire_node("rows", down(2, offset[0]), &r)?;
    let cols = m.wire_node("cols", down(3, offset[1]), &rows)?;
    m.select_output_outlets(&cols)?;
    Ok(m)
}

#[test]
fn downsample_pairs_become_ours_with_their_relu_and_match_tracts_own() {
    for (h, w, stride, offset) in [
        (32, 32, 2, [0, 0]),
        (16, 16, 2, [1, 1]),
        (7, 9, 2, [1, 0]),
        (10, 11, 3, [2, 1]),
    ] {
        let x = values(3 * h * w, 0.4);
        let run = |m: TypedModel| output(m, &x, &[1, 3, h, w]);
        let theirs = run(downsampled(h, w, stride, offset).unwrap());
        let mut ours = downsampled(h, w, stride, offset).unwrap();
        our_ops(&mut ours).unwrap();
        let op = ours
            .nodes()
            .iter()
            .find_map(|n| n.op_as::<crate::subsample::Subsample>())
            .cloned()
            .expect("the pair became ours");
        assert!(op.relu, "ReLU fused");
        assert_eq!(
            theirs,
            run(ours),
            "{h}x{w} stride {stride} offset {offset:?}"
        );
    }
}

/// `x → pool` on `[1, 3, h, h]`: DARTS's 3×3 pools (padding 1) and odd ones.
fn pooled(h: usize, op: Box<dyn TypedOp>) -> TractResult<TypedModel> {
    let mut m = TypedModel::default();
    let x = m.add_source("x", f32::fact([1, 3, h, h]))?;
    let y = m.wire_node("pool", op, &[x])?;
    m.select_output_outlets(&y)?;
    m.into_decluttered()
}

fn spec(k: usize, s: usize, p: usize) -> PoolSpec {
    PoolSpec {
        data_format: DataFormat::NCHW,
        kernel_shape: tvec!(k, k),
        padding: PaddingSpec::Explicit(tvec!(p, p), tvec!(p, p)),
        dilations: None,
        strides: Some(tvec!(s, s)),
        input_channels: 3,
        output_channels: 3,
    }
}

/// Builds a fresh pool op (each model needs its own).
type MakeOp = Box<dyn Fn() -> Box<dyn TypedOp>>;

#[test]
fn pools_become_ours_and_match_tracts_own() {
    use tract_onnx::tract_core::ops::cnn::{MaxPool, SumPool};
    for (h, k, s, p) in [(32, 3, 1, 1), (16, 3, 2, 1), (7, 3, 2, 1), (9, 2, 2, 0)] {
        let ops: [(&str, MakeOp); 3] = [
            (
                "BetadartsMaxPool",
                Box::new(move || Box::new(MaxPool::new(spec(k, s, p), None))),
            ),
            (
                "BetadartsAvgPool",
                Box::new(move || Box::new(SumPool::new(spec(k, s, p), false, true))),
            ),
            (
                "BetadartsAvgPool",
                Box::new(move || Box::new(SumPool::new(spec(k, s, p), true, true))),
            ),
        ];
        for (i, (ours_name, op)) in ops.iter().enumerate() {
            let x = values(3 * h * h, 0.6);
            let run = |m: TypedModel| output(m, &x, &[1, 3, h, h]);
            let theirs = run(pooled(h, op()).unwrap());
            let mut ours = pooled(h, op()).unwrap();
            our_ops(&mut ours).unwrap();
            assert!(
                ours.nodes().iter().any(|n| n.op.name() == *ours_name),
                "pool {i} on {h}x{h} became ours"
            );
            let ours = run(ours);
            assert_eq!(ours.len(), theirs.len());
            let diff = ours
                .iter()
                .zip(&theirs)
                .fold(0f32, |m, (a, b)| m.max((a - b).abs()));
            assert!(
                diff < 1e-6,
                "pool {i}, {h}x{h} k{k} s{s} p{p}: max diff {diff}"
            );
        }
    }
}
