//! The fused ops against burn's own operations (the oracle): same values, same gradients.

use burn::tensor::module::{avg_pool2d, batch_norm_train, max_pool2d};
use burn::tensor::ops::{AvgPoolOptions, MaxPoolOptions};
use burn::tensor::{Device, Distribution, Int, Tensor, TensorData};

use super::*;

fn close<const D: usize>(a: Tensor<D>, b: Tensor<D>, tol: f32, what: &str) {
    let (a, b) = (a.into_data(), b.into_data());
    let (av, bv): (Vec<f32>, Vec<f32>) = (a.try_to_vec().unwrap(), b.try_to_vec().unwrap());
    assert_eq!(a.shape(), b.shape(), "{what}: shapes");
    let worst = av
        .iter()
        .zip(&bv)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0f32, f32::max);
    assert!(worst <= tol, "{what}: max |Δ| {worst} > {tol}");
}

/// Runs `f` and checks that no fused call on this thread fell back to the reference path.
fn fused_only<T>(f: impl FnOnce() -> T) -> T {
    let before = reference::fallback_calls();
    let out = f();
    assert_eq!(
        reference::fallback_calls(),
        before,
        "a fused op fell back to the reference"
    );
    out
}

fn random(shape: [usize; 4], device: &Device) -> Tensor<4> {
    Tensor::random(shape, Distribution::Normal(0.5, 1.5), device).require_grad()
}

#[test]
fn avg_pool_matches_burn_and_its_gradient() {
    let device = Device::flex().autodiff();
    for (size, stride) in [(8, 1), (7, 1), (8, 2), (7, 2), (1, 1), (2, 2)] {
        let x = random([2, 3, size, size], &device);
        let mut opts = AvgPoolOptions::new([3, 3])
            .with_stride([stride, stride])
            .with_padding([1, 1]);
        opts.count_include_pad = false;
        let want = avg_pool2d(x.clone(), opts);
        let got = fused_only(|| avg_pool3(x.clone(), stride));
        close(got.clone(), want.clone(), 1e-5, "pool forward");
        let up = Tensor::<4>::random(want.dims(), Distribution::Normal(0.0, 1.0), &device);
        let g1 = x.grad(&(want * up.clone()).sum().backward()).unwrap();
        let g2 = x.grad(&(got * up).sum().backward()).unwrap();
        close(g2, g1, 1e-5, &format!("pool backward {size} s{stride}"));
    }
}

#[test]
fn max_pool_matches_burn_and_its_gradient() {
    let device = Device::flex().autodiff();
    for (size, stride) in [(8, 1), (7, 1), (8, 2), (7, 2), (1, 1), (2, 2), (3, 2)] {
        let x = random([2, 3, size, size], &device);
        let opts = MaxPoolOptions::new([3, 3])
            .with_stride([stride, stride])
            .with_padding([1, 1]);
        let want = max_pool2d(x.clone(), opts);
        let got = fused_only(|| max_pool3(x.clone(), stride));
        close(got.clone(), want.clone(), 0.0, "max pool forward");
        let up = Tensor::<4>::random(want.dims(), Distribution::Normal(0.0, 1.0), &device);
        let g1 = x.grad(&(want * up.clone()).sum().backward()).unwrap();
        let g2 = x.grad(&(got * up).sum().backward()).unwrap();
        close(g2, g1, 1e-6, &format!("max pool backward {size} s{stride}"));
    }
}

#[test]
fn batch_norm_matches_burn_with_and_without_affine() {
    let device = Device::flex().autodiff();
    for shape in [[4, 3, 5, 5], [2, 6, 8, 8], [1, 2, 1, 3]] {
        let c = shape[1];
        let x = random(shape, &device);
        let gamma =
            Tensor::<1>::random([c], Distribution::Uniform(0.5, 1.5), &device).require_grad();
        let beta = Tensor::<1>::random([c], Distribution::Normal(0.0, 0.3), &device).require_grad();
        let up = Tensor::<4>::random(shape, Distribution::Normal(0.0, 1.0), &device);
        let want = batch_norm_train(x.clone(), gamma.clone(), beta.clone(), 1e-5);
        let got = fused_only(|| {
            batch_norm(
                x.clone(),
                Some((gamma.clone(), GammaLayout::PerChannel)),
                Some(beta.clone()),
                1e-5,
            )
        });
        close(got.output.clone(), want.output.clone(), 1e-4, "bn forward");
        close(got.mean.clone(), want.mean.clone(), 1e-5, "bn mean");
        let var = got.variance(1e-5).detach();
        close(var, want.variance.clone().detach(), 1e-4, "bn variance");
        let g1 = (want.output * up.clone()).sum().backward();
        let g2 = (got.output * up.clone()).sum().backward();
        close(x.grad(&g2).unwrap(), x.grad(&g1).unwrap(), 1e-4, "bn dx");
        close(
            gamma.grad(&g2).unwrap(),
            gamma.grad(&g1).unwrap(),
            1e-4,
            "bn dγ",
        );
        close(
            beta.grad(&g2).unwrap(),
            beta.grad(&g1).unwrap(),
            1e-4,
            "bn dβ",
        );
        // Without γ/β: the same as γ = 1, β = 0.
        let ones = Tensor::<1>::ones([c], &device);
        let want = batch_norm_train(x.clone(), ones.clone(), ones.zeros_like(), 1e-5);
        let got = batch_norm(x.clone(), None, None, 1e-5);
        close(
            got.output.clone(),
            want.output.clone(),
            1e-4,
            "bn plain forward",
        );
        let g1 = x
            .grad(&(want.output * up.clone()).sum().backward())
            .unwrap();
        let g2 = x.grad(&(got.output * up).sum().backward()).unwrap();
        close(g2, g1, 1e-4, "bn plain dx");
    }
}

#[test]
fn batch_norm_with_block_gamma_is_bn_times_gathered_weights() {
    // γ gathered from flat weights per block of channels = plain BN times the weights.
    let device = Device::flex().autodiff();
    let x = random([3, 6, 4, 4], &device);
    let w = Tensor::<1>::random([5], Distribution::Uniform(0.1, 1.0), &device).require_grad();
    let blocks = vec![4, 1, 1]; // channels 0-1 ← w[4], 2-3 ← w[1], 4-5 ← w[1]
    let got = batch_norm(
        x.clone(),
        Some((w.clone(), GammaLayout::Blocks(blocks))),
        None,
        1e-5,
    );
    let idx = Tensor::<1, Int>::from_data(TensorData::from([4i64, 4, 1, 1, 1, 1]), &device);
    let gamma = w.clone().select(0, idx);
    let want = batch_norm_train(x.clone(), gamma, Tensor::zeros([6], &device), 1e-5);
    close(
        got.output.clone(),
        want.output.clone(),
        1e-4,
        "block forward",
    );
    let up = Tensor::<4>::random([3, 6, 4, 4], Distribution::Normal(0.0, 1.0), &device);
    let g1 = (want.output * up.clone()).sum().backward();
    let g2 = (got.output * up).sum().backward();
    close(w.grad(&g2).unwrap(), w.grad(&g1).unwrap(), 1e-4, "block dw");
    close(x.grad(&g2).unwrap(), x.grad(&g1).unwrap(), 1e-4, "block dx");
}

#[test]
fn mix_matches_slices_times_weights() {
    let device = Device::flex().autodiff();
    let a = random([2, 3, 4, 4], &device); // whole tensor, weighted
    let b = random([2, 9, 4, 4], &device); // block 2 of 3, weighted
    let c = random([2, 6, 4, 4], &device); // block 0 of 2, weight 1
    let w = Tensor::<1>::random([4], Distribution::Normal(0.0, 1.0), &device).require_grad();
    let spec = MixSpec {
        channels: 3,
        offsets: vec![0, 6, 0],
        weights: vec![Some(3), Some(0), None],
    };
    let got = fused_only(|| mix(vec![a.clone(), b.clone(), c.clone()], w.clone(), spec));
    let wi = |i: usize| w.clone().slice(i..i + 1).reshape([1, 1, 1, 1]);
    let want =
        a.clone() * wi(3) + b.clone().slice([0..2, 6..9]) * wi(0) + c.clone().slice([0..2, 0..3]);
    close(got.clone(), want.clone(), 1e-5, "mix forward");
    let up = Tensor::<4>::random([2, 3, 4, 4], Distribution::Normal(0.0, 1.0), &device);
    let g1 = (want * up.clone()).sum().backward();
    let g2 = fused_only(|| (got * up).sum().backward());
    for (t, name) in [(&a, "a"), (&b, "b"), (&c, "c")] {
        close(t.grad(&g2).unwrap(), t.grad(&g1).unwrap(), 1e-5, name);
    }
    close(w.grad(&g2).unwrap(), w.grad(&g1).unwrap(), 1e-4, "weights");
}

#[test]
fn long_mixes_split_into_partial_sums() {
    let device = Device::flex().autodiff();
    let terms: Vec<Tensor<4>> = (0..20).map(|_| random([1, 2, 3, 3], &device)).collect();
    let w = Tensor::<1>::random([20], Distribution::Normal(0.0, 1.0), &device).require_grad();
    let spec = MixSpec {
        channels: 2,
        offsets: vec![0; 20],
        weights: (0..20).map(Some).collect(),
    };
    let got = mix(terms.clone(), w.clone(), spec);
    let want = terms
        .iter()
        .enumerate()
        .map(|(i, t)| t.clone() * w.clone().slice(i..i + 1).reshape([1, 1, 1, 1]))
        .reduce(|a, b| a + b)
        .unwrap();
    close(got.clone(), want.clone(), 1e-5, "long mix");
    let g1 = w.grad(&want.sum().backward()).unwrap();
    let g2 = w.grad(&got.sum().backward()).unwrap();
    close(g2, g1, 1e-4, "long mix dw");
}

#[test]
fn other_backends_and_mixed_inputs_take_the_reference() {
    // A plain (non-autodiff) flex tensor mixed with an autodiff one: routes differ, so the
    // reference path runs, and still gives the right answer.
    let plain = Tensor::<4>::ones([1, 2, 3, 3], &Device::flex());
    let w = Tensor::<1>::from_data(TensorData::from([2.0f32]), &Device::flex().autodiff());
    let before = reference::fallback_calls();
    let spec = MixSpec {
        channels: 2,
        offsets: vec![0],
        weights: vec![Some(0)],
    };
    let y = mix(vec![plain], w, spec);
    assert_eq!(reference::fallback_calls(), before + 1);
    let v: Vec<f32> = y.into_data().try_to_vec().unwrap();
    assert!(v.iter().all(|&x| (x - 2.0).abs() < 1e-6));
}

#[test]
fn conv_matches_burn_and_skips_the_weight_gradient_of_frozen_weights() {
    use burn::tensor::module::conv2d as burn_conv2d;
    use burn::tensor::ops::ConvOptions;
    let device = Device::flex().autodiff();
    for (k, s, p, d, size) in [
        (3, 1, 1, 1, 8),
        (3, 2, 1, 1, 8),
        (1, 1, 0, 1, 6),
        (1, 2, 0, 1, 7),
        (5, 1, 2, 1, 5),
        (3, 1, 2, 2, 6),
    ] {
        let g = Geometry {
            groups: 1,
            relu_input: false,
            kernel: [k, k],
            stride: [s, s],
            padding: [p, p],
            dilation: [d, d],
        };
        let x = random([2, 3, size, size], &device);
        let w = Tensor::<4>::random([5, 3, k, k], Distribution::Normal(0.0, 0.3), &device)
            .require_grad();
        let want = burn_conv2d(
            x.clone(),
            w.clone(),
            None,
            ConvOptions::new([s, s], [p, p], [d, d], 1),
        );
        let got = fused_only(|| conv2d(x.clone(), w.clone(), g));
        close(got.clone(), want.clone(), 1e-4, "conv forward");
        let up = Tensor::<4>::random(want.dims(), Distribution::Normal(0.0, 1.0), &device);
        let g1 = (want * up.clone()).sum().backward();
        let g2 = fused_only(|| (got * up.clone()).sum().backward());
        close(x.grad(&g2).unwrap(), x.grad(&g1).unwrap(), 1e-4, "conv dx");
        close(w.grad(&g2).unwrap(), w.grad(&g1).unwrap(), 1e-4, "conv dW");
        // Frozen weights: the input gradient only.
        let frozen = w.clone().detach().set_require_grad(false);
        let g3 = conv2d(x.clone(), frozen.clone(), g);
        let grads = (g3 * up).sum().backward();
        assert!(frozen.grad(&grads).is_none());
        close(
            x.grad(&grads).unwrap(),
            x.grad(&g1).unwrap(),
            1e-4,
            "conv dx, frozen W",
        );
    }
}
