//! Statistics, plain-text and Markdown tables, and the machine description.

use hdrhistogram::Histogram;
use std::fmt::Write as _;
use std::time::{SystemTime, UNIX_EPOCH};

/// Round-trip times of one peer, in nanoseconds (HDR histogram, 3 digits).
#[derive(Debug, Clone)]
pub struct Latency {
    hist: Histogram<u64>,
    sum_ns: u128,
}

impl Default for Latency {
    fn default() -> Self {
        Self::new()
    }
}

impl Latency {
    /// An empty record (1 ns .. 100 s, 3 significant digits).
    pub fn new() -> Self {
        Latency {
            hist: Histogram::new_with_bounds(1, 100_000_000_000, 3).expect("static bounds"),
            sum_ns: 0,
        }
    }

    /// Records one sample.
    #[inline]
    pub fn record(&mut self, ns: u64) {
        self.hist.saturating_record(ns.max(1));
        self.sum_ns += u128::from(ns);
    }

    /// Adds the samples of `other`.
    pub fn merge(&mut self, other: &Latency) {
        // Same bounds on both sides, so `add` cannot fail.
        let _ = self.hist.add(&other.hist);
        self.sum_ns += other.sum_ns;
    }

    /// Number of samples.
    pub fn count(&self) -> u64 {
        self.hist.len()
    }

    /// The value at quantile `q` (0..=1).
    pub fn quantile(&self, q: f64) -> u64 {
        self.hist.value_at_quantile(q)
    }

    /// The largest sample.
    pub fn max(&self) -> u64 {
        self.hist.max()
    }

    /// The exact mean of the samples.
    pub fn mean(&self) -> f64 {
        if self.count() == 0 {
            0.0
        } else {
            self.sum_ns as f64 / self.count() as f64
        }
    }

    /// p50, p99, p99.9, max and mean, in that order.
    pub fn summary(&self) -> [f64; 5] {
        [
            self.quantile(0.5) as f64,
            self.quantile(0.99) as f64,
            self.quantile(0.999) as f64,
            self.max() as f64,
            self.mean(),
        ]
    }
}

/// Median of a non-empty list (the mean of the middle two for even lengths).
pub fn median(xs: &[f64]) -> f64 {
    let mut v = xs.to_vec();
    v.sort_by(f64::total_cmp);
    match v.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => v[n / 2],
        n => (v[n / 2 - 1] + v[n / 2]) / 2.0,
    }
}

/// Formats a duration in ns with a sensible precision.
pub fn ns(x: f64) -> String {
    if x >= 100_000.0 {
        format!("{:.1} µs", x / 1000.0)
    } else if x >= 100.0 {
        format!("{x:.0} ns")
    } else {
        format!("{x:.2} ns")
    }
}

/// A table with a title, notes before it and lines after it.
#[derive(Debug, Clone, Default)]
pub struct Table {
    /// Section title.
    pub title: String,
    /// Lines printed before the table (conditions, the floor).
    pub notes: Vec<String>,
    /// Column names.
    pub header: Vec<String>,
    /// Cells, row by row.
    pub rows: Vec<Vec<String>>,
    /// Lines printed after the table (targets, diagnostics).
    pub footer: Vec<String>,
}

impl Table {
    /// The table as aligned plain text.
    pub fn plain(&self) -> String {
        let cols = self.header.len();
        let mut width = vec![0; cols];
        for row in std::iter::once(&self.header).chain(&self.rows) {
            for (w, cell) in width.iter_mut().zip(row) {
                *w = (*w).max(cell.chars().count());
            }
        }
        let mut out = String::new();
        let _ = writeln!(out, "== {} ==", self.title);
        for n in &self.notes {
            let _ = writeln!(out, "{n}");
        }
        let line = |out: &mut String, row: &[String]| {
            for (i, (cell, w)) in row.iter().zip(&width).enumerate() {
                let pad = w - cell.chars().count();
                if i == 0 {
                    let _ = write!(out, "{cell}{}", " ".repeat(pad));
                } else {
                    let _ = write!(out, "  {}{cell}", " ".repeat(pad));
                }
            }
            out.push('\n');
        };
        line(&mut out, &self.header);
        let total: usize = width.iter().sum::<usize>() + 2 * cols.saturating_sub(1);
        let _ = writeln!(out, "{}", "-".repeat(total));
        for row in &self.rows {
            line(&mut out, row);
        }
        for f in &self.footer {
            let _ = writeln!(out, "{f}");
        }
        out
    }

    /// The table as Markdown (a `##` heading, notes as paragraphs).
    pub fn markdown(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "## {}\n", self.title);
        for n in &self.notes {
            let _ = writeln!(out, "{n}  ");
        }
        out.push('\n');
        let _ = writeln!(out, "| {} |", self.header.join(" | "));
        let align: Vec<&str> = (0..self.header.len())
            .map(|i| if i == 0 { "---" } else { "---:" })
            .collect();
        let _ = writeln!(out, "| {} |", align.join(" | "));
        for row in &self.rows {
            let _ = writeln!(out, "| {} |", row.join(" | "));
        }
        out.push('\n');
        for f in &self.footer {
            let _ = writeln!(out, "- {f}");
        }
        out.push('\n');
        out
    }
}

/// What the report says about the machine and the build.
#[derive(Debug, Clone)]
pub struct Machine {
    /// Online CPUs (what `nproc` prints).
    pub cpus: usize,
    /// `model name` from /proc/cpuinfo.
    pub cpu_model: String,
    /// Kernel release.
    pub kernel: String,
    /// `git rev-parse --short HEAD`, `-dirty` if the tree has changes.
    pub commit: String,
    /// UTC date and time of the run.
    pub date: String,
}

impl Machine {
    /// Reads the description from the running system.
    pub fn detect() -> Self {
        let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
        let cpu_model = std::fs::read_to_string("/proc/cpuinfo")
            .ok()
            .and_then(|s| {
                s.lines()
                    .find(|l| l.starts_with("model name"))
                    .and_then(|l| l.split_once(':'))
                    .map(|(_, v)| v.trim().to_string())
            })
            .unwrap_or_else(|| "unknown".into());
        let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
            .map(|s| s.trim().to_string())
            .unwrap_or_else(|_| "unknown".into());
        let git = |args: &[&str]| {
            std::process::Command::new("git")
                .args(args)
                .output()
                .ok()
                .filter(|o| o.status.success())
                .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        };
        let commit = match git(&["rev-parse", "--short", "HEAD"]) {
            // The report's own outputs do not make the tree dirty.
            Some(c) => match git(&[
                "status",
                "--porcelain",
                "--untracked-files=no",
                "--",
                ".",
                ":(exclude,top)docs/benchmarks.md",
                ":(exclude,top)docs/*.png",
            ]) {
                Some(s) if !s.is_empty() => format!("{c}-dirty"),
                _ => c,
            },
            None => "unknown".into(),
        };
        Machine {
            cpus,
            cpu_model,
            kernel,
            commit,
            date: utc_now(),
        }
    }

    /// One line for the plain-text output.
    pub fn line(&self) -> String {
        format!(
            "machine: {} CPUs, {}, Linux {}; commit {}; {}",
            self.cpus, self.cpu_model, self.kernel, self.commit, self.date
        )
    }
}

/// The Markdown report: machine, command, then every table.
pub fn markdown_doc(
    machine: &Machine,
    command: &str,
    plot: Option<&str>,
    tables: &[Table],
) -> String {
    let mut out = String::new();
    out.push_str("# shmq cross-process benchmarks\n\n");
    out.push_str(
        "Written by `benches/report.sh` (criterion's in-process benches, then \
         `xproc --markdown`); every number below was measured by that one command, in \
         one run. Cross-process figures are only comparable as ratios to the floor \
         measured in the same run: this VM's two vCPUs sit either close (cache-line \
         round trip ≈ 100 ns) or far (≈ 450 ns) apart.\n\n",
    );
    let _ = writeln!(out, "- CPUs (`nproc`): {}", machine.cpus);
    let _ = writeln!(out, "- CPU: {}", machine.cpu_model);
    let _ = writeln!(out, "- kernel: {}", machine.kernel);
    let _ = writeln!(out, "- commit: {}", machine.commit);
    let _ = writeln!(out, "- date: {}", machine.date);
    let _ = writeln!(out, "- command: `{command}`\n");
    out.push_str("## Targets\n\n");
    let targets: Vec<&String> = tables
        .iter()
        .flat_map(|t| &t.footer)
        .filter(|f| f.starts_with("Target"))
        .collect();
    if targets.is_empty() {
        out.push_str("No target was evaluated in this run.\n");
    }
    for f in targets {
        let _ = writeln!(out, "- {f}");
    }
    out.push('\n');
    if let Some(p) = plot {
        let _ = writeln!(out, "{p}\n");
    }
    for t in tables {
        out.push_str(&t.markdown());
    }
    out
}

/// The current UTC time as `YYYY-MM-DD HH:MM UTC`.
fn utc_now() -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    // Civil date from days since 1970-01-01 (H. Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02} UTC",
        rem / 3600,
        (rem % 3600) / 60
    )
}
