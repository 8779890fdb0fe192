//! `betadarts study run|slurm|report|show`: grids of searches from a TOML plan.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use betadarts_search::nb201::table::Table;
use betadarts_search::run_dir::write_atomic;

use crate::cli::{GridArgs, StudyWhat};
use crate::study::plan::{Study, expand, read_plan};
use crate::study::report::write_report;
use crate::study::runner::{RunState, run_all, run_state};
use crate::study::slurm::{SlurmOptions, script, task_list};

fn load(plan: &str, grid: &GridArgs, device: Option<&str>) -> Result<(Study, String)> {
    let (source, text) = read_plan(plan)?;
    let mut overrides = grid.set.clone();
    if let Some(d) = device {
        overrides.push(format!("device={d}"));
    }
    let study = expand(&source, &text, &overrides, grid.seeds.clone())?;
    Ok((study, text))
}

/// Creates (or re-opens) the study folder with an absolute path.
fn open_dir(out: &Path, study: &Study, plan_text: &str) -> Result<PathBuf> {
    study.claim(out)?;
    let dir = std::fs::canonicalize(out).with_context(|| format!("resolving {}", out.display()))?;
    write_atomic(&dir.join("plan.toml"), plan_text.as_bytes())?;
    Ok(dir)
}

fn table(path: Option<&PathBuf>) -> Result<Option<Table>> {
    path.map(|p| Table::load(p).context("reading the NB201 table"))
        .transpose()
}

pub fn study(what: StudyWhat, quiet: bool) -> Result<()> {
    match what {
        StudyWhat::Run {
            plan,
            out,
            workers,
            grid,
            table: table_path,
            no_report,
        } => {
            if workers == 0 {
                bail!("--workers must be at least 1");
            }
            let (study, text) = load(&plan, &grid, grid.device.as_deref())?;
            let dir = open_dir(&out, &study, &text)?;
            let result = run_all(&study, &dir, workers, table_path.as_deref(), quiet);
            if !no_report {
                let md = write_report(
                    &study,
                    &dir,
                    &dir.join("report"),
                    table(table_path.as_ref())?.as_ref(),
                )?;
                if !quiet {
                    println!("{md}");
                }
                eprintln!("report: {}", dir.join("report/report.md").display());
            }
            result
        }
        StudyWhat::Slurm {
            plan,
            out,
            grid,
            task_device,
            partition,
            time,
            gpus,
            cpus_per_task,
            mem,
            max_parallel,
            account,
            binary,
        } => {
            let (study, text) = load(
                &plan,
                &grid,
                Some(grid.device.as_deref().unwrap_or(&task_device)),
            )?;
            let dir = open_dir(&out, &study, &text)?;
            let binary = match binary {
                Some(b) => b,
                None => std::env::current_exe().context("locating the betadarts binary")?,
            };
            let opts = SlurmOptions {
                binary,
                partition,
                time,
                gpus,
                cpus_per_task,
                mem,
                max_parallel,
                account,
                workdir: std::env::current_dir().context("reading the working directory")?,
            };
            let slurm = dir.join("slurm");
            std::fs::create_dir_all(&slurm)
                .with_context(|| format!("creating {}", slurm.display()))?;
            std::fs::create_dir_all(dir.join("logs"))?;
            let path = slurm.join("study.sbatch");
            write_atomic(&path, script(&study, &dir, &opts).as_bytes())?;
            write_atomic(&slurm.join("tasks.txt"), task_list(&study, &dir).as_bytes())?;
            let left = study
                .runs
                .iter()
                .filter(|r| run_state(&dir.join(&r.dir)) != RunState::Finished)
                .count();
            println!("{}", path.display());
            eprintln!(
                "{} tasks ({} configurations × {} seeds; {left} not finished). Submit with: sbatch {}",
                study.runs.len(),
                study.configs.len(),
                study.seeds.len(),
                path.display()
            );
            Ok(())
        }
        StudyWhat::Report { dir, table: t, out } => {
            let study = Study::load(&dir)?;
            let out = out.unwrap_or_else(|| dir.join("report"));
            let md = write_report(&study, &dir, &out, table(t.as_ref())?.as_ref())?;
            println!("{md}");
            eprintln!("report: {}", out.join("report.md").display());
            Ok(())
        }
        StudyWhat::Show { plan, grid } => {
            let (study, _) = load(&plan, &grid, grid.device.as_deref())?;
            println!(
                "study {:?}: {} configurations × {} seeds = {} runs",
                study.name,
                study.configs.len(),
                study.seeds.len(),
                study.runs.len()
            );
            for c in &study.configs {
                println!(
                    "  {:<40} regularizer {:<12} λ {:<16} T {}",
                    c.name,
                    c.regularizer,
                    c.lambda.as_deref().unwrap_or("—"),
                    c.temperature
                );
            }
            Ok(())
        }
    }
}
