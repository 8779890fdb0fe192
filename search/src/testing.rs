//! Helpers shared by the oracle tests: one error measure, and the worst error seen.

/// ‖a − b‖₂ / max(‖b‖₂, 1e-12): the relative error of a gradient as a whole.
pub(crate) fn rel(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    let d: f64 = a.iter().zip(b).map(|(x, y)| ((x - y) as f64).powi(2)).sum();
    let n: f64 = b.iter().map(|y| (*y as f64).powi(2)).sum();
    (d.sqrt() / n.sqrt().max(1e-12)) as f32
}

/// The worst error seen, and where: a comparison reports every quantity, the test bounds one.
#[derive(Default)]
pub(crate) struct Worst(pub f32, pub String);

impl Worst {
    pub(crate) fn see(&mut self, err: f32, what: impl FnOnce() -> String) {
        // A NaN is the worst of all.
        if err.is_nan() || err > self.0 {
            *self = Worst(err, what());
        }
    }

    pub(crate) fn check(&self, tol: f32) {
        assert!(self.0 < tol, "{}: {} (bound {tol})", self.1, self.0);
    }
}

/// (kernel, stride, padding, dilation) of every DARTS depthwise conv: sep 3/5 and dil 3/5
/// (dilation 2), at strides 1 and 2.
pub(crate) const DARTS_DEPTHWISE: [(usize, usize, usize, usize); 8] = [
    (3, 1, 1, 1),
    (3, 2, 1, 1),
    (5, 1, 2, 1),
    (5, 2, 2, 1),
    (3, 1, 2, 2),
    (3, 2, 2, 2),
    (5, 1, 4, 2),
    (5, 2, 4, 2),
];

/// A small seeded generator (splitmix64) private to one test: burn's device RNG is one
/// process-wide stream that concurrent tests interleave, so its draws are not reproducible.
pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn new(seed: u64) -> Self {
        Rng(seed)
    }

    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Standard normal (Box–Muller).
    pub(crate) fn normal(&mut self) -> f32 {
        let u1 = ((self.next() >> 11) as f64 + 0.5) / (1u64 << 53) as f64;
        let u2 = (self.next() >> 11) as f64 / (1u64 << 53) as f64;
        ((-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()) as f32
    }

    pub(crate) fn tensor<const D: usize>(
        &mut self,
        shape: [usize; D],
        std: f32,
        device: &burn::tensor::Device,
    ) -> burn::tensor::Tensor<D> {
        let n = shape.iter().product();
        let v: Vec<f32> = (0..n).map(|_| self.normal() * std).collect();
        burn::tensor::Tensor::from_data(burn::tensor::TensorData::new(v, shape), device)
    }
}

struct Redraw<'a>(&'a mut Rng);

impl burn::module::ModuleMapper for Redraw<'_> {
    fn map_float<const D: usize>(
        &mut self,
        param: burn::module::Param<burn::tensor::Tensor<D>>,
    ) -> burn::module::Param<burn::tensor::Tensor<D>> {
        let t = param.val();
        let values: Vec<f32> = t.clone().into_data().try_to_vec().unwrap();
        if values.iter().all(|&v| v == values[0]) {
            return param; // constants (BN's γ = 1, β = 0) stay as initialised
        }
        // He-style spread from the shape alone (not from the first draw, which comes from
        // burn's shared stream): weights 1/√fan-in, vectors (biases) 0.1.
        let dims = t.dims();
        let fan_in: usize = dims[1..].iter().product();
        let std = if D >= 2 {
            (1.0 / fan_in.max(1) as f32).sqrt()
        } else {
            0.1
        };
        let fresh = self.0.tensor(dims, std, &t.device());
        let fresh = fresh.set_require_grad(t.is_require_grad());
        burn::module::Param::initialized(param.id, fresh)
    }
}

/// `module` with every non-constant float parameter redrawn from `rng` (normal, spread from its
/// shape): the same weights whatever other tests draw meanwhile.
pub(crate) fn redraw<M: burn::module::Module>(module: M, rng: &mut Rng) -> M {
    module.map(&mut Redraw(rng))
}
