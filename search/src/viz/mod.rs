//! Pictures of results: cell diagrams (SVG and Graphviz DOT) and α/β trajectories over epochs
//! (SVG line charts). Plain SVG text, no drawing library.

mod bars;
mod cell;
mod chart;

pub use bars::grouped_bars;
pub use cell::{CellGraph, DRAWN_BY, cells_dot, cells_svg, darts_cells, nb201_cell};
pub use chart::{beta_trajectories, line_chart};

/// Escapes text for SVG/XML.
pub(crate) fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Distinct line colours (Tableau 10).
pub(crate) const PALETTE: [&str; 10] = [
    "#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7",
    "#9c755f", "#bab0ac",
];
