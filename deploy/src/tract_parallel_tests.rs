//! The parallel runner against tract's own loop over the same plan: the same bits.

use super::*;
use crate::tract_plan::{our_ops, our_pointwise};
use tract_onnx::tract_core::ops::array::TypedConcat;
use tract_onnx::tract_core::ops::cnn::{Conv, KernelFormat, PaddingSpec, PoolSpec};
use tract_onnx::tract_core::ops::math::{add, max};
use tract_onnx::tract_core::ops::nn::DataFormat;

fn values(n: usize, seed: f32) -> Vec<f32> {
    (0..n)
        .map(|i| (i as f32 * 0.37 + seed).sin() * 1.7)
        .collect()
}

/// `relu → conv` with `groups` (1: a 1×1 conv to `outputs` channels; else depthwise k×k).
fn conv(
    m: &mut TypedModel,
    name: &str,
    x: OutletId,
    (inputs, outputs, k, groups): (usize, usize, usize, usize),
) -> TractResult<OutletId> {
    let zero = m.add_const(
        format!("{name}.zero"),
        Tensor::from_shape(&[1, 1, 1, 1], &[0f32])?,
    )?;
    let r = m.wire_node(format!("{name}.relu"), max(), &[x, zero])?[0];
    let per_group = inputs / groups;
    let w = Tensor::from_shape(
        &[outputs, per_group, k, k],
        &values(outputs * per_group * k * k, name.len() as f32),
    )?;
    let w = m.add_const(format!("{name}.w"), w)?;
    let b = m.add_const(
        format!("{name}.b"),
        Tensor::from_shape(&[outputs], &values(outputs, 0.3))?,
    )?;
    let p = (k - 1) / 2;
    let pool_spec = PoolSpec {
        data_format: DataFormat::NCHW,
        kernel_shape: tvec!(k, k),
        padding: PaddingSpec::Explicit(tvec!(p, p), tvec!(p, p)),
        dilations: None,
        strides: None,
        input_channels: inputs,
        output_channels: outputs,
    };
    let op = Conv {
        pool_spec,
        kernel_fmt: KernelFormat::OIHW,
        group: groups,
        q_params: None,
    };
    Ok(m.wire_node(name, op, &[r, w, b])?[0])
}

/// A DARTS-like cell on `[1, 12, 8, 8]`: two preprocessing 1×1 convs, separable-conv chains
/// side by side, sums of chains and of a chain and a skip, a concat; an intermediate map is
/// also a model output, and one node reads the same map twice.
fn cell() -> TractResult<Arc<TypedRunnableModel>> {
    let mut m = TypedModel::default();
    let x = m.add_source("x", f32::fact([1, 12, 8, 8]))?;
    let s0 = conv(&mut m, "pre0", x, (12, 8, 1, 1))?;
    let s1 = conv(&mut m, "pre1", x, (12, 8, 1, 1))?;
    let sep = |m: &mut TypedModel, name: &str, x, k| -> TractResult<OutletId> {
        let d = conv(m, &format!("{name}.dw"), x, (8, 8, k, 8))?;
        conv(m, &format!("{name}.pw"), d, (8, 8, 1, 1))
    };
    let a = sep(&mut m, "a", s0, 3)?;
    let b = sep(&mut m, "b", s1, 5)?;
    let c = sep(&mut m, "c", s1, 3)?;
    let n0 = m.wire_node("n0", add(), &[a, b])?[0];
    let n1 = m.wire_node("n1", add(), &[c, s0])?[0];
    let twice = m.wire_node("twice", add(), &[n1, n1])?[0];
    let d = sep(&mut m, "d", n0, 3)?;
    let out = m.wire_node("concat", TypedConcat::new(1), &[n0, twice, d])?[0];
    m.select_output_outlets(&[out, s1])?;
    our_pointwise(&mut m)?;
    let mut m = m.into_decluttered()?;
    our_ops(&mut m)?;
    m.into_optimized()?.into_runnable()
}

fn bits(out: &[TValue]) -> Vec<Vec<u32>> {
    out.iter()
        .map(|t| {
            let v = t.to_plain_array_view::<f32>().unwrap();
            v.iter().map(|f| f.to_bits()).collect()
        })
        .collect()
}

#[test]
fn a_cell_on_two_and_three_threads_gives_tracts_bits() {
    let plan = cell().unwrap();
    for threads in [2, 3] {
        let parallel = Parallel::new(plan.clone(), threads)
            .unwrap()
            .expect("stateless");
        for seed in 0..30 {
            let x = Tensor::from_shape(&[1, 12, 8, 8], &values(768, seed as f32)).unwrap();
            let want = plan.run(tvec!(x.clone().into_tvalue())).unwrap();
            let got = parallel.run(tvec!(x.into_tvalue())).unwrap();
            assert_eq!(got.len(), 2);
            assert_eq!(bits(&got), bits(&want), "{threads} threads, seed {seed}");
        }
    }
}

#[test]
fn one_thread_is_no_parallel_plan() {
    assert!(Parallel::new(cell().unwrap(), 1).unwrap().is_none());
}

#[test]
fn a_failing_node_is_an_error_naming_it_and_nobody_waits_forever() {
    let parallel = Parallel::new(cell().unwrap(), 2).unwrap().unwrap();
    // A map of other channels than the plan's: our 1×1 convs refuse it.
    let x = Tensor::from_shape(&[1, 10, 8, 8], &values(640, 0.0)).unwrap();
    let err = parallel.run(tvec!(x.into_tvalue())).unwrap_err();
    assert!(format!("{err:#}").contains("pre"), "{err:#}");
    let none = parallel.run(tvec!()).unwrap_err();
    assert!(none.to_string().contains("0 inputs"), "{none}");
}
