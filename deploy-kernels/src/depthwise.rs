//! One channel plane of a depthwise convolution (NCHW, an optional ReLU on its input): its
//! geometry and the padded copy its taps read.
//!
//! The plane is first copied into a zero-padded scratch plane (the ReLU applied on the way),
//! split by column phase when the column stride is `s > 1` (columns `j ≡ φ mod s` in phase φ), so
//! that every tap reads contiguous columns, and wide enough that each output row is a whole
//! number of [`LANES`]-wide chunks: the tiles (`tiles.rs`) have no edge cases. The scratch
//! plane's padding is written once per geometry and thread; only its interior is rewritten. Max
//! pooling ([`max_planes`]) is the same walk with a maximum for a multiply-add and −∞ padding.

use std::cell::RefCell;

use crate::strided::every_nth;
use crate::tiles::{Max, MulAdd, Runner, runner};

/// Outputs per chunk: one AVX2 / two NEON registers.
pub const LANES: usize = 8;

/// The shape of one plane's convolution.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Geometry {
    /// Input plane, rows × columns.
    pub input: [usize; 2],
    /// Kernel rows × columns.
    pub kernel: [usize; 2],
    pub stride: [usize; 2],
    pub dilation: [usize; 2],
    /// Zero rows above and columns left of the input (those below and right follow from
    /// `output`).
    pub pad: [usize; 2],
    /// Output plane, rows × columns.
    pub output: [usize; 2],
}

impl Geometry {
    /// Rows of the padded plane and columns of each of its phases: what the last output row and
    /// the last (whole) chunk of each row read.
    pub(crate) fn padded(&self) -> [usize; 2] {
        let chunks = self.output[1].div_ceil(LANES) * LANES;
        [
            (self.output[0] - 1) * self.stride[0] + (self.kernel[0] - 1) * self.dilation[0] + 1,
            chunks + (self.kernel[1] - 1) * self.dilation[1] / self.stride[1],
        ]
    }

    pub fn taps(&self) -> usize {
        self.kernel[0] * self.kernel[1]
    }

    /// Multiply-adds of one plane.
    pub fn fma(&self) -> usize {
        self.output[0] * self.output[1] * self.taps()
    }

    /// Where each tap (row-major) of output row 0, column 0 reads in the phased padded plane;
    /// output row `oy` reads `oy · stride[0] · wq` further.
    fn taps_at(&self) -> Vec<usize> {
        let [hp, wq] = self.padded();
        let (rows, cols) = (0..self.kernel[0], 0..self.kernel[1]);
        rows.flat_map(|ky| cols.clone().map(move |kx| (ky, kx)))
            .map(|(ky, kx)| {
                let col = kx * self.dilation[1];
                let row = ky * self.dilation[0];
                ((col % self.stride[1]) * hp + row) * wq + col / self.stride[1]
            })
            .collect()
    }
}

/// A geometry's padded plane and its taps' offsets, kept by each thread.
pub(crate) struct Scratch {
    geometry: Geometry,
    /// The padding's value, as bits (0 for a convolution, −∞ for a max pool).
    pad: u32,
    pub(crate) plane: Vec<f32>,
    pub(crate) taps: Vec<usize>,
    runs: Vec<Run>,
    /// Floats from one output row's reads to the next's.
    pub(crate) row: usize,
}

thread_local! {
    /// Each thread's padded planes, one per geometry and padding value: the padding stays put
    /// between planes, only the interior is rewritten.
    static SCRATCH: RefCell<Vec<Scratch>> = const { RefCell::new(Vec::new()) };
}

/// The planes of a `[.., C, H, W]` map: `y_p = conv(relu?(x_p), k_c) + b_c`, where plane p is
/// channel c = p mod C. `x` and `y` hold whole input and output planes, as many of each; `k`
/// is `[C, taps]` and `b` `[C]`. Every value of `y` is written and none read.
#[allow(clippy::too_many_arguments)]
pub fn planes(g: &Geometry, x: &[f32], k: &[f32], b: &[f32], relu: bool, y: &mut [f32]) {
    planes_with(runner::<MulAdd>(), g, x, k, b, relu, y)
}

/// Max pooling of whole planes: `y_p[i, j]` is the largest of `x_p` under the window (padding
/// never wins). Windows are [`Geometry`]'s kernel; no weights.
pub fn max_planes(g: &Geometry, x: &[f32], y: &mut [f32]) {
    max_planes_with(runner::<Max>(), g, x, y)
}

pub(crate) fn max_planes_with(run: Runner, g: &Geometry, x: &[f32], y: &mut [f32]) {
    let unused = vec![0.0; g.taps()];
    each_plane(
        run,
        g,
        f32::NEG_INFINITY,
        x,
        &unused,
        &[f32::NEG_INFINITY],
        false,
        y,
    )
}

/// [`planes`] with the given tile runner (tests pass the portable one).
#[allow(clippy::too_many_arguments)]
pub(crate) fn planes_with(
    run: Runner,
    g: &Geometry,
    x: &[f32],
    k: &[f32],
    b: &[f32],
    relu: bool,
    y: &mut [f32],
) {
    each_plane(run, g, 0.0, x, k, b, relu, y)
}

/// Fills each plane into the scratch plane padded with `pad`, and runs its tiles.
#[allow(clippy::too_many_arguments)]
fn each_plane(
    run: Runner,
    g: &Geometry,
    pad: f32,
    x: &[f32],
    k: &[f32],
    b: &[f32],
    relu: bool,
    y: &mut [f32],
) {
    let (plane_in, plane_out, taps) =
        (g.input[0] * g.input[1], g.output[0] * g.output[1], g.taps());
    let channels = b.len();
    assert_eq!(k.len(), channels * taps, "kernel");
    if plane_out == 0 || plane_in == 0 || channels == 0 || g.stride.contains(&0) {
        // Nothing to compute; every output is still written (zero, as before callers stopped
        // initialising it).
        y.fill(0.0);
        return;
    }
    assert_eq!(
        x.len() / plane_in,
        y.len() / plane_out,
        "as many input as output planes"
    );
    SCRATCH.with_borrow_mut(|scratch| {
        let key = |s: &Scratch| s.geometry == *g && s.pad == pad.to_bits();
        let i = match scratch.iter().position(key) {
            Some(i) => i,
            None => {
                let [hp, wq] = g.padded();
                scratch.push(Scratch {
                    geometry: *g,
                    pad: pad.to_bits(),
                    plane: vec![pad; g.stride[1] * hp * wq],
                    taps: g.taps_at(),
                    runs: g.runs(),
                    row: g.stride[0] * wq,
                });
                scratch.len() - 1
            }
        };
        let s = &mut scratch[i];
        let pairs = x.chunks_exact(plane_in).zip(y.chunks_exact_mut(plane_out));
        for (p, (x, y)) in pairs.enumerate() {
            let c = p % channels;
            fill(g, x, relu, s);
            run(g, s, &k[c * taps..][..taps], b[c], y);
        }
    })
}

/// One column phase's share of an input row: `count` values from column `from`, every
/// `stride`-th, written contiguously at `at` in the phase's row.
#[derive(Debug, Clone, Copy)]
struct Run {
    at: usize,
    from: usize,
    count: usize,
}

impl Geometry {
    /// Where an input row's values go in the phased padded plane (an offset from the row's
    /// start in phase 0): one run per column phase.
    fn runs(&self) -> Vec<Run> {
        let [hp, wq] = self.padded();
        let (s, pad) = (self.stride[1], self.pad[1]);
        (0..s)
            .filter_map(|phase| {
                // The first padded column j ≥ pad with j ≡ phase (mod s) holds input column from.
                let j = pad + (phase + s - pad % s) % s;
                let (q, from) = (j / s, j - pad);
                let count =
                    (wq.saturating_sub(q)).min(self.input[1].saturating_sub(from).div_ceil(s));
                (count > 0).then_some(Run {
                    at: phase * hp * wq + q,
                    from,
                    count,
                })
            })
            .collect()
    }
}

/// Copies `x` (ReLU'd if asked) into the padded plane's interior. Input rows or columns that no
/// output reads (past the last stride step) are left out.
fn fill(g: &Geometry, x: &[f32], relu: bool, s: &mut Scratch) {
    if relu {
        fill_rows::<true>(g, x, s)
    } else {
        fill_rows::<false>(g, x, s)
    }
}

fn fill_rows<const RELU: bool>(g: &Geometry, x: &[f32], s: &mut Scratch) {
    // Written as a select, not `max`, so that it vectorises (NaN becomes 0, as with `max`).
    let act = |v: f32| if !RELU || v > 0.0 { v } else { 0.0 };
    let [hp, wq] = g.padded();
    let stride = g.stride[1];
    for (row, src) in x.chunks_exact(g.input[1]).enumerate() {
        let py = row + g.pad[0];
        if py >= hp {
            break;
        }
        for r in &s.runs {
            let dst = &mut s.plane[py * wq + r.at..][..r.count];
            let src = &src[r.from..][..(r.count - 1) * stride + 1];
            every_nth(dst, src, stride, act);
        }
    }
}
