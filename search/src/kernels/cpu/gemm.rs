//! Matrix products on slices through the `gemm` crate (AVX-512 kernels where the CPU has them,
//! chosen at run time): `c ← a·b` or `c ← c + a·b`, each operand row-major or transposed.
//!
//! One of the two places in the crate with `unsafe` (the other: `cpu::build_with`, which
//! zeroes each piece of a new buffer in the worker that fills it): `gemm::gemm` takes raw
//! pointers and strides. The wrapper makes it sound by construction — every operand is a slice whose length
//! is checked to cover the whole matrix it describes (positive strides only), and `c` is a
//! `&mut` borrow, so it cannot alias `a` or `b`.

/// A row-major `rows × cols` view of a slice, optionally read transposed.
#[derive(Debug, Clone, Copy)]
pub struct Mat<'a> {
    pub data: &'a [f32],
    pub rows: usize,
    pub cols: usize,
    /// Read as its transpose (`cols × rows`).
    pub t: bool,
}

impl<'a> Mat<'a> {
    pub fn new(data: &'a [f32], rows: usize, cols: usize) -> Self {
        Self {
            data,
            rows,
            cols,
            t: false,
        }
    }

    pub fn t(self) -> Self {
        Self { t: !self.t, ..self }
    }

    /// Logical shape (after the transpose flag).
    fn shape(&self) -> (usize, usize) {
        if self.t {
            (self.cols, self.rows)
        } else {
            (self.rows, self.cols)
        }
    }

    /// (row stride, column stride) of the logical matrix, in elements.
    fn strides(&self) -> (isize, isize) {
        if self.t {
            (1, self.cols as isize)
        } else {
            (self.cols as isize, 1)
        }
    }
}

/// `c[m×n] ← a[m×k]·b[k×n]` (`accumulate`: `c ← c + a·b`); `c` is row-major.
///
/// # Panics
/// When the shapes disagree or a slice is shorter than its matrix (a bug in the caller).
pub fn matmul(c: &mut [f32], a: Mat, b: Mat, accumulate: bool) {
    let ((m, k), (k2, n)) = (a.shape(), b.shape());
    assert_eq!(k, k2, "matmul: inner dimensions");
    assert!(
        a.data.len() >= a.rows * a.cols,
        "matmul: lhs slice too short"
    );
    assert!(
        b.data.len() >= b.rows * b.cols,
        "matmul: rhs slice too short"
    );
    assert!(c.len() >= m * n, "matmul: output slice too short");
    if m == 0 || n == 0 {
        return;
    }
    if k == 0 {
        if !accumulate {
            c[..m * n].fill(0.0);
        }
        return;
    }
    let (a_rs, a_cs) = a.strides();
    let (b_rs, b_cs) = b.strides();
    #[allow(unsafe_code)]
    // SAFETY: the asserts above put every element gemm touches in bounds: `a` spans
    // rows·cols ≥ m·k elements addressed with strides (cols, 1) or (1, cols), likewise `b`;
    // `c` has ≥ m·n elements addressed as row-major m×n. `c` is borrowed mutably, so it
    // does not overlap `a` or `b`. With `accumulate` false (read_dst false) gemm ignores c's
    // prior contents.
    unsafe {
        ::gemm::gemm(
            m,
            n,
            k,
            c.as_mut_ptr(),
            1,
            n as isize,
            accumulate,
            a.data.as_ptr(),
            a_cs,
            a_rs,
            b.data.as_ptr(),
            b_cs,
            b_rs,
            1.0,
            1.0,
            false,
            false,
            false,
            ::gemm::Parallelism::None,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naive(a: &[f32], b: &[f32], m: usize, k: usize, n: usize) -> Vec<f32> {
        (0..m * n)
            .map(|i| (0..k).map(|p| a[i / n * k + p] * b[p * n + i % n]).sum())
            .collect()
    }

    fn transpose(x: &[f32], rows: usize, cols: usize) -> Vec<f32> {
        (0..rows * cols)
            .map(|i| x[(i % rows) * cols + i / rows])
            .collect()
    }

    #[test]
    fn products_and_transposes_match_the_definition() {
        for (m, k, n) in [(1, 1, 1), (3, 5, 2), (17, 33, 9), (48, 144, 64)] {
            let a: Vec<f32> = (0..m * k).map(|i| (i % 7) as f32 - 3.0).collect();
            let b: Vec<f32> = (0..k * n).map(|i| (i % 5) as f32 * 0.5).collect();
            let want = naive(&a, &b, m, k, n);
            let mut c = vec![f32::NAN; m * n]; // not read when not accumulating
            matmul(&mut c, Mat::new(&a, m, k), Mat::new(&b, k, n), false);
            assert_eq!(c, want);
            // The same product from transposed storage, then accumulated once more.
            let (at, bt) = (transpose(&a, m, k), transpose(&b, k, n));
            matmul(
                &mut c,
                Mat::new(&at, k, m).t(),
                Mat::new(&bt, n, k).t(),
                true,
            );
            let twice: Vec<f32> = want.iter().map(|v| 2.0 * v).collect();
            assert_eq!(c, twice);
        }
    }

    #[test]
    #[should_panic(expected = "rhs slice too short")]
    fn short_slices_are_refused() {
        let mut c = vec![0.0; 4];
        matmul(
            &mut c,
            Mat::new(&[1.0; 4], 2, 2),
            Mat::new(&[1.0; 3], 2, 2),
            false,
        );
    }
}
