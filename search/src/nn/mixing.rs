//! Mixing weights of a supernet, pre-sliced into broadcastable scalars.

use burn::tensor::Tensor;

/// Per-op mixing weights, pre-sliced to `[1,1,1,1]` scalars once per forward and shared by all
/// cells (α is shared by every cell of the supernet).
pub type EdgeWeights = Vec<Vec<Tensor<4>>>;

/// Slices a `[E, K]` weight matrix into broadcastable scalars.
pub fn slice_weights(weights: &Tensor<2>) -> EdgeWeights {
    let [e, k] = weights.dims();
    (0..e)
        .map(|r| {
            (0..k)
                .map(|c| {
                    weights
                        .clone()
                        .slice([r..r + 1, c..c + 1])
                        .reshape([1, 1, 1, 1])
                })
                .collect()
        })
        .collect()
}
