//! The NAS-Bench-201 accuracy table (CSV: index, arch, cifar10_valid, cifar10_test,
//! cifar100_valid, cifar100_test, imagenet16_valid, imagenet16_test; 200-epoch, mean over seeds),
//! for looking up, ranking and finding the best arch. The table is the user's file (a flag or
//! `BETADARTS_NB201_TABLE`), never part of the project.

use std::collections::HashMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::Arch;
use crate::{Error, Result};

/// The table's accuracy columns (NB201's dataset and split names), in [`Column`] order.
pub const COLUMNS: [&str; 6] = [
    "cifar10_valid",
    "cifar10_test",
    "cifar100_valid",
    "cifar100_test",
    "imagenet16_valid",
    "imagenet16_test",
];

/// One accuracy column: a dataset and its split.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Column {
    Cifar10Valid,
    Cifar10Test,
    Cifar100Valid,
    Cifar100Test,
    Imagenet16Valid,
    Imagenet16Test,
}

impl Column {
    pub const ALL: [Column; 6] = [
        Column::Cifar10Valid,
        Column::Cifar10Test,
        Column::Cifar100Valid,
        Column::Cifar100Test,
        Column::Imagenet16Valid,
        Column::Imagenet16Test,
    ];
    /// The test column of each dataset (what papers report).
    pub const TESTS: [Column; 3] = [
        Column::Cifar10Test,
        Column::Cifar100Test,
        Column::Imagenet16Test,
    ];

    pub fn name(self) -> &'static str {
        COLUMNS[self as usize]
    }
}

/// Top-1 % per [`Column`]; serialised as the plain array, in column order.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Accuracies(pub [f64; 6]);

impl Accuracies {
    /// (column, accuracy) in column order.
    pub fn iter(&self) -> impl Iterator<Item = (Column, f64)> + '_ {
        Column::ALL.into_iter().zip(self.0)
    }
}

impl std::ops::Index<Column> for Accuracies {
    type Output = f64;
    fn index(&self, c: Column) -> &f64 {
        &self.0[c as usize]
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Row {
    pub index: usize,
    pub arch: String,
    pub acc: Accuracies,
}

pub struct Table {
    pub rows: Vec<Row>,
    by_arch: HashMap<String, usize>,
}

impl Table {
    /// Reads the CSV; a malformed row is an error naming the file and line.
    pub fn load(path: &Path) -> Result<Self> {
        let fail = |m: String| Error::format(path, m);
        let text = betadarts_data::files::read_file(path, betadarts_data::files::TEXT_LIMIT)?;
        let mut reader = csv::ReaderBuilder::new()
            .trim(csv::Trim::All)
            .from_reader(text.as_slice());
        let header = reader.headers().map_err(|e| fail(e.to_string()))?.clone();
        // Columns by name, so that a pandas index column or extra columns may stand beside them.
        let want: Vec<&str> = ["index", "arch"].into_iter().chain(COLUMNS).collect();
        let at: Vec<usize> = want
            .iter()
            .map(|n| header.iter().position(|c| c == *n))
            .collect::<Option<_>>()
            .ok_or_else(|| {
                fail(format!(
                    "line 1: the header needs the columns {}",
                    want.join(",")
                ))
            })?;
        let mut rows = Vec::new();
        for record in reader.records() {
            let r = record.map_err(|e| {
                let line = e.position().map_or(0, |p| p.line());
                fail(format!("line {line}: {e}"))
            })?;
            let line = r.position().map_or(0, |p| p.line());
            let bad = |m: String| fail(format!("line {line}: {m}"));
            let field = |k: usize| r.get(at[k]).unwrap_or("");
            let index = field(0)
                .parse()
                .map_err(|_| bad(format!("index {:?} is not a number", field(0))))?;
            field(1).parse::<Arch>().map_err(|e| bad(e.to_string()))?;
            let mut acc = [0.0; 6];
            for (k, slot) in acc.iter_mut().enumerate() {
                let v = field(k + 2);
                *slot = v
                    .parse()
                    .map_err(|_| bad(format!("{} {v:?} is not a number", COLUMNS[k])))?;
                // Top-1 in percent: NaN or out-of-range values would rank and plot as real.
                if !(0.0..=100.0).contains(slot) {
                    return Err(bad(format!(
                        "{} {v} is not an accuracy in percent (0..=100)",
                        COLUMNS[k]
                    )));
                }
            }
            rows.push(Row {
                index,
                arch: field(1).to_string(),
                acc: Accuracies(acc),
            });
        }
        let by_arch = rows
            .iter()
            .enumerate()
            .map(|(i, r)| (r.arch.clone(), i))
            .collect();
        Ok(Table { rows, by_arch })
    }

    /// By arch string or by index.
    pub fn lookup(&self, key: &str) -> Option<&Row> {
        match key.trim().parse::<usize>() {
            Ok(i) => self.rows.iter().find(|r| r.index == i),
            Err(_) => {
                let canon = key.trim().parse::<Arch>().ok()?.to_string();
                self.by_arch.get(&canon).map(|&i| &self.rows[i])
            }
        }
    }

    /// The best row of each column.
    pub fn best(&self) -> Vec<&Row> {
        Column::ALL
            .into_iter()
            .filter_map(|c| {
                self.rows
                    .iter()
                    .max_by(|a, b| a.acc[c].total_cmp(&b.acc[c]))
            })
            .collect()
    }

    /// Percentile of `row` per column: the share (%) of architectures with lower accuracy.
    pub fn rank(&self, row: &Row) -> Accuracies {
        let n = self.rows.len().max(1) as f64;
        Accuracies(
            Column::ALL.map(|c| {
                100.0 * self.rows.iter().filter(|r| r.acc[c] < row.acc[c]).count() as f64 / n
            }),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shared() -> Option<Table> {
        let p = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../shared/data/nb201/nb201_accuracies.csv");
        p.exists().then(|| Table::load(&p).unwrap())
    }

    #[test]
    fn anchors_from_the_spec() {
        let Some(t) = shared() else {
            eprintln!("SKIPPED: ../shared/data/nb201 not found");
            return;
        };
        assert_eq!(t.rows.len(), 15_625);
        let skip = t.lookup("1835").unwrap();
        assert_eq!(format!("{:.2}", skip.acc[Column::Cifar10Test]), "54.30");
        let beta = t.lookup("|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|").unwrap();
        assert_eq!(beta.index, 9930);
        let r = |v: f64| format!("{v:.2}");
        assert_eq!(
            (
                r(beta.acc[Column::Cifar10Test]),
                r(beta.acc[Column::Cifar100Test]),
                r(beta.acc[Column::Imagenet16Test])
            ),
            ("94.36".into(), "73.51".into(), "46.34".into())
        );
        assert!(t.rank(beta)[Column::Cifar10Test] > 99.0);
        assert_eq!(
            format!("{:.2}", t.best()[1].acc[Column::Cifar10Test]),
            "94.37"
        );
    }

    #[test]
    fn a_pandas_export_with_quoted_fields_reads_the_same() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("t.csv");
        let arch = "|none~0|+|skip_connect~0|none~1|+|none~0|none~1|nor_conv_3x3~2|";
        std::fs::write(
            &p,
            format!(",index,arch,cifar10_valid,cifar10_test,cifar100_valid,cifar100_test,imagenet16_valid,imagenet16_test\n0,7,\"{arch}\",1,2,3,4,5,6.5\n"),
        )
        .unwrap();
        let t = Table::load(&p).unwrap();
        let r = t.lookup(arch).unwrap();
        assert_eq!((r.index, r.acc.0), (7, [1.0, 2.0, 3.0, 4.0, 5.0, 6.5]));
        std::fs::write(&p, "index,arch\n").unwrap();
        let e = Table::load(&p).err().unwrap().to_string();
        assert!(
            e.contains("t.csv: line 1: the header needs the columns index,arch,cifar10_valid"),
            "{e}"
        );
    }

    #[test]
    fn malformed_row_names_the_line() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("t.csv");
        std::fs::write(&p, "index,arch,cifar10_valid,cifar10_test,cifar100_valid,cifar100_test,imagenet16_valid,imagenet16_test\n0,|none~0|+|none~0|none~1|+|none~0|none~1|none~2|,1,2,3,4,5,6\n1,|none~0|+|none~0|none~1|+|none~0|none~1|none~2|,1,2,x,4,5,6\n").unwrap();
        let e = Table::load(&p).err().unwrap().to_string();
        assert!(
            e.contains("t.csv") && e.contains("line 3") && e.contains("cifar100_valid"),
            "{e}"
        );
        let head = "index,arch,cifar10_valid,cifar10_test,cifar100_valid,cifar100_test,imagenet16_valid,imagenet16_test\n";
        for v in ["NaN", "-1", "101", "inf"] {
            let row = format!("0,|none~0|+|none~0|none~1|+|none~0|none~1|none~2|,1,{v},3,4,5,6\n");
            std::fs::write(&p, format!("{head}{row}")).unwrap();
            let e = Table::load(&p).err().unwrap().to_string();
            assert!(
                e.contains("line 2") && e.contains("cifar10_test") && e.contains("percent"),
                "{e}"
            );
        }
    }
}
