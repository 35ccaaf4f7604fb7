//! Reads the in-process results that `cargo bench --bench inproc` (criterion)
//! just wrote, for the report: `<dir>/<group>/<bench>/new/estimates.json`.
//!
//! Only files written in the last [`FRESH`] are used, so the report never
//! mixes in figures from an earlier run; `benches/report.sh` runs criterion
//! right before `xproc`.

use crate::report::{ns, Table};
use crate::{err, Result};
use std::path::Path;
use std::time::{Duration, SystemTime};

/// How old an estimates file may be to count as part of this run.
pub const FRESH: Duration = Duration::from_secs(30 * 60);

/// The groups of `benches/inproc.rs`, each with its reference bench (the
/// ratio column compares with it) and a title.
pub const GROUPS: [(&str, &str, &str); 2] = [
    (
        "spsc_1p1c_u64",
        "rtrb",
        "In-process SPSC, 1 producer + 1 consumer thread, u64 (criterion)",
    ),
    (
        "mpmc_u64",
        "crossbeam_ArrayQueue_1p1c",
        "In-process MPMC, u64 (criterion)",
    ),
];

/// Median of one bench: point estimate and 95 % confidence bounds, in ns.
#[derive(Debug, Clone, Copy)]
pub struct Estimate {
    /// Point estimate of the median time per message.
    pub median: f64,
    /// Lower confidence bound.
    pub lo: f64,
    /// Upper confidence bound.
    pub hi: f64,
}

/// Extracts the number after `"key":` at or after `from` in `json`.
fn number_after(json: &str, from: usize, key: &str) -> Option<(f64, usize)> {
    let pat = format!("\"{key}\":");
    let at = from + json[from..].find(&pat)? + pat.len();
    let end = json[at..]
        .find(|c: char| !(c.is_ascii_digit() || matches!(c, '.' | '-' | '+' | 'e' | 'E')))
        .map_or(json.len(), |e| at + e);
    Some((json[at..end].parse().ok()?, end))
}

/// Parses the `median` object of a criterion `estimates.json`.
fn parse(json: &str) -> Option<Estimate> {
    let m = json.find("\"median\":")?;
    let (lo, at) = number_after(json, m, "lower_bound")?;
    let (hi, at) = number_after(json, at, "upper_bound")?;
    let (median, _) = number_after(json, at, "point_estimate")?;
    Some(Estimate { median, lo, hi })
}

/// Reads one bench's fresh estimate; `None` if absent or stale.
///
/// # Errors
/// A file that exists and is fresh but cannot be parsed.
pub fn read(dir: &Path, group: &str, bench: &str) -> Result<Option<Estimate>> {
    let path = dir
        .join(group)
        .join(bench)
        .join("new")
        .join("estimates.json");
    let Ok(meta) = std::fs::metadata(&path) else {
        return Ok(None);
    };
    let age = meta
        .modified()
        .ok()
        .and_then(|m| SystemTime::now().duration_since(m).ok())
        .unwrap_or(Duration::MAX);
    if age > FRESH {
        return Ok(None);
    }
    let json = std::fs::read_to_string(&path)?;
    parse(&json)
        .map(Some)
        .ok_or_else(|| err(format!("{}: no median estimate", path.display())))
}

/// The in-process floor the bench wrote (`shmq-floor.txt`, if fresh):
/// (before, after) in ns.
pub fn floor(dir: &Path) -> Option<(f64, f64)> {
    let path = dir.join(FLOOR_FILE);
    let age = std::fs::metadata(&path)
        .ok()?
        .modified()
        .ok()
        .and_then(|m| SystemTime::now().duration_since(m).ok())?;
    if age > FRESH {
        return None;
    }
    let text = std::fs::read_to_string(path).ok()?;
    let mut it = text.split_whitespace().map(str::parse::<f64>);
    Some((it.next()?.ok()?, it.next()?.ok()?))
}

/// Name of the floor file inside criterion's folder (`SHMQ_FLOOR_FILE`).
pub const FLOOR_FILE: &str = "shmq-floor.txt";

/// One table per group with fresh results under `dir` (criterion's output
/// folder); empty if none.
///
/// # Errors
/// An unreadable estimates file.
pub fn tables(dir: &Path) -> Result<Vec<Table>> {
    let mut out = Vec::new();
    let floor = floor(dir);
    for (group, reference, title) in GROUPS {
        let Ok(entries) = std::fs::read_dir(dir.join(group)) else {
            continue;
        };
        let mut names: Vec<String> = entries
            .flatten()
            .filter(|e| e.path().join("new").is_dir())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        // shmq first, then the peers, each alphabetically.
        names.sort_by_key(|n| (!n.starts_with("shmq"), n.clone()));
        let mut rows = Vec::new();
        for name in names {
            if let Some(e) = read(dir, group, &name)? {
                rows.push((name, e));
            }
        }
        if rows.is_empty() {
            continue;
        }
        let refm = rows
            .iter()
            .find(|(n, _)| n == reference)
            .map_or(f64::NAN, |(_, e)| e.median);
        let mut t = Table {
            title: title.into(),
            header: [
                "bench",
                "ns/msg (median)",
                "95 % interval",
                "M msg/s",
                &format!("throughput × {reference}"),
            ]
            .map(String::from)
            .to_vec(),
            ..Table::default()
        };
        t.notes.push(
            "`cargo bench -p shmq-benches --bench inproc`, run by the same command just \
             before the cross-process sections: two (or four) threads of one process, \
             producer(s) and consumer(s) pinned to cores 1 and 0, queues of 4096 slots; one \
             iteration is one message. Ratios: higher is faster."
                .to_string(),
        );
        t.notes.push(match floor {
            Some((b, a)) => format!(
                "FLOOR (in-process: atomic ping-pong between the two pinned threads, RTT \
                 p50): {} before and {} after the criterion groups.",
                ns(b),
                ns(a)
            ),
            None => "FLOOR: not recorded (run through `benches/report.sh`).".into(),
        });
        if let Some((b, a)) = floor {
            if b.max(a) > 1.5 * b.min(a) {
                t.notes.push(
                    "WARNING: the floor changed during the criterion groups (the VM switched \
                     speed level): these figures mix levels."
                        .into(),
                );
            }
        }
        for (name, e) in rows {
            let r = refm / e.median;
            t.rows.push(vec![
                name,
                ns(e.median),
                format!("{} – {}", ns(e.lo), ns(e.hi)),
                format!("{:.0}", 1000.0 / e.median),
                if r.is_finite() {
                    format!("{r:.2}×")
                } else {
                    "-".into()
                },
            ]);
        }
        out.push(t);
    }
    Ok(out)
}
