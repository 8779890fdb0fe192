//! Every registered regularizer against finite differences and its closed form; hand values.

use super::*;
use burn::tensor::{Device, Distribution, TensorData, Tolerance};

fn value(reg: &dyn Regularizer, a: &[f32], shape: [usize; 2]) -> f64 {
    let device = Device::flex();
    let t = Tensor::<2>::from_data(TensorData::new(a.to_vec(), shape), &device);
    reg.loss(&[t], Aggregation::Mean).into_scalar::<f32>() as f64
}

#[test]
fn beta_decay_at_zero_is_ln5_with_uniform_gradient() {
    // spec §9.1: L_beta(0_[6,5]) = ln 5, gradient 1/30 everywhere.
    let device = Device::flex().autodiff();
    let a = Tensor::<2>::zeros([6, 5], &device).require_grad();
    let loss = BetaDecay.loss(&[a.clone()], Aggregation::Mean);
    assert!((loss.clone().into_scalar::<f32>() as f64 - 5f64.ln()).abs() < 1e-6);
    let g = a.grad(&loss.backward()).unwrap().into_data();
    g.assert_approx_eq::<f32>(
        &TensorData::new(vec![1.0f32 / 30.0; 30], [6, 5]),
        Tolerance::absolute(1e-7),
    );
}

#[test]
fn gradients_match_finite_differences_and_closed_forms() {
    let device = Device::flex().autodiff();
    let a = Tensor::<2>::random([6, 5], Distribution::Normal(0.0, 1.0), &device);
    let host: Vec<f32> = a.clone().into_data().try_to_vec().unwrap();
    for kind in RegularizerKind::all() {
        let reg = kind.build_for([6, 5]);
        let a = a.clone().detach().require_grad();
        let loss = reg.loss(&[a.clone()], Aggregation::Mean);
        let g: Vec<f32> = a
            .grad(&loss.backward())
            .unwrap()
            .into_data()
            .try_to_vec()
            .unwrap();
        let h = 1e-2f32;
        for i in 0..30 {
            let mut p = host.clone();
            let mut m = host.clone();
            p[i] += h;
            m[i] -= h;
            let fd = (value(reg.as_ref(), &p, [6, 5]) - value(reg.as_ref(), &m, [6, 5]))
                / (2.0 * h as f64);
            assert!(
                (fd - g[i] as f64).abs() < 2e-3,
                "{kind}: entry {i}: fd {fd} vs autodiff {}",
                g[i]
            );
        }
        // The closed form the α step uses instead of a second backward.
        let closed = gradient(reg.as_ref(), &[host.clone()], 5, Aggregation::Mean);
        for i in 0..30 {
            assert!(
                (closed[0][i] - g[i]).abs() < 1e-6,
                "{kind}: closed form entry {i}"
            );
        }
        if kind.name() == "beta" {
            // ∂L/∂α = softmax(α)/E.
            let beta = crate::arch_params::softmax_rows(&host, 5, 1.0);
            for i in 0..30 {
                assert!((g[i] - beta[i] / 6.0).abs() < 1e-6);
            }
        }
        if kind.name() == "l2" {
            for i in 0..30 {
                assert!((g[i] - host[i] / 6.0).abs() < 1e-6);
            }
        }
    }
}

#[test]
fn aggregation_over_two_tensors() {
    // Two tensors of equal rows: Sum is twice Mean, and Mean is the mean of per-tensor means.
    let device = Device::flex();
    let a = Tensor::<2>::random([14, 7], Distribution::Normal(0.0, 1.0), &device);
    let b = Tensor::<2>::random([14, 7], Distribution::Normal(0.0, 1.0), &device);
    let mean = BetaDecay
        .loss(&[a.clone(), b.clone()], Aggregation::Mean)
        .into_scalar::<f32>();
    let sum = BetaDecay
        .loss(&[a.clone(), b.clone()], Aggregation::Sum)
        .into_scalar::<f32>();
    let ma = BetaDecay.loss(&[a], Aggregation::Mean).into_scalar::<f32>();
    let mb = BetaDecay.loss(&[b], Aggregation::Mean).into_scalar::<f32>();
    assert!((mean - (ma + mb) / 2.0).abs() < 1e-5);
    assert!((sum - 2.0 * mean).abs() < 1e-5);
}

#[test]
fn beta_zero_and_global_hand_values() {
    // One row [0, 0]: smoothmax(0, 0, 0) = ln 3; global lse of a 2×2 zero matrix = ln 4.
    assert!((value(&BetaZero, &[0.0, 0.0], [1, 2]) - 3f64.ln()).abs() < 1e-6);
    assert!((value(&BetaGlobal, &[0.0; 4], [2, 2]) - 4f64.ln()).abs() < 1e-6);
    assert_eq!(
        "beta-zero".parse::<RegularizerKind>().unwrap().name(),
        "beta-zero"
    );
    assert!("beta_zero".parse::<RegularizerKind>().is_err());
}

#[test]
fn the_registry_is_what_names_parse_list_and_serialise_to() {
    let names: Vec<&str> = REGISTRY.iter().map(|e| e.name).collect();
    let unique: std::collections::HashSet<_> = names.iter().collect();
    assert_eq!(unique.len(), names.len(), "duplicate names: {names:?}");
    for kind in RegularizerKind::all() {
        let json = serde_json::to_string(&kind).unwrap();
        assert_eq!(json, format!("{:?}", kind.name()));
        assert_eq!(
            serde_json::from_str::<RegularizerKind>(&json).unwrap(),
            kind
        );
    }
    let e = "bta".parse::<RegularizerKind>().unwrap_err().to_string();
    assert!(names.iter().all(|n| e.contains(n)), "{e}");
    assert!(serde_json::from_str::<RegularizerKind>("\"bta\"").is_err());
    assert_eq!(RegularizerKind::default().name(), "beta");
    assert!(!"none".parse::<RegularizerKind>().unwrap().uses_lambda());
}

#[test]
fn stateless_regularizers_refuse_a_checkpointed_state_and_the_learned_one_round_trips() {
    for kind in RegularizerKind::all() {
        let mut reg = kind.build_for([2, 3]);
        match reg.state() {
            None => assert!(
                reg.restore(serde_json::json!({"phi": [[0.0, 0.0]]}))
                    .is_err()
            ),
            Some(_) => {
                // Move the state, save it, restore it into a fresh one: the same θ after.
                let g = vec![vec![0.5f32, -0.2, -0.3, 0.1, 0.0, -0.1]];
                let r = vec![vec![1.5f32, 0.8, 0.7, 1.0, 1.1, 0.9]];
                reg.observe(&g, &r, 3, 1.0);
                reg.observe(&g, &r, 3, 1.0);
                let saved = reg.state().unwrap();
                let mut fresh = kind.build_for([2, 3]);
                assert_ne!(
                    fresh.state().unwrap(),
                    saved,
                    "{kind}: observe moved nothing"
                );
                fresh.restore(saved.clone()).unwrap();
                assert_eq!(fresh.row_weights(), reg.row_weights());
                assert_eq!(fresh.history(), reg.history());
                assert_eq!(fresh.state().unwrap(), saved);
                assert!(!reg.history().is_empty());
                assert!(fresh.restore(serde_json::json!("garbage")).is_err());
                if kind.name() == "beta-learned" {
                    // Strengths of another shape are refused.
                    let mut other = kind.build_for([3, 3]);
                    assert!(other.restore(saved).is_err());
                }
            }
        }
    }
}
