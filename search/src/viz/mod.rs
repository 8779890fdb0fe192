//! Pictures of results: cell diagrams (SVG and Graphviz DOT, plain SVG text) and charts over
//! epochs drawn with plotters as SVG and PNG: β per edge, losses and accuracies, study
//! comparisons (axes with tick values, legends, each panel scaled to its data).

mod bars;
mod cell;
mod chart;
mod figure;

pub use bars::grouped_means;
pub use cell::{CellGraph, DRAWN_BY, cells_dot, cells_svg, darts_cells, nb201_cell};
pub use chart::{beta_trajectories, line_chart};
pub use figure::Picture;

/// Escapes text for SVG/XML.
pub(crate) fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}
