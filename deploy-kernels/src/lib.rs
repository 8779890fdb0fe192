//! The inner loops of betadarts' own tract ops (1×1 convolution, depthwise convolution and
//! pooling in register tiles, strided copies, QDQ activations' 8-bit round trip), in a crate of
//! their own: no dependencies, and compiled at full speed even in the size-optimised
//! `device-min` build (Cargo's per-package opt-level). The tract ops around them are in
//! `betadarts-deploy` (`pointwise.rs`, `depthwise.rs`, `pool.rs`, `subsample.rs`,
//! `quant_pair.rs`). Every kernel runs on its calling thread; `tract_parallel.rs` there runs
//! whole ops side by side.

// `$body` once for each `$i` in `0..$n` (`$n` ≤ 16, a constant), as straight-line code: the
// tiles index their accumulators only by constants, so the compiler keeps every one in a
// register. With loops over the accumulator array it kept the array in memory and stored rows
// back at every input channel, which halved AVX-512's rate (one 64-byte store a cycle).
macro_rules! unroll {
    ($i:ident < $n:expr => $body:block) => {
        unroll!(@ $i, $n, $body, 0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15)
    };
    (@ $i:ident, $n:expr, $body:block, $($k:literal)*) => {
        $(
            if $k < $n {
                let $i: usize = $k;
                $body
            }
        )*
    };
}

pub mod depthwise;
#[cfg(test)]
mod depthwise_tests;
mod point_tiles;
pub mod pointwise;
#[cfg(test)]
mod pointwise_tests;
pub mod quant;
pub mod strided;
pub mod tile_choice;
mod tiles;
