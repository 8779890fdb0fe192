//! Cell diagrams laid out left to right: inputs on the left, the output on the right, one
//! labelled arrow per edge (as DARTS' `visualize.py`, without needing Graphviz installed).

use std::fmt::Write;

use super::esc;
use crate::darts::Genotype;
use crate::nb201::{Arch, Op};

/// A cell as a layered graph: nodes with a column, edges with op labels.
#[derive(Debug, Clone)]
pub struct CellGraph {
    pub title: String,
    /// (label, column, y position, fill colour)
    pub nodes: Vec<(String, usize, f64, &'static str)>,
    /// (from, to, label, dashed)
    pub edges: Vec<(usize, usize, String, bool)>,
}

const INPUT: &str = "#a6d8a6";
const INNER: &str = "#add8e6";
const OUTPUT: &str = "#f5e08a";

/// The normal and the reduction cell of a genotype.
pub fn darts_cells(g: &Genotype) -> Vec<CellGraph> {
    [
        ("normal cell", &g.normal, &g.normal_concat),
        ("reduction cell", &g.reduce, &g.reduce_concat),
    ]
    .into_iter()
    .map(|(title, cell, concat)| {
        let steps = cell.len() / 2;
        let mut nodes = vec![
            ("c_{k-2}".to_string(), 0, 50.0, INPUT),
            ("c_{k-1}".to_string(), 0, 210.0, INPUT),
        ];
        for i in 0..steps {
            // Zigzag, so that arrows skipping a node do not run through it.
            nodes.push((
                i.to_string(),
                i + 1,
                if i % 2 == 0 { 95.0 } else { 165.0 },
                INNER,
            ));
        }
        nodes.push(("c_{k}".to_string(), steps + 1, 130.0, OUTPUT));
        let out = nodes.len() - 1;
        let mut edges: Vec<(usize, usize, String, bool)> = cell
            .iter()
            .enumerate()
            .map(|(k, (op, j))| (*j, k / 2 + 2, op.clone(), false))
            .collect();
        edges.extend(concat.iter().map(|&c| (c, out, String::new(), true)));
        CellGraph {
            title: title.to_string(),
            nodes,
            edges,
        }
    })
    .collect()
}

/// An NB201 cell: nodes 0..3 in a row; `none` edges dashed.
pub fn nb201_cell(arch: &Arch) -> CellGraph {
    let nodes = (0..4)
        .map(|i| {
            (
                i.to_string(),
                i,
                if i % 2 == 0 { 80.0 } else { 150.0 },
                if i == 0 {
                    INPUT
                } else if i == 3 {
                    OUTPUT
                } else {
                    INNER
                },
            )
        })
        .collect();
    let mut edges = Vec::new();
    for to in 1..=3 {
        for from in 0..to {
            let op = arch.op(to, from);
            edges.push((from, to, op.name().to_string(), op == Op::None));
        }
    }
    CellGraph {
        title: "NAS-Bench-201 cell".into(),
        nodes,
        edges,
    }
}

impl CellGraph {
    /// Graphviz source (`dot -Tpdf` renders it).
    pub fn to_dot(&self, name: &str) -> String {
        let mut s = String::new();
        let _ = writeln!(
            s,
            "subgraph \"cluster_{name}\" {{\n  label=\"{}\";",
            self.title
        );
        for (i, (label, _, _, fill)) in self.nodes.iter().enumerate() {
            let _ = writeln!(
                s,
                "  \"{name}_{i}\" [label=\"{label}\", style=\"filled\", fillcolor=\"{fill}\", shape=box];"
            );
        }
        for (a, b, label, dashed) in &self.edges {
            let style = if *dashed {
                ", style=dashed, color=gray"
            } else {
                ""
            };
            let _ = writeln!(
                s,
                "  \"{name}_{a}\" -> \"{name}_{b}\" [label=\"{label}\"{style}];"
            );
        }
        s.push_str("}\n");
        s
    }

    fn pos(&self, i: usize) -> (f64, f64) {
        let (_, col, y, _) = &self.nodes[i];
        (70.0 + *col as f64 * 170.0, *y)
    }

    fn width(&self) -> f64 {
        let cols = self.nodes.iter().map(|n| n.1).max().unwrap_or(0) + 1;
        70.0 * 2.0 + (cols - 1) as f64 * 170.0
    }

    /// SVG fragment drawn at vertical offset `dy`; returns its height.
    fn svg_into(&self, out: &mut String, dy: f64) -> f64 {
        let _ = writeln!(out, "<g transform=\"translate(0,{dy})\">");
        let _ = writeln!(
            out,
            "<text x=\"10\" y=\"16\" font-weight=\"bold\">{}</text>",
            esc(&self.title)
        );
        for (k, (a, b, label, dashed)) in self.edges.iter().enumerate() {
            let (x1, y1) = self.pos(*a);
            let (x2, y2) = self.pos(*b);
            // Bend each arrow by an amount that depends on its span and index, so that parallel
            // edges and labels do not overlap.
            let span = (self.nodes[*b].1 as f64 - self.nodes[*a].1 as f64).abs();
            let bend = if span <= 1.0 {
                0.0
            } else {
                (span - 1.0) * 28.0 * if k % 2 == 0 { 1.0 } else { -1.0 }
            };
            let (mx, my) = ((x1 + x2) / 2.0, (y1 + y2) / 2.0 + bend);
            let dash = if *dashed {
                " stroke-dasharray=\"5,4\" stroke=\"#999\""
            } else {
                " stroke=\"#333\""
            };
            let _ = writeln!(
                out,
                "<path d=\"M{:.1},{:.1} Q{mx:.1},{my:.1} {:.1},{:.1}\" fill=\"none\"{dash} marker-end=\"url(#arrow)\"/>",
                x1 + 28.0,
                y1,
                x2 - 30.0,
                y2
            );
            if !label.is_empty() {
                let (lx, ly) = (
                    0.25 * x1 + 0.5 * mx + 0.25 * x2,
                    0.25 * y1 + 0.5 * my + 0.25 * y2,
                );
                // A white box behind the label keeps it readable over crossing edges. (A white
                // text stroke under `paint-order` did the same in browsers, but cairo and older
                // librsvg ignore paint-order and painted the stroke over the letters.)
                let w = 6.4 * label.chars().count() as f64 + 4.0;
                let _ = writeln!(
                    out,
                    "<rect x=\"{:.1}\" y=\"{:.1}\" width=\"{w:.1}\" height=\"13\" fill=\"white\" fill-opacity=\"0.85\"/>",
                    lx - w / 2.0,
                    ly - 13.0
                );
                let _ = writeln!(
                    out,
                    "<text x=\"{lx:.1}\" y=\"{:.1}\" font-size=\"11\" text-anchor=\"middle\" fill=\"#222\">{}</text>",
                    ly - 3.0,
                    esc(label)
                );
            }
        }
        for (i, (label, _, _, fill)) in self.nodes.iter().enumerate() {
            let (x, y) = self.pos(i);
            let _ = writeln!(
                out,
                "<rect x=\"{:.1}\" y=\"{:.1}\" width=\"56\" height=\"28\" rx=\"6\" fill=\"{fill}\" stroke=\"#333\"/>",
                x - 28.0,
                y - 14.0
            );
            let _ = writeln!(
                out,
                "<text x=\"{x:.1}\" y=\"{:.1}\" font-size=\"12\" text-anchor=\"middle\">{}</text>",
                y + 4.0,
                esc(label)
            );
        }
        out.push_str("</g>\n");
        240.0
    }
}

/// Written into every cell diagram, so that a later `genotype draw` knows the file is its own
/// to replace.
pub const DRAWN_BY: &str = "drawn by betadarts";

/// One SVG with the cells stacked vertically.
pub fn cells_svg(cells: &[CellGraph]) -> String {
    let width = cells.iter().map(CellGraph::width).fold(300.0, f64::max);
    let mut body = String::new();
    let mut y = 0.0;
    for c in cells {
        y += c.svg_into(&mut body, y);
    }
    format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width:.0}\" height=\"{y:.0}\" font-family=\"sans-serif\">\n\
         <!-- {DRAWN_BY} -->\n\
         <defs><marker id=\"arrow\" viewBox=\"0 0 10 10\" refX=\"9\" refY=\"5\" markerWidth=\"7\" markerHeight=\"7\" orient=\"auto\"><path d=\"M0,0 L10,5 L0,10 z\" fill=\"#333\"/></marker></defs>\n\
         <rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n{body}</svg>\n"
    )
}

/// One DOT file with a cluster per cell.
pub fn cells_dot(cells: &[CellGraph]) -> String {
    let mut s = format!(
        "// {DRAWN_BY}\ndigraph cell {{\n  rankdir=LR;\n  node [fontname=\"helvetica\"];\n  edge [fontname=\"helvetica\", fontsize=10];\n",
    );
    for (i, c) in cells.iter().enumerate() {
        s.push_str(&c.to_dot(&format!("c{i}")));
    }
    s.push_str("}\n");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn darts_diagram_has_every_edge_and_label() {
        let g = Genotype::parse("Genotype(normal=[('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 1), ('skip_connect', 0), ('skip_connect', 0), ('dil_conv_3x3', 2)], normal_concat=[2, 3, 4, 5], reduce=[('max_pool_3x3', 0), ('max_pool_3x3', 1), ('skip_connect', 2), ('max_pool_3x3', 1), ('max_pool_3x3', 0), ('skip_connect', 2), ('skip_connect', 2), ('max_pool_3x3', 1)], reduce_concat=[2, 3, 4, 5])").unwrap();
        let cells = darts_cells(&g);
        assert_eq!(cells.len(), 2);
        assert_eq!(cells[0].edges.len(), 8 + 4, "8 op edges + 4 concat edges");
        let svg = cells_svg(&cells);
        assert_eq!(svg.matches("marker-end").count(), 24);
        assert_eq!(svg.matches(">dil_conv_3x3<").count(), 1);
        assert!(svg.contains("reduction cell"));
        // Inputs sit left of every intermediate node, the output right of them.
        let x = |c: &CellGraph, i| c.pos(i).0;
        assert!(x(&cells[0], 0) < x(&cells[0], 2) && x(&cells[0], 5) < x(&cells[0], 6));
        let dot = cells_dot(&cells);
        assert_eq!(dot.matches("->").count(), 24);
        assert!(dot.starts_with(&format!("// {DRAWN_BY}\ndigraph")));
        assert!(svg.contains(&format!("<!-- {DRAWN_BY} -->")));
    }

    #[test]
    fn nb201_diagram_dashes_none() {
        let a: Arch =
            "|none~0|+|skip_connect~0|nor_conv_3x3~1|+|avg_pool_3x3~0|nor_conv_1x1~1|none~2|"
                .parse()
                .unwrap();
        let c = nb201_cell(&a);
        assert_eq!(c.edges.len(), 6);
        assert_eq!(c.edges.iter().filter(|e| e.3).count(), 2);
        let svg = cells_svg(&[c]);
        assert_eq!(svg.matches("stroke-dasharray").count(), 2);
    }
}
