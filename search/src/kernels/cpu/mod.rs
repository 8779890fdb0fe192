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

use rayon::prelude::*;

/// Elements below which a kernel stays on the calling thread: handing a job to the pool and
/// waiting for it costs tens of microseconds, more than small kernels take (flex uses 256K).
const PARALLEL_MIN: usize = 1 << 17;

pub(crate) fn parallel(work: usize) -> bool {
    work >= PARALLEL_MIN && rayon::current_num_threads() > 1
}

/// `f(i, piece)` for the `chunk`-long pieces of `out`, in parallel when `out` is large.
pub(crate) fn rows_mut<F>(out: &mut [f32], chunk: usize, f: F)
where
    F: Fn(usize, &mut [f32]) + Sync + Send,
{
    if parallel(out.len()) {
        out.par_chunks_mut(chunk)
            .enumerate()
            .with_min_len(4)
            .for_each(|(i, c)| f(i, c));
    } else {
        out.chunks_mut(chunk).enumerate().for_each(|(i, c)| f(i, c));
    }
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

/// A zeroed buffer of `n` floats, zeroed in parallel when large: the allocator's own zeroing
/// (calloc on reused memory) runs on the calling thread alone, ~8% of a DARTS training step.
pub(crate) fn zeroed(n: usize) -> Vec<f32> {
    if parallel(n) {
        let mut v = Vec::with_capacity(n);
        rayon::iter::repeat_n(0.0f32, n).collect_into_vec(&mut v);
        v
    } else {
        vec![0.0; n]
    }
}
