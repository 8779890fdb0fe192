//! 1×1 convs in the rewritten plan against tract's own matrix products.

use super::tests::{output, output_of, relus_left, values};
use super::*;
use crate::pointwise::Pointwise;
use tract_onnx::tract_core::ops::cnn::PaddingSpec;
use tract_onnx::tract_core::ops::math::max;

/// `x → [ReLU] → 1×1 conv (stride s)` on `[n, k, h, h]`, typed (before declutter, where the
/// rewrite runs), and the ReLU's output also a model output when `shared`.
fn conv_model(
    [n, k, h]: [usize; 3],
    m: usize,
    s: usize,
    relu: bool,
    shared: bool,
) -> TractResult<TypedModel> {
    let mut model = TypedModel::default();
    let x = model.add_source("x", f32::fact([n, k, h, h]))?;
    let mut input = x;
    let mut outputs = vec![];
    if relu {
        let zero = model.add_const("zero", Tensor::from_shape(&[1, 1, 1, 1], &[0f32])?)?;
        input = model.wire_node("relu.low", max(), &[x, zero])?[0];
        if shared {
            outputs.push(input);
        }
    }
    let w = Tensor::from_shape(&[m, k, 1, 1], &values(m * k, 0.7))?;
    let w = model.add_const("w", w)?;
    let b = model.add_const("b", Tensor::from_shape(&[m], &values(m, 0.3))?)?;
    let pool_spec = PoolSpec {
        data_format: DataFormat::NCHW,
        kernel_shape: tvec!(1, 1),
        padding: PaddingSpec::Explicit(tvec!(0, 0), tvec!(0, 0)),
        dilations: None,
        strides: Some(tvec!(s, s)),
        input_channels: k,
        output_channels: m,
    };
    let conv = Conv {
        pool_spec,
        kernel_fmt: KernelFormat::OIHW,
        group: 1,
        q_params: None,
    };
    outputs.insert(0, model.wire_node("pw", conv, &[input, w, b])?[0]);
    model.select_output_outlets(&outputs)?;
    Ok(model)
}

#[test]
fn one_by_one_convs_become_ours_with_their_relu_and_match_tracts_own() {
    // DARTS_V2's preprocessing and separable-conv shapes, FactorizedReduce's stride 2, a batch
    // of two, ragged channel and pixel counts, and a ReLU kept for another consumer.
    let cases = [
        ([1, 108, 32], 36, 1, true, false),
        ([1, 36, 32], 36, 1, false, false),
        ([1, 144, 8], 144, 1, false, false),
        ([1, 72, 16], 72, 2, true, false),
        ([2, 16, 7], 10, 1, true, true),
        ([1, 5, 9], 13, 3, false, false),
    ];
    for (shape @ [n, k, h], m, s, relu, shared) in cases {
        let what = format!("{shape:?} → {m}, stride {s}, relu {relu}");
        let x = values(n * k * h * h, 0.1);
        let theirs = output(
            conv_model(shape, m, s, relu, shared)
                .unwrap()
                .into_decluttered()
                .unwrap(),
            &x,
            &[n, k, h, h],
        );
        let mut ours = conv_model(shape, m, s, relu, shared).unwrap();
        our_pointwise(&mut ours).unwrap();
        let ours = ours.into_decluttered().unwrap();
        let op = ours
            .nodes()
            .iter()
            .find_map(|n| n.op_as::<Pointwise>())
            .cloned()
            .unwrap_or_else(|| panic!("{what}: the conv became ours"));
        // With a stride the ReLU goes into the subsample before the conv.
        assert_eq!(op.relu, relu && s == 1, "{what}: ReLU fused");
        assert_eq!(
            relus_left(&ours),
            usize::from(shared),
            "{what}: a ReLU stays only for another consumer"
        );
        let ours = output(ours, &x, &[n, k, h, h]);
        assert_eq!(ours.len(), theirs.len(), "{what}");
        let diff = ours
            .iter()
            .zip(&theirs)
            .fold(0f32, |d, (a, b)| d.max((a - b).abs() / (1.0 + b.abs())));
        assert!(diff < 1e-5, "{what}: relative difference {diff}");
    }
}

#[test]
fn a_sum_after_a_conv_fuses_into_it_unless_the_conv_is_used_elsewhere() {
    for (conv_first, shared) in [(true, false), (false, false), (true, true)] {
        let what = format!("conv first {conv_first}, conv also an output {shared}");
        let build = || -> TractResult<TypedModel> {
            let mut m = conv_model([1, 24, 8], 20, 1, true, false)?;
            let conv = m.output_outlets()?[0];
            let z = m.add_source("z", f32::fact([1, 20, 8, 8]))?;
            let inputs = if conv_first { [conv, z] } else { [z, conv] };
            let sum = m.wire_node("sum", tract_onnx::tract_core::ops::math::add(), &inputs)?[0];
            m.select_output_outlets(&if shared { vec![sum, conv] } else { vec![sum] })?;
            Ok(m)
        };
        let (x, z) = (values(24 * 64, 0.1), values(20 * 64, 0.8));
        let run = |m| output_of(m, &[(&x, &[1, 24, 8, 8]), (&z, &[1, 20, 8, 8])]);
        let theirs = run(build().unwrap().into_decluttered().unwrap());
        let mut ours = build().unwrap();
        our_pointwise(&mut ours).unwrap();
        let mut ours = ours.into_decluttered().unwrap();
        our_ops(&mut ours).unwrap();
        let fused = ours
            .nodes()
            .iter()
            .filter_map(|n| n.op_as::<Pointwise>())
            .any(|p| p.add);
        assert_eq!(fused, !shared, "{what}: fused");
        let ours = run(ours);
        let diff = ours
            .iter()
            .zip(&theirs)
            .fold(0f32, |d, (a, b)| d.max((a - b).abs() / (1.0 + b.abs())));
        assert!(diff < 1e-5, "{what}: relative difference {diff}");
    }
}
