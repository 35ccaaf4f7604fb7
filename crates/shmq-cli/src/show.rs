//! `ls`, `stat`, `rm` and `gc`: what [`shmq::admin`] reads, as text or JSON.

use crate::kinds::name as kind_name;
use crate::Failure;
use serde_json::{json, Value};
use shmq::admin::{self, Counters, GcOutcome, InspectError, RegionInfo};
use shmq_core::layout::QueueKind;
use std::io::{self, Write};
use std::process::ExitCode;
use std::time::{Duration, Instant, SystemTime};

fn age(info: &RegionInfo) -> Option<Duration> {
    info.created
        .and_then(|t| SystemTime::now().duration_since(t).ok())
}

/// `3s`, `5m`, `2h`, `4d`.
fn human_age(age: Option<Duration>) -> String {
    let Some(age) = age else {
        return "?".into();
    };
    let s = age.as_secs();
    match s {
        0..=119 => format!("{s}s"),
        120..=7199 => format!("{}m", s / 60),
        7200..=172_799 => format!("{}h", s / 3600),
        _ => format!("{}d", s / 86_400),
    }
}

/// `free`, `alive`, `dead`, `2 alive`, `1 alive, 1 dead`.
fn holders((alive, dead): (usize, usize), kind: QueueKind) -> String {
    // One role per side: every kind but MPMC.
    let one = kind != QueueKind::Mpmc;
    match (alive, dead) {
        (0, 0) => "free".into(),
        (a, 0) if one => {
            if a == 1 {
                "alive".into()
            } else {
                format!("{a} alive")
            }
        }
        (0, d) if one => {
            if d == 1 {
                "dead".into()
            } else {
                format!("{d} dead")
            }
        }
        (a, 0) => format!("{a} alive"),
        (0, d) => format!("{d} dead"),
        (a, d) => format!("{a} alive, {d} dead"),
    }
}

fn counters_json(c: &Counters) -> Value {
    json!({
        "enqueued": c.enqueued,
        "dequeued": c.dequeued,
        "full": c.full,
        "empty": c.empty,
        "idle": c.idle,
        "sender_poisonings": c.sender_poisonings,
        "receiver_poisonings": c.receiver_poisonings,
        "skipped": c.skipped,
        "lost": c.lost,
        "receiver_sleeps": c.receiver_sleeps,
        "receiver_spurious": c.receiver_spurious,
        "data_wakes": c.data_wakes,
        "sender_sleeps": c.sender_sleeps,
        "sender_spurious": c.sender_spurious,
        "room_wakes": c.room_wakes,
    })
}

fn info_json(info: &RegionInfo) -> Value {
    let (sa, sd) = info.senders();
    let (ra, rd) = info.receivers();
    json!({
        "name": info.name,
        "ok": true,
        "kind": kind_name(info.kind),
        "capacity": info.capacity,
        "slot_size": info.slot_size,
        "stride": info.stride,
        "max_endpoints": info.max_endpoints,
        "total_size": info.total_size,
        "file_size": info.file_size,
        "persistent": info.persistent,
        "creator_pid": info.creator_pid,
        "creator_alive": info.creator_alive,
        "in_use": info.in_use(),
        "poisoned": info.poisoned,
        "queued": info.queued,
        "age_secs": age(info).map(|a| a.as_secs_f64()),
        "senders": { "alive": sa, "dead": sd },
        "receivers": { "alive": ra, "dead": rd },
        "counters": counters_json(&info.counters),
        "endpoints": info.endpoints.iter().map(|e| json!({
            "slot": e.slot,
            "side": e.side.to_string(),
            "alive": e.alive,
        })).collect::<Vec<_>>(),
    })
}

fn error_json(name: &str, e: &InspectError) -> Value {
    json!({ "name": name, "ok": false, "shmq": e.is_shmq(), "error": e.to_string() })
}

/// Prints rows as left-aligned columns.
fn table(out: &mut impl Write, rows: &[Vec<String>]) -> io::Result<()> {
    let cols = rows.iter().map(Vec::len).max().unwrap_or(0);
    let width: Vec<usize> = (0..cols)
        .map(|c| {
            rows.iter()
                .filter(|r| r.len() > 1)
                .filter_map(|r| r.get(c))
                .map(|s| s.chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    for row in rows {
        let mut line = String::new();
        for (c, cell) in row.iter().enumerate() {
            if c + 1 == row.len() {
                line.push_str(cell);
            } else {
                line.push_str(&format!("{cell:<w$}  ", w = width[c]));
            }
        }
        writeln!(out, "{}", line.trim_end())?;
    }
    Ok(())
}

pub(crate) fn ls(all: bool, json_out: bool) -> Result<ExitCode, Failure> {
    let listed = admin::list().map_err(|e| format!("{}: {e}", admin::SHM_DIR))?;
    let mut broken = false;
    let mut rows = vec![[
        "NAME",
        "KIND",
        "CAPACITY",
        "SLOT",
        "BYTES",
        "SENDERS",
        "RECEIVERS",
        "QUEUED",
        "POISONED",
        "AGE",
    ]
    .map(String::from)
    .to_vec()];
    let mut items = Vec::new();
    for l in &listed {
        match &l.result {
            Ok(info) => {
                items.push(info_json(info));
                rows.push(vec![
                    l.name.clone(),
                    kind_name(info.kind).into(),
                    info.capacity.to_string(),
                    info.slot_size.to_string(),
                    info.file_size.to_string(),
                    holders(info.senders(), info.kind),
                    holders(info.receivers(), info.kind),
                    info.queued.map_or("?".into(), |q| q.to_string()),
                    if info.poisoned { "yes" } else { "no" }.into(),
                    human_age(age(info)),
                ]);
            }
            Err(e) if e.is_shmq() => {
                broken = true;
                eprintln!("shmq: {}: {e}", l.name);
                items.push(error_json(&l.name, e));
                rows.push(vec![l.name.clone(), format!("error: {e}")]);
            }
            Err(e) if all => {
                items.push(error_json(&l.name, e));
                rows.push(vec![l.name.clone(), format!("({e})")]);
            }
            Err(_) => {}
        }
    }
    let mut out = io::stdout().lock();
    if json_out {
        writeln!(out, "{}", serde_json::to_string_pretty(&items)?)?;
    } else {
        table(&mut out, &rows)?;
    }
    Ok(if broken {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

fn counter_rows(c: &Counters) -> Vec<(&'static str, Option<u64>)> {
    vec![
        ("enqueued", Some(c.enqueued)),
        ("dequeued", Some(c.dequeued)),
        ("full", c.full),
        ("empty", c.empty),
        ("idle (full/empty polls)", c.idle),
        ("skipped (dead senders)", c.skipped),
        ("lost (dead receivers)", c.lost),
        ("sender poisonings", Some(c.sender_poisonings)),
        ("receiver poisonings", Some(c.receiver_poisonings)),
        ("receiver sleeps", Some(c.receiver_sleeps.into())),
        ("receiver spurious wakes", Some(c.receiver_spurious.into())),
        ("wakes for receivers", Some(c.data_wakes.into())),
        ("sender sleeps", Some(c.sender_sleeps.into())),
        ("sender spurious wakes", Some(c.sender_spurious.into())),
        ("wakes for senders", Some(c.room_wakes.into())),
    ]
}

fn print_stat(
    out: &mut impl Write,
    info: &RegionInfo,
    before: Option<(&RegionInfo, Duration)>,
) -> io::Result<()> {
    let yes = |b: bool| if b { "yes" } else { "no" };
    writeln!(out, "name        {}", info.name)?;
    writeln!(out, "kind        {}", kind_name(info.kind))?;
    let (cap, size, stride) = (info.capacity, info.slot_size, info.stride);
    let geometry = match info.kind {
        QueueKind::Bytes => format!("ring of {cap} B, messages of up to {size} B"),
        QueueKind::Dense => format!("{cap} records of {size} B (stride {stride} B)"),
        QueueKind::Mpmc => format!(
            "{cap} slots of up to {size} B (stride {stride} B), endpoint table of {}",
            info.max_endpoints
        ),
        _ => format!("{cap} slots of up to {size} B (stride {stride} B)"),
    };
    writeln!(out, "geometry    {geometry}")?;
    writeln!(
        out,
        "size        {} B (file {} B)",
        info.total_size, info.file_size
    )?;
    writeln!(out, "persistent  {}", yes(info.persistent))?;
    writeln!(
        out,
        "creator     pid {} ({})",
        info.creator_pid,
        if info.creator_alive {
            "holding it"
        } else {
            "gone"
        }
    )?;
    writeln!(out, "poisoned    {}", yes(info.poisoned))?;
    writeln!(
        out,
        "queued      {}",
        info.queued
            .map_or("? (cursors inconsistent)".into(), |q| q.to_string())
    )?;
    writeln!(out, "age         {}", human_age(age(info)))?;
    writeln!(out, "counters")?;
    let now = counter_rows(&info.counters);
    let then = before.map(|(b, dt)| (counter_rows(&b.counters), dt));
    for (i, (label, value)) in now.iter().enumerate() {
        let Some(v) = value else { continue };
        let rate = match &then {
            Some((rows, dt)) if !dt.is_zero() => match rows[i].1 {
                Some(old) => format!(
                    "  {:+.1}/s",
                    v.wrapping_sub(old) as i64 as f64 / dt.as_secs_f64()
                ),
                None => String::new(),
            },
            _ => String::new(),
        };
        writeln!(out, "  {label:<25} {v}{rate}")?;
    }
    writeln!(out, "endpoints")?;
    if info.endpoints.is_empty() {
        writeln!(out, "  (none)")?;
    }
    for e in &info.endpoints {
        let what = if info.kind == QueueKind::Mpmc {
            format!("entry {}", e.slot)
        } else {
            String::new()
        };
        writeln!(
            out,
            "  {:<9} {:<9} {}",
            e.side.to_string(),
            what,
            if e.alive {
                "alive"
            } else {
                "dead (holder gone)"
            }
        )?;
    }
    Ok(())
}

pub(crate) fn stat(
    name: &str,
    json_out: bool,
    watch: Option<(Duration, Option<u64>)>,
) -> Result<ExitCode, Failure> {
    let mut out = io::stdout().lock();
    let mut previous: Option<(RegionInfo, Instant)> = None;
    let mut shown = 0u64;
    loop {
        let info = match admin::inspect(name) {
            Ok(info) => info,
            Err(e) => {
                if json_out {
                    writeln!(out, "{}", error_json(name, &e))?;
                }
                eprintln!("shmq: {name}: {e}");
                return Ok(ExitCode::FAILURE);
            }
        };
        let now = Instant::now();
        if json_out {
            let mut v = info_json(&info);
            if let Some((p, t)) = &previous {
                let dt = now.duration_since(*t).as_secs_f64();
                if dt > 0.0 {
                    let rate = |a: u64, b: u64| a.wrapping_sub(b) as i64 as f64 / dt;
                    v["rates_per_sec"] = json!({
                        "enqueued": rate(info.counters.enqueued, p.counters.enqueued),
                        "dequeued": rate(info.counters.dequeued, p.counters.dequeued),
                    });
                }
            }
            writeln!(out, "{v}")?;
        } else {
            if previous.is_some() {
                writeln!(out)?;
            }
            let before = previous.as_ref().map(|(p, t)| (p, now.duration_since(*t)));
            print_stat(&mut out, &info, before)?;
        }
        out.flush()?;
        shown += 1;
        let Some((interval, iterations)) = watch else {
            break;
        };
        if iterations.is_some_and(|n| shown >= n) {
            break;
        }
        previous = Some((info, now));
        std::thread::sleep(interval);
    }
    Ok(ExitCode::SUCCESS)
}

pub(crate) fn rm(names: &[String], force: bool) -> Result<ExitCode, Failure> {
    let mut code = ExitCode::SUCCESS;
    for name in names {
        if let Err(e) = admin::remove(name, force) {
            eprintln!("shmq: {name}: {e}");
            code = ExitCode::FAILURE;
        }
    }
    Ok(code)
}

pub(crate) fn gc(
    names: &[String],
    prefix: &str,
    dry_run: bool,
    json_out: bool,
) -> Result<ExitCode, Failure> {
    let swept = if names.is_empty() {
        admin::gc(prefix, dry_run).map_err(|e| format!("{}: {e}", admin::SHM_DIR))?
    } else {
        let mut swept = Vec::new();
        for name in names.iter().filter(|n| n.starts_with(prefix)) {
            swept.push((name.clone(), admin::gc_one(name, dry_run)?));
        }
        swept
    };
    let mut out = io::stdout().lock();
    let mut items = Vec::new();
    for (name, outcome) in &swept {
        let (word, detail) = match outcome {
            GcOutcome::Removed => ("removed", None),
            GcOutcome::WouldRemove => ("would-remove", None),
            GcOutcome::InUse => ("in-use", None),
            GcOutcome::Persistent => ("persistent", None),
            GcOutcome::Replaced => ("replaced", None),
            GcOutcome::Invalid(e) => ("invalid", Some(e.to_string())),
            GcOutcome::NotShmq(e) if !names.is_empty() => ("not-shmq", Some(e.to_string())),
            GcOutcome::NotShmq(_) => continue,
            _ => ("kept", None),
        };
        if json_out {
            items.push(json!({ "name": name, "outcome": word, "error": detail }));
        } else {
            match detail {
                Some(d) => writeln!(out, "{word:<13} {name}: {d}")?,
                None => writeln!(out, "{word:<13} {name}")?,
            }
        }
    }
    if json_out {
        writeln!(out, "{}", serde_json::to_string_pretty(&items)?)?;
    }
    Ok(ExitCode::SUCCESS)
}
