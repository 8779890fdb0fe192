//! The register tiles of the 1×1 convolution: `MR` output channels × `NV` registers of pixels,
//! accumulated over every input channel (one broadcast weight per row, one load of the map per
//! register). Compiled for AVX2 + FMA (chosen at run time) and portably (which aarch64's
//! baseline NEON vectorises). Every output is the bias plus its products in input-channel order,
//! one fused multiply-add each, whatever the tile: the same bits on either.
//!
//! Which tiles run is measured, not assumed (`tile_choice.rs`): AVX-512's 12 × 32 ran 1.6× the
//! AVX2 6 × 16 on a Sapphire Rapids Xeon (two 512-bit FMA units); CPUs that split 512-bit FMAs
//! in halves (AMD Zen 4) or run them on one unit have no more arithmetic per cycle to offer.

/// The instruction sets the tiles are compiled for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Isa {
    #[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
    Avx512,
    #[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
    Avx2,
    Portable,
}

impl Isa {
    /// The instruction sets this CPU runs, fastest first in theory.
    pub(crate) fn available() -> Vec<Isa> {
        let mut isas = Vec::new();
        #[cfg(target_arch = "x86_64")]
        {
            if std::arch::is_x86_feature_detected!("avx512f") {
                isas.push(Isa::Avx512);
            }
            if std::arch::is_x86_feature_detected!("avx2")
                && std::arch::is_x86_feature_detected!("fma")
            {
                isas.push(Isa::Avx2);
            }
        }
        isas.push(Isa::Portable);
        isas
    }

    /// Its name in [`crate::tile_choice::VAR`].
    pub(crate) fn name(self) -> &'static str {
        match self {
            Isa::Avx512 => "avx512",
            Isa::Avx2 => "avx2",
            Isa::Portable => "portable",
        }
    }
}

/// Registers of pixels per portable tile: two where NEON runs them, one on x86-64, where they
/// serve only CPUs without AVX2 (smaller code in the size-optimised binary).
const PORTABLE_NV: usize = if cfg!(target_arch = "x86_64") { 1 } else { 2 };

/// A tile shape on an instruction set: AVX-512's 32 registers hold 12 × 2 accumulators,
/// AVX2's 16 hold 6 × 2, NEON's 32 the portable 4 × (2 × 8 floats).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Tiles {
    Avx512Rows12,
    Avx2Rows6,
    PortableRows4,
}

impl Tiles {
    /// The tiles of `isa`.
    pub(crate) fn of(isa: Isa) -> Tiles {
        // The x86 tiles' `unsafe` rests on this.
        assert!(
            Isa::available().contains(&isa),
            "{} tiles on a CPU without it",
            isa.name()
        );
        match isa {
            Isa::Avx512 => Tiles::Avx512Rows12,
            Isa::Avx2 => Tiles::Avx2Rows6,
            Isa::Portable => Tiles::PortableRows4,
        }
    }

    /// Output channels per tile (`MR`).
    pub(crate) fn rows(self) -> usize {
        match self {
            Tiles::Avx512Rows12 => 12,
            Tiles::Avx2Rows6 => 6,
            Tiles::PortableRows4 => 4,
        }
    }

    /// Pixels per tile (`NV` registers).
    pub(crate) fn columns(self) -> usize {
        match self {
            Tiles::Avx512Rows12 => 32,
            Tiles::Avx2Rows6 => 16,
            Tiles::PortableRows4 => PORTABLE_NV * 8,
        }
    }

    /// One tile: the panel `w` (`inputs × MR`) and biases `b` (`MR`) times pixels `p0..` of `x`
    /// (rows `ldx` apart, a whole tile's width readable); its first `cols` columns stored at
    /// `at` in the output rows `y` (up to `MR` of them), or added to what they hold (`add`).
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn run(
        self,
        w: &[f32],
        b: &[f32],
        x: &[f32],
        ldx: usize,
        p0: usize,
        (relu, add): (bool, bool),
        y: &mut [&mut [f32]],
        at: usize,
        cols: usize,
    ) {
        let t = Tile {
            w,
            b,
            x,
            ldx,
            p0,
            at,
            cols,
            add,
        };
        match (self, relu) {
            #[cfg(target_arch = "x86_64")]
            (Tiles::Avx512Rows12, false) => x86::avx512::<12, false>(t, y),
            #[cfg(target_arch = "x86_64")]
            (Tiles::Avx512Rows12, true) => x86::avx512::<12, true>(t, y),
            #[cfg(target_arch = "x86_64")]
            (Tiles::Avx2Rows6, false) => x86::avx2::<6, false>(t, y),
            #[cfg(target_arch = "x86_64")]
            (Tiles::Avx2Rows6, true) => x86::avx2::<6, true>(t, y),
            (Tiles::PortableRows4, false) => tile::<Portable, 4, PORTABLE_NV, false>(t, y),
            (Tiles::PortableRows4, true) => tile::<Portable, 4, PORTABLE_NV, true>(t, y),
            #[allow(unreachable_patterns)]
            _ => unreachable!("{self:?} tiles are only made where the CPU runs them"),
        }
    }
}

/// Where one tile reads and what of it is stored.
pub(crate) struct Tile<'a> {
    w: &'a [f32],
    b: &'a [f32],
    x: &'a [f32],
    ldx: usize,
    p0: usize,
    at: usize,
    cols: usize,
    add: bool,
}

/// A register of `WIDTH` floats.
pub(crate) trait Vector: Copy {
    const WIDTH: usize;
    fn splat(v: f32) -> Self;
    /// `src[..WIDTH]`
    fn load(src: &[f32]) -> Self;
    fn relu(self) -> Self;
    fn add(self, other: Self) -> Self;
    /// `acc + self · x`
    fn mul_add(self, x: Self, acc: Self) -> Self;
    /// Into `dst[..WIDTH]`.
    fn store(self, dst: &mut [f32]);
}

#[inline(always)]
fn tile<V: Vector, const MR: usize, const NV: usize, const RELU: bool>(
    t: Tile,
    y: &mut [&mut [f32]],
) {
    let width = NV * V::WIDTH;
    let mut acc = [[V::splat(0.0); NV]; MR];
    unroll!(i < MR => {
        unroll!(j < NV => { acc[i][j] = V::splat(t.b[i]); });
    });
    for (k, w) in t.w.chunks_exact(MR).enumerate() {
        let w: &[f32; MR] = w.try_into().expect("MR weights");
        let src = &t.x[k * t.ldx + t.p0..][..width];
        let mut xs = [V::splat(0.0); NV];
        unroll!(j < NV => {
            let v = V::load(&src[j * V::WIDTH..]);
            xs[j] = if RELU { v.relu() } else { v };
        });
        unroll!(i < MR => {
            let w = V::splat(w[i]);
            unroll!(j < NV => { acc[i][j] = w.mul_add(xs[j], acc[i][j]); });
        });
    }
    let store = |a: V, dst: &mut [f32]| match t.add {
        true => a.add(V::load(dst)).store(dst),
        false => a.store(dst),
    };
    unroll!(i < MR => {
        if let Some(dst) = y.get_mut(i) {
            let dst = &mut dst[t.at..];
            if t.cols == width {
                unroll!(j < NV => { store(acc[i][j], &mut dst[j * V::WIDTH..]); });
            } else {
                let mut row = [0f32; 64];
                // Only a sum reads the output (without one it may be uninitialised memory).
                if t.add {
                    row[..t.cols].copy_from_slice(&dst[..t.cols]);
                }
                unroll!(j < NV => { store(acc[i][j], &mut row[j * V::WIDTH..]); });
                dst[..t.cols].copy_from_slice(&row[..t.cols]);
            }
        }
    });
}

/// Eight floats in an array: vectorised by the compiler for the target's baseline.
#[derive(Clone, Copy)]
struct Portable([f32; 8]);

impl Vector for Portable {
    const WIDTH: usize = 8;

    #[inline(always)]
    fn splat(v: f32) -> Self {
        Portable([v; 8])
    }

    #[inline(always)]
    fn load(src: &[f32]) -> Self {
        Portable(src[..8].try_into().expect("8 floats"))
    }

    #[inline(always)]
    fn relu(self) -> Self {
        Portable(self.0.map(|v| v.max(0.0)))
    }

    #[inline(always)]
    fn add(self, other: Self) -> Self {
        Portable(std::array::from_fn(|i| self.0[i] + other.0[i]))
    }

    #[inline(always)]
    fn mul_add(self, x: Self, acc: Self) -> Self {
        // aarch64's baseline has a fused multiply-add; elsewhere `mul_add` is a libm call.
        Portable(std::array::from_fn(|i| {
            if cfg!(target_arch = "aarch64") {
                self.0[i].mul_add(x.0[i], acc.0[i])
            } else {
                acc.0[i] + self.0[i] * x.0[i]
            }
        }))
    }

    #[inline(always)]
    fn store(self, dst: &mut [f32]) {
        dst[..8].copy_from_slice(&self.0);
    }
}

#[cfg(target_arch = "x86_64")]
#[path = "point_tiles_x86.rs"]
mod x86;
