//! The CPU kernels behind [`super::Fused`] on flex: plain loops over contiguous f32 slices,
//! vectorised by the compiler and spread over flex's rayon pool when the work is large.

pub mod conv;
pub mod depthwise;
mod depthwise_fast;
pub mod gemm;
pub mod max_pool;
pub mod mix;
pub mod norm;
pub mod pool;

use std::mem::MaybeUninit;

use rayon::prelude::*;

/// Elements below which a kernel stays on the calling thread: handing a job to the pool and
/// waiting for it costs tens of microseconds, more than small kernels take (flex uses 256K).
const PARALLEL_MIN: usize = 1 << 17;

pub(crate) fn parallel(work: usize) -> bool {
    work >= PARALLEL_MIN && rayon::current_num_threads() > 1
}

/// `(0..n).map(f).collect()`, in parallel when `work` (elements touched) is large.
pub(crate) fn map<T, F>(n: usize, work: usize, f: F) -> Vec<T>
where
    T: Send,
    F: Fn(usize) -> T + Sync + Send,
{
    if parallel(work) {
        (0..n).into_par_iter().map(f).collect()
    } else {
        (0..n).map(f).collect()
    }
}

/// A new buffer of `n` floats built piece by piece: `f(i, piece)` for its `chunk`-long pieces,
/// in parallel when large. Each piece is zeroed in the worker just before `f` sees it,
/// so the zeroing writes to cache: zeroing the whole buffer first (calloc on reused memory, or
/// a parallel memset) writes all of it to memory once more, which cost 8–10% of a DARTS_V2
/// training step.
pub(crate) fn build<F>(n: usize, chunk: usize, f: F) -> Vec<f32>
where
    F: Fn(usize, &mut [f32]) + Sync + Send,
{
    build_with(n, chunk, n, || (), |_, i, piece| f(i, piece))
}

/// [`build`] in parallel when `work` (elements touched) is large, with per-worker scratch
/// state made by `init` (e.g. a column buffer).
pub(crate) fn build_with<S, I, F>(n: usize, chunk: usize, work: usize, init: I, f: F) -> Vec<f32>
where
    I: Fn() -> S + Sync + Send,
    F: Fn(&mut S, usize, &mut [f32]) + Sync + Send,
{
    if n == 0 {
        return Vec::new();
    }
    let mut v: Vec<f32> = Vec::with_capacity(n);
    let run = |state: &mut S, (i, piece): (usize, &mut [MaybeUninit<f32>])| {
        piece.fill(MaybeUninit::new(0.0));
        #[allow(unsafe_code)]
        // SAFETY: every element of `piece` was initialised on the line above, and
        // MaybeUninit<f32> has f32's layout.
        let piece = unsafe { &mut *(piece as *mut [MaybeUninit<f32>] as *mut [f32]) };
        f(state, i, piece)
    };
    let spare = &mut v.spare_capacity_mut()[..n];
    if parallel(work) {
        spare
            .par_chunks_mut(chunk)
            .enumerate()
            .with_min_len(4)
            .for_each_init(&init, |state, item| run(state, item));
    } else {
        let mut state = init();
        spare
            .chunks_mut(chunk)
            .enumerate()
            .for_each(|item| run(&mut state, item));
    }
    #[allow(unsafe_code)]
    // SAFETY: capacity ≥ n, and the loop above initialised the first n elements (its pieces
    // cover `spare`, which is `[..n]`); had `f` panicked we would not be here.
    unsafe {
        v.set_len(n);
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every piece arrives zeroed and in its place, on the serial and the parallel path
    /// (a piece of a reused allocation would otherwise hold the last call's values).
    #[test]
    fn build_zeroes_each_piece_and_keeps_the_order() {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(2)
            .build()
            .unwrap();
        for n in [10, PARALLEL_MIN * 2 + 7] {
            for _ in 0..3 {
                let v = pool.install(|| {
                    build_with(
                        n,
                        5,
                        n,
                        || 0usize,
                        |calls, i, piece| {
                            *calls += 1;
                            assert!(piece.iter().all(|&x| x == 0.0), "piece {i} not zeroed");
                            piece.iter_mut().for_each(|x| *x += i as f32);
                        },
                    )
                });
                assert_eq!(v.len(), n);
                assert!(v.iter().enumerate().all(|(k, &x)| x == (k / 5) as f32));
                drop(v); // the next round's allocation likely reuses this memory
            }
        }
        assert!(build(0, 4, |_, _| unreachable!()).is_empty());
    }
}
