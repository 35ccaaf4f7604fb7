//! `xproc`: cross-process benchmarks of shmq against its peers.
//!
//! ```text
//! cargo run --release -p shmq-benches --bin xproc -- [--quick] [--markdown FILE]
//! ```
//!
//! Prints one table per section, each with the floor (a bare atomic
//! ping-pong between the same two cores) measured in the same run; with
//! `--markdown FILE` writes the same tables, with a machine description, as
//! Markdown. `--quick` runs tiny sizes (for CI); its figures mean nothing.
//! The binary re-executes itself as `xproc __peer ...` for the peer process.

use shmq_benches::cases::{self, Config, PingPong, Stream, PINGPONGS, STREAMS};
use shmq_benches::report::{self, median, ns, Latency, Machine, Table};
use shmq_benches::{err, Result};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("__peer") {
        if let Err(e) = cases::peer_main(&args[1..]) {
            eprintln!("xproc peer: {e}");
            std::process::exit(1);
        }
        return;
    }
    if let Err(e) = run(&args) {
        eprintln!("xproc: {e}");
        std::process::exit(1);
    }
}

const USAGE: &str = "usage: xproc [--quick] [--markdown FILE] [--only CASE,...]
  CASE: pp-floor pp-shmq pp-pipe pp-uds pp-stamp st-shmq st-shmq-batch st-ceiling st-rtrb st-seq st-index
        st-stamp st-stamp-lazy st-stamp-batch (diagnostics)
  (--only is for investigation: the floor always runs; ratios to absent peers print as -)";

fn run(args: &[String]) -> Result<()> {
    let mut quick = false;
    let mut markdown = None;
    let mut only: Option<Vec<String>> = None;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--quick" => quick = true,
            "--markdown" => {
                markdown = Some(it.next().ok_or_else(|| err(USAGE))?.clone());
            }
            "--only" => {
                let list = it.next().ok_or_else(|| err(USAGE))?;
                only = Some(list.split(',').map(str::to_string).collect());
            }
            "-h" | "--help" => {
                println!("{USAGE}");
                return Ok(());
            }
            // `cargo bench` passes `--bench`; ignore it.
            "--bench" => {}
            other => return Err(err(format!("unknown argument {other}\n{USAGE}"))),
        }
    }
    let cfg = if quick {
        Config::quick()
    } else {
        Config::full()
    };
    let wanted = |case: &str| only.as_ref().is_none_or(|o| o.iter().any(|c| c == case));
    let pps: Vec<PingPong> = PINGPONGS
        .into_iter()
        .filter(|p| *p == PingPong::Floor || wanted(p.case()))
        .collect();
    let streams: Vec<Stream> = STREAMS.into_iter().filter(|s| wanted(s.case())).collect();
    let machine = Machine::detect();
    let pinned = cases::pin_parent();
    println!("{}", machine.line());
    if !pinned {
        println!("WARNING: could not pin to cores 0 and 1: figures are unpinned");
    }
    if cfg.quick {
        println!("--quick: tiny sizes, the figures mean nothing");
    }
    println!();

    let (t1, floor_p50) = latency_section(&cfg, pinned, &pps)?;
    print!("{}", t1.plain());
    println!();
    let mut tables = vec![t1];
    if !streams.is_empty() {
        let t2 = stream_section(&cfg, floor_p50, &streams)?;
        print!("{}", t2.plain());
        tables.push(t2);
    }

    if let Some(path) = markdown {
        let command = std::iter::once("xproc".to_string())
            .chain(args.iter().cloned())
            .collect::<Vec<_>>()
            .join(" ");
        let doc = report::markdown_doc(&machine, &command, &tables);
        std::fs::write(&path, doc).map_err(|e| err(format!("write {path}: {e}")))?;
        println!("\nwrote {path}");
    }
    Ok(())
}

fn verdict(met: bool) -> &'static str {
    if met {
        "met"
    } else {
        "MISSED"
    }
}

/// Section 1: round-trip latency. Returns the table and the floor's p50.
fn latency_section(cfg: &Config, pinned: bool, pps: &[PingPong]) -> Result<(Table, f64)> {
    let mut lat: Vec<Latency> = pps.iter().map(|_| Latency::new()).collect();
    let mut floor_rounds = Vec::new();
    for _ in 0..cfg.pp_rounds {
        for (pp, l) in pps.iter().zip(&mut lat) {
            let iters = match pp {
                PingPong::Floor | PingPong::Shmq | PingPong::Stamp => cfg.pp_iters,
                PingPong::Pipe | PingPong::Uds => cfg.pp_sys_iters,
            };
            let one = pp.run(cfg, iters)?;
            if *pp == PingPong::Floor {
                floor_rounds.push(one.quantile(0.5) as f64);
            }
            l.merge(&one);
        }
    }
    let floor = lat[0].summary();
    let mut t = Table {
        title: "Round-trip latency (ping-pong), two processes".into(),
        header: ["peer", "p50", "p99", "p99.9", "max", "mean", "samples"]
            .map(String::from)
            .to_vec(),
        ..Table::default()
    };
    t.notes.push(format!(
        "Cores {}; {} round(s), the peers taking turns; {} warm-up round trips per series. \
         Cells: RTT (ratio to the floor's same statistic).",
        if pinned {
            "0 and 1, one process each"
        } else {
            "UNPINNED"
        },
        cfg.pp_rounds,
        cfg.pp_warm
    ));
    t.notes.push(format!(
        "FLOOR in this run: p50 {}, mean {} (a cache-line round trip; this VM's \
         vCPUs sit either close, ≈100 ns, or far, ≈450 ns).",
        ns(floor[0]),
        ns(floor[4])
    ));
    let (lo, hi) = floor_rounds
        .iter()
        .fold((f64::INFINITY, 0.0f64), |(lo, hi), x| {
            (lo.min(*x), hi.max(*x))
        });
    t.notes.push(format!(
        "Floor p50 per round: {}.",
        floor_rounds
            .iter()
            .map(|x| ns(*x))
            .collect::<Vec<_>>()
            .join(", ")
    ));
    if hi > 1.5 * lo {
        t.notes.push(
            "WARNING: the floor changed between rounds (the VM switched speed level): \
             the merged figures mix levels; rerun for a clean comparison."
                .into(),
        );
    }
    t.notes.push(format!(
        "Coordinated omission does not apply: each send waits for the previous reply \
         (closed loop, one message in flight), so no send is held back by a slow reply \
         that goes unrecorded; every round trip is one sample. Each sample includes one \
         clock read (≈ {:.0} ns here).",
        cases::clock_cost_ns()
    ));
    for (pp, l) in pps.iter().zip(&lat) {
        let s = l.summary();
        let mut row = vec![pp.label().to_string()];
        for (x, f) in s.iter().zip(&floor) {
            row.push(format!("{} ({:.2}×)", ns(*x), x / f));
        }
        row.push(l.count().to_string());
        t.rows.push(row);
    }
    if let Some(i) = pps.iter().position(|p| *p == PingPong::Shmq) {
        let shmq = lat[i].summary();
        let (r50, rmean) = (shmq[0] / floor[0], shmq[4] / floor[4]);
        t.footer.push(format!(
            "Target shmq RTT ≤ 1.20× floor: p50 {r50:.2}× ({}), mean {rmean:.2}× ({}).",
            verdict(r50 <= 1.2),
            verdict(rmean <= 1.2)
        ));
    }
    Ok((t, floor[0]))
}

/// A short floor measurement (p50 of the round trip).
fn floor_check(cfg: &Config) -> Result<f64> {
    Ok(PingPong::Floor
        .run(cfg, cfg.floor_check_iters)?
        .quantile(0.5) as f64)
}

/// Section 2: one-way stream throughput.
fn stream_section(cfg: &Config, floor_p50: f64, streams: &[Stream]) -> Result<Table> {
    let before = floor_check(cfg)?;
    let mut runs: Vec<Vec<f64>> = streams.iter().map(|_| Vec::new()).collect();
    let mut shmq_stats = Vec::new();
    for _ in 0..cfg.stream_runs {
        for (s, r) in streams.iter().zip(&mut runs) {
            let run = s.run(cfg)?;
            r.push(run.ns_per_msg);
            if let Some(st) = run.stats {
                shmq_stats.push((*s, st));
            }
        }
    }
    let after = floor_check(cfg)?;
    let med: Vec<f64> = runs.iter().map(|r| median(r)).collect();
    // Median ns/msg of a peer, NaN if it did not run (ratios then print as -).
    let of = |s: Stream| {
        streams
            .iter()
            .position(|x| *x == s)
            .map_or(f64::NAN, |i| med[i])
    };
    let ratio = |x: f64| {
        if x.is_nan() {
            "-".to_string()
        } else {
            format!("{x:.2}×")
        }
    };
    let (ceiling, rtrb) = (of(Stream::Ceiling), of(Stream::Rtrb));
    let mut t = Table {
        title: "One-way u64 stream throughput".into(),
        header: [
            "peer",
            "ns/msg (median)",
            "best",
            "worst",
            "M msg/s",
            "× ceiling",
            "× rtrb",
        ]
        .map(String::from)
        .to_vec(),
        ..Table::default()
    };
    t.notes.push(format!(
        "{} run(s) of {} timed messages after {} warm-up, the peers taking turns; \
         capacity {} slots for every ring; producer on core 1, consumer on core 0 \
         (separate processes except rtrb: two threads of one process). \
         Throughput ratios: higher is faster.",
        cfg.stream_runs,
        cfg.stream_msgs,
        cfg.stream_warm,
        cases::CAPACITY
    ));
    t.notes.push(format!(
        "FLOOR (atomic ping-pong RTT p50) in this run: {} in section 1, {} just before \
         and {} just after this section.",
        ns(floor_p50),
        ns(before),
        ns(after)
    ));
    if before.max(after) > 1.5 * before.min(after) {
        t.notes.push(
            "WARNING: the floor changed during this section (the VM switched speed \
             level): compare only figures taken at the same level."
                .into(),
        );
    }
    for ((s, r), m) in streams.iter().zip(&runs).zip(&med) {
        let best = r.iter().copied().fold(f64::INFINITY, f64::min);
        let worst = r.iter().copied().fold(0.0, f64::max);
        t.rows.push(vec![
            s.label().to_string(),
            ns(*m),
            ns(best),
            ns(worst),
            format!("{:.0}", 1000.0 / m),
            ratio(ceiling / m),
            ratio(rtrb / m),
        ]);
    }
    let per_msg = rtrb / of(Stream::Shmq);
    if !per_msg.is_nan() {
        t.footer.push(format!(
            "Target shmq per message ≥ 2.50× rtrb's throughput: {per_msg:.2}× ({}).",
            verdict(per_msg >= 2.5)
        ));
    }
    let batch = ceiling / of(Stream::ShmqBatch);
    if !batch.is_nan() {
        t.footer.push(format!(
            "Target shmq batch ≥ 0.85× the ceiling's throughput: {batch:.2}× ({}).",
            verdict(batch >= 0.85)
        ));
    }
    for s in [Stream::Shmq, Stream::ShmqBatch] {
        let mut full = Vec::new();
        let mut empty = Vec::new();
        for (_, st) in shmq_stats.iter().filter(|(x, _)| *x == s) {
            let msgs = st.enqueued.max(1) as f64;
            full.push(st.full as f64 / msgs);
            empty.push(st.empty as f64 / msgs);
        }
        if !full.is_empty() {
            t.footer.push(format!(
                "{}: shmq counters per message (median of runs): producer found the ring \
                 full {:.3}×, consumer found it empty {:.3}×.",
                s.label(),
                median(&full),
                median(&empty)
            ));
        }
    }
    Ok(t)
}
