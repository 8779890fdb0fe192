//! `betadarts genotype draw|show`: diagrams and validation of cells.

use std::path::Path;

use anyhow::{Context, Result};
use betadarts_search::darts::Genotype;
use betadarts_search::nb201::Arch;
use betadarts_search::run_dir::write_atomic;
use betadarts_search::viz;

/// Reads a genotype file, or parses an NB201 arch string given inline.
fn cells_of(spec: &str) -> Result<Vec<viz::CellGraph>> {
    if spec.trim_start().starts_with('|') {
        let arch: Arch = spec.trim().parse()?;
        return Ok(vec![viz::nb201_cell(&arch)]);
    }
    let path = Path::new(spec);
    let text = betadarts_data::files::read_text(path)?;
    if text.trim_start().starts_with('|') {
        let arch: Arch = text
            .trim()
            .parse()
            .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
        return Ok(vec![viz::nb201_cell(&arch)]);
    }
    Ok(viz::darts_cells(&Genotype::load(path)?))
}

/// Refuses to replace `path` unless it is absent, a diagram drawn by betadarts (its first
/// 4 KB say so), or `force` is set: `-o .` must not destroy a user's own `cell.svg`.
fn check_output(path: &Path, force: bool) -> Result<()> {
    if force || !path.exists() {
        return Ok(());
    }
    let ours =
        super::head_of(path).is_some_and(|h| String::from_utf8_lossy(&h).contains(viz::DRAWN_BY));
    if !ours {
        return Err(betadarts_search::Error::Invalid(format!(
            "{}: the file exists and was not drawn by betadarts; refusing to replace it \
             (choose another -o, or pass --force)",
            path.display()
        ))
        .into());
    }
    Ok(())
}

pub fn draw(spec: &str, out: &Path, force: bool) -> Result<()> {
    let cells = cells_of(spec)?;
    let svg = out.join("cell.svg");
    let dot = out.join("cell.dot");
    check_output(&svg, force)?;
    check_output(&dot, force)?;
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    write_atomic(&svg, viz::cells_svg(&cells).as_bytes())?;
    write_atomic(&dot, viz::cells_dot(&cells).as_bytes())?;
    println!("{}\n{}", svg.display(), dot.display());
    Ok(())
}

pub fn show(path: &Path) -> Result<()> {
    let g = Genotype::load(path)?;
    print!("{}", g.to_json());
    Ok(())
}

pub fn info(
    path: &Path,
    network: &str,
    classes: usize,
    channels: Option<usize>,
    layers: Option<usize>,
    image_size: Option<usize>,
    json: bool,
) -> Result<()> {
    use betadarts_search::retrain::{NetworkKind, summarize};
    let g = Genotype::load(path)?;
    let kind: NetworkKind = network.parse()?;
    let (c, l) = kind.defaults();
    let size = image_size.unwrap_or(if kind == NetworkKind::Cifar { 32 } else { 224 });
    let s = summarize(
        kind,
        &g,
        channels.unwrap_or(c),
        layers.unwrap_or(l),
        classes,
        size,
    );
    if json {
        println!("{}", serde_json::to_string(&s)?);
    } else {
        println!(
            "{} network, C={}, {} cells, {} classes, {}×{} input",
            s.network, s.channels, s.layers, s.classes, size, size
        );
        println!(
            "  params      {:>12}  ({:.2} M, auxiliary head excluded)",
            s.params,
            s.params as f64 / 1e6
        );
        println!("  aux_params  {:>12}", s.aux_params);
        println!(
            "  madds       {:>12}  ({:.1} M multiply-adds: convolutions + linear)",
            s.madds,
            s.madds as f64 / 1e6
        );
    }
    Ok(())
}
