//! The PyTorch reference scripts (`benches/reference/`, compiled into the binary so that
//! `bench compare` works from any folder) and the Python that runs them.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

const SCRIPTS: [(&str, &str); 6] = [
    (
        "common.py",
        include_str!("../../../benches/reference/common.py"),
    ),
    (
        "nb201_search.py",
        include_str!("../../../benches/reference/nb201_search.py"),
    ),
    (
        "darts_ops.py",
        include_str!("../../../benches/reference/darts_ops.py"),
    ),
    (
        "darts_search.py",
        include_str!("../../../benches/reference/darts_search.py"),
    ),
    (
        "darts_train.py",
        include_str!("../../../benches/reference/darts_train.py"),
    ),
    // darts_train.py's default genotype, beside it.
    (
        "DARTS_V2.json",
        include_str!("../../../models/genotypes/DARTS_V2.json"),
    ),
];

/// The scripts written to a temporary folder, removed on drop.
pub struct Scripts {
    dir: PathBuf,
}

impl Scripts {
    pub fn write() -> Result<Self> {
        let dir = std::env::temp_dir().join(format!("betadarts-reference-{}", std::process::id()));
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        for (name, text) in SCRIPTS {
            let p = dir.join(name);
            std::fs::write(&p, text).with_context(|| format!("writing {}", p.display()))?;
        }
        Ok(Self { dir })
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }
}

impl Drop for Scripts {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// `--python`, else `$BETADARTS_TORCH_PYTHON`, else `python3`.
pub fn python(flag: Option<&Path>) -> PathBuf {
    flag.map(Path::to_path_buf)
        .or_else(|| std::env::var_os("BETADARTS_TORCH_PYTHON").map(PathBuf::from))
        .unwrap_or_else(|| PathBuf::from("python3"))
}

/// torch's version as `python` imports it, or an error that says how to install it.
pub fn torch_version(python: &Path, modules: &[&str]) -> Result<String> {
    let imports = std::iter::once("torch")
        .chain(modules.iter().copied())
        .collect::<Vec<_>>()
        .join(", ");
    let out = Command::new(python)
        .args(["-c", &format!("import {imports}; print(torch.__version__)")])
        .output();
    let help = format!(
        "the PyTorch side needs `{imports}` importable by {}: install them into a venv \
         (python3 -m venv .venv-torch && .venv-torch/bin/pip install torch numpy safetensors; \
         see ../shared/notes/toolchain.md for a CPU-only variant), then pass --python \
         .venv-torch/bin/python or set BETADARTS_TORCH_PYTHON",
        python.display()
    );
    match out {
        Ok(o) if o.status.success() => Ok(String::from_utf8_lossy(&o.stdout).trim().to_string()),
        Ok(o) => bail!(
            "PyTorch is missing: {}\n{help}",
            String::from_utf8_lossy(&o.stderr)
                .lines()
                .last()
                .unwrap_or("import failed")
        ),
        Err(e) => bail!("cannot run {}: {e}\n{help}", python.display()),
    }
}
