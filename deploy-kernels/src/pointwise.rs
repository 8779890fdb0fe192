//! A 1×1 convolution of one channel-major image (`y[M × N] = W[M × K] · relu?(x[K × N]) + b`)
//! that reads the map where it lies.
//!
//! A general matrix product packs both operands into panels for every call; here the weights are
//! constant, so they are packed once (panels of `MR` output channels, input channel by input
//! channel), and the map is read in place: a row of the map is one input channel, contiguous in
//! the pixels, which is exactly what a register tile's columns load. The tiles hold `MR` output
//! channels × `NV` registers of pixels (`point_tiles.rs`); the last, narrower block of pixels is
//! copied into a zero-padded block first, so the tiles have no edge cases.

use std::cell::RefCell;
use std::ops::Range;

use crate::point_tiles::{Isa, Tiles};
use crate::tile_choice;

/// The packed weights of one 1×1 convolution, for the kernels this CPU runs.
#[derive(Debug, Clone, PartialEq)]
pub struct Pointwise {
    outputs: usize,
    inputs: usize,
    tiles: Tiles,
    /// `panels × inputs × mr` weights: panel `p`, input `k`, row `i` is `W[p·mr + i, k]` (zero
    /// past the last output channel).
    panels: Vec<f32>,
    /// `panels × mr` biases, zero-padded like the weights.
    bias: Vec<f32>,
}

impl Pointwise {
    /// Packs `weights` (`[outputs, inputs]`, row-major) and `bias` (`[outputs]`) for the tiles
    /// this process runs (`tile_choice.rs`).
    pub fn new(weights: &[f32], bias: &[f32], outputs: usize, inputs: usize) -> Pointwise {
        Self::with_isa(tile_choice::chosen(), weights, bias, outputs, inputs)
    }

    /// As [`Pointwise::new`], on the tiles of `isa` (one this CPU runs).
    pub(crate) fn with_isa(
        isa: Isa,
        weights: &[f32],
        bias: &[f32],
        outputs: usize,
        inputs: usize,
    ) -> Pointwise {
        Self::for_tiles(Tiles::of(isa), weights, bias, outputs, inputs)
    }

    fn for_tiles(
        tiles: Tiles,
        weights: &[f32],
        bias: &[f32],
        outputs: usize,
        inputs: usize,
    ) -> Pointwise {
        assert_eq!(weights.len(), outputs * inputs, "weights of a 1×1 conv");
        assert_eq!(bias.len(), outputs, "biases of a 1×1 conv");
        let mr = tiles.rows();
        let count = outputs.div_ceil(mr);
        let mut panels = vec![0f32; count * inputs * mr];
        let mut padded = vec![0f32; count * mr];
        for (o, w) in weights.chunks_exact(inputs.max(1)).enumerate() {
            let panel = &mut panels[o / mr * inputs * mr..][..inputs * mr];
            for (k, &w) in w.iter().enumerate() {
                panel[k * mr + o % mr] = w;
            }
        }
        padded[..outputs].copy_from_slice(bias);
        Pointwise {
            outputs,
            inputs,
            tiles,
            panels,
            bias: padded,
        }
    }

    pub fn outputs(&self) -> usize {
        self.outputs
    }

    pub fn inputs(&self) -> usize {
        self.inputs
    }

    fn panel_rows(&self) -> usize {
        self.tiles.rows()
    }

    /// Every output channel at pixels `cols` of one image: `x` is `[inputs × n]`; `y` holds one
    /// slice per output channel, `cols.len()` long (where the pixels go). `cols` starts at a
    /// multiple of [`Pointwise::block`] (where a caller may split an image). With `add`, the products
    /// are added to what `y` holds (a sum that follows the conv, fused).
    pub fn run(
        &self,
        x: &[f32],
        n: usize,
        (relu, add): (bool, bool),
        cols: Range<usize>,
        y: &mut [&mut [f32]],
    ) {
        let (mr, k, nr) = (self.panel_rows(), self.inputs, self.block());
        assert_eq!(x.len(), k * n, "a 1×1 conv's input is inputs × pixels");
        assert!(
            cols.start.is_multiple_of(nr) && cols.end <= n,
            "pixels {cols:?} of {n}"
        );
        assert_eq!(y.len(), self.outputs, "a 1×1 conv's output rows");
        assert!(
            y.iter().all(|r| r.len() == cols.len()),
            "output rows of {} pixels",
            cols.len()
        );
        let panel = |p: usize| {
            let w = &self.panels[p * k * mr..][..k * mr];
            (w, &self.bias[p * mr..][..mr])
        };
        // Pixel blocks outside, panels inside: a block of the map stays in cache for every panel.
        for p0 in (cols.start..cols.end).step_by(nr) {
            let live = nr.min(cols.end - p0);
            let at = p0 - cols.start;
            if live == nr {
                for (p, rows) in y.chunks_mut(mr).enumerate() {
                    let (w, b) = panel(p);
                    self.tiles.run(w, b, x, n, p0, (relu, add), rows, at, nr);
                }
                continue;
            }
            BLOCK.with_borrow_mut(|block| {
                block.clear();
                block.resize(k * nr, 0.0);
                for (dst, src) in block.chunks_exact_mut(nr).zip(x.chunks_exact(n)) {
                    dst[..live].copy_from_slice(&src[p0..p0 + live]);
                }
                for (p, rows) in y.chunks_mut(mr).enumerate() {
                    let (w, b) = panel(p);
                    self.tiles
                        .run(w, b, block, nr, 0, (relu, add), rows, at, live);
                }
            });
        }
    }

    /// Pixels per register tile: where a caller may split an image.
    pub fn block(&self) -> usize {
        self.tiles.columns()
    }
}

thread_local! {
    /// A block of pixels of every input channel, contiguous and zero-padded to a whole tile (per
    /// thread, reused).
    static BLOCK: RefCell<Vec<f32>> = const { RefCell::new(Vec::new()) };
}
