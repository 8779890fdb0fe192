//! `study slurm`: the study as one Slurm array job, one task per configuration × seed. Each task
//! is a plain `betadarts search` writing into the study folder, so `study report` reads a grid
//! run on a cluster exactly as one run locally; resubmitting the array finishes a half-done grid
//! (finished tasks exit at once, cut-off ones resume from their checkpoints).

use std::fmt::Write;
use std::path::{Path, PathBuf};

use super::plan::Study;
use super::runner::{command_line, logs_dir};

/// `#SBATCH` settings.
#[derive(Debug, Clone)]
pub struct SlurmOptions {
    pub binary: PathBuf,
    pub partition: Option<String>,
    pub time: String,
    pub gpus: u32,
    pub cpus_per_task: u32,
    pub mem: Option<String>,
    /// Most tasks running at once (`%N` of `--array`).
    pub max_parallel: Option<usize>,
    pub account: Option<String>,
    /// Working directory of the tasks (relative paths in the plan, like `data-dir`, resolve
    /// against it exactly as they would for `study run` started there).
    pub workdir: PathBuf,
}

/// POSIX single quoting.
pub fn quote(s: &str) -> String {
    if !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:=,+@%".contains(c))
    {
        return s.to_string();
    }
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// The sbatch script; `study_dir` must be absolute (tasks run in the scheduler's cwd).
pub fn script(study: &Study, study_dir: &Path, o: &SlurmOptions) -> String {
    let n = study.runs.len();
    let mut s = String::new();
    let _ = writeln!(s, "#!/bin/bash");
    let _ = writeln!(
        s,
        "# betadarts study {:?}: {} configurations x {} seeds = {n} searches, one array task each.",
        study.name,
        study.configs.len(),
        study.seeds.len()
    );
    let _ = writeln!(
        s,
        "# Submit: sbatch {}",
        quote(&study_dir.join("slurm/study.sbatch").display().to_string())
    );
    let _ = writeln!(
        s,
        "# One task by hand: SLURM_ARRAY_TASK_ID=0 bash {}",
        quote(&study_dir.join("slurm/study.sbatch").display().to_string())
    );
    let _ = writeln!(
        s,
        "# Report: betadarts study report {}",
        quote(&study_dir.display().to_string())
    );
    let _ = writeln!(s, "#SBATCH --job-name=betadarts-{}", sanitize(&study.name));
    let throttle = o.max_parallel.map(|m| format!("%{m}")).unwrap_or_default();
    let _ = writeln!(s, "#SBATCH --array=0-{}{throttle}", n.saturating_sub(1));
    let _ = writeln!(
        s,
        "#SBATCH --output={}",
        logs_dir(study_dir).join("slurm-%A_%a.log").display()
    );
    let _ = writeln!(s, "#SBATCH --chdir={}", o.workdir.display());
    let _ = writeln!(s, "#SBATCH --ntasks=1");
    let _ = writeln!(s, "#SBATCH --cpus-per-task={}", o.cpus_per_task);
    if o.gpus > 0 {
        let _ = writeln!(s, "#SBATCH --gres=gpu:{}", o.gpus);
    }
    let _ = writeln!(s, "#SBATCH --time={}", o.time);
    if let Some(p) = &o.partition {
        let _ = writeln!(s, "#SBATCH --partition={p}");
    }
    if let Some(m) = &o.mem {
        let _ = writeln!(s, "#SBATCH --mem={m}");
    }
    if let Some(a) = &o.account {
        let _ = writeln!(s, "#SBATCH --account={a}");
    }
    s.push_str("set -euo pipefail\n");
    // By hand (no Slurm), run where the plan's relative paths mean what they did.
    let _ = writeln!(s, "cd {}", quote(&o.workdir.display().to_string()));
    let _ = writeln!(
        s,
        "BETADARTS=\"${{BETADARTS:-{}}}\"",
        o.binary
            .display()
            .to_string()
            .replace(['"', '$', '`', '\\'], "")
    );
    let _ = writeln!(
        s,
        "TASK=\"${{SLURM_ARRAY_TASK_ID:?set SLURM_ARRAY_TASK_ID to a task number 0..{}}}\"",
        n.saturating_sub(1)
    );
    s.push_str("case \"$TASK\" in\n");
    for (i, run) in study.runs.iter().enumerate() {
        let dir = study_dir.join(&run.dir).display().to_string();
        let fresh: Vec<String> = command_line(run, study_dir, false)
            .iter()
            .map(|a| quote(a))
            .collect();
        let resume: Vec<String> = command_line(run, study_dir, true)
            .iter()
            .map(|a| quote(a))
            .collect();
        let _ = writeln!(
            s,
            "  {i}) RUN={}\n     FRESH=({})\n     RESUME=({}) ;;",
            quote(&dir),
            fresh.join(" "),
            resume.join(" ")
        );
    }
    let _ = writeln!(
        s,
        "  *) echo \"task $TASK is not in 0..{}\" >&2; exit 2 ;;",
        n.saturating_sub(1)
    );
    s.push_str("esac\n");
    s.push_str("mkdir -p \"$(dirname \"$RUN\")\"\n");
    s.push_str(
        "if [ -f \"$RUN/summary.json\" ]; then echo \"$RUN finished already\"; exit 0; fi\n",
    );
    s.push_str("if [ -f \"$RUN/config.json\" ]; then exec \"$BETADARTS\" \"${RESUME[@]}\"; fi\n");
    s.push_str("exec \"$BETADARTS\" \"${FRESH[@]}\"\n");
    s
}

/// `tasks.txt`: task number and the plain search command line of each task.
pub fn task_list(study: &Study, study_dir: &Path) -> String {
    study
        .runs
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let cmd: Vec<String> = command_line(r, study_dir, false)
                .iter()
                .map(|a| quote(a))
                .collect();
            format!("{i}\tbetadarts {}\n", cmd.join(" "))
        })
        .collect()
}

fn sanitize(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '-'
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting() {
        assert_eq!(quote("linear:0:50"), "linear:0:50");
        assert_eq!(quote("a b"), "'a b'");
        assert_eq!(quote("it's"), r"'it'\''s'");
        assert_eq!(quote(""), "''");
    }
}
