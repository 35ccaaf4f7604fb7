//! `xproc`: cross-process benchmarks of shmq against its peers.
//!
//! ```text
//! cargo run --release -p shmq-benches --bin xproc -- [--quick] [--markdown FILE]
//! ```
//!
//! The published report (`docs/benchmarks.md` and its PNG plot) is written by
//!
//! ```text
//! cargo run --release -p shmq-benches --features iceoryx2 --bin xproc -- --markdown docs/benchmarks.md
//! ```
//!
//! Sections: u64 round trips and streams (shmq through its user API and
//! through `shmq-core`, with the targets of issue #2), then messages of 8 B to
//! 16 KiB (see `shmq_benches::sized`). Progress goes to stderr.
//!
//! Prints one table per section, each with the floor (a bare atomic
//! ping-pong between the same two cores) measured in the same run; with
//! `--markdown FILE` writes the same tables, with a machine description, as
//! Markdown. `--quick` runs tiny sizes (for CI); its figures mean nothing.
//! The binary re-executes itself as `xproc __peer ...` for the peer process.

use shmq_benches::cases::{self, Config, PingPong, Stream, PINGPONGS, STREAMS};
use shmq_benches::plot::{self, Panel};
use shmq_benches::report::{self, median, ns, Latency, Machine, Table};
use shmq_benches::sized::{self, Sys, SIZES};
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

const USAGE: &str = "usage: xproc [--quick] [--markdown FILE [--plot FILE.png]] [--criterion DIR] [--only CASE,...] [--runs N] [--msgs N]
  --runs/--msgs: stream runs and timed messages per run (exploration; the report uses the defaults)
  --criterion: include the in-process results criterion wrote under DIR in the last 30 min
  --plot defaults to the Markdown file's name with -latency.png; sized sections: CASE sized (sized-stream: streams only)
  CASE: pp-floor pp-api pp-shmq pp-pipe pp-uds pp-stamp st-api st-api-stream st-api-batch st-dense st-dense-batch st-shmq st-shmq-stream st-shmq-batch st-ceiling st-rtrb st-seq st-index
        st-stamp st-stamp-lazy st-stamp-batch (diagnostics)
  (--only is for investigation: the floor always runs; ratios to absent peers print as -)";

fn run(args: &[String]) -> Result<()> {
    let mut quick = false;
    let mut markdown = None;
    let mut png: Option<String> = None;
    let mut crit: Option<String> = None;
    let mut only: Option<Vec<String>> = None;
    let mut runs: Option<usize> = None;
    let mut msgs: Option<u64> = None;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--quick" => quick = true,
            "--markdown" => {
                markdown = Some(it.next().ok_or_else(|| err(USAGE))?.clone());
            }
            "--criterion" => {
                crit = Some(it.next().ok_or_else(|| err(USAGE))?.clone());
            }
            "--plot" => {
                png = Some(it.next().ok_or_else(|| err(USAGE))?.clone());
            }
            "--only" => {
                let list = it.next().ok_or_else(|| err(USAGE))?;
                only = Some(list.split(',').map(str::to_string).collect());
            }
            "--runs" => {
                runs = Some(it.next().ok_or_else(|| err(USAGE))?.parse()?);
            }
            "--msgs" => {
                msgs = Some(it.next().ok_or_else(|| err(USAGE))?.parse()?);
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
    let mut cfg = if quick {
        Config::quick()
    } else {
        Config::full()
    };
    if let Some(r) = runs {
        cfg.stream_runs = r.max(1);
    }
    if let Some(m) = msgs {
        cfg.stream_msgs = m.max(1);
        cfg.stream_warm = cfg.stream_warm.min(m);
    }
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
    let mut tables = Vec::new();
    if let Some(dir) = &crit {
        let found = shmq_benches::criterion::tables(std::path::Path::new(dir))?;
        if found.is_empty() {
            eprintln!("xproc: no fresh criterion results under {dir}");
        }
        for t in found {
            print!("{}", t.plain());
            println!();
            tables.push(t);
        }
    }
    tables.push(t1);
    if !streams.is_empty() {
        let t2 = stream_section(&cfg, floor_p50, &streams)?;
        print!("{}", t2.plain());
        println!();
        tables.push(t2);
    }
    let mut sized_lat = Vec::new();
    if wanted("sized") || wanted("sized-stream") {
        if wanted("sized") {
            let (t3, lat) = sized_latency_section(&cfg)?;
            print!("{}", t3.plain());
            println!();
            tables.push(t3);
            sized_lat = lat;
        }
        let t4 = sized_stream_section(&cfg)?;
        print!("{}", t4.plain());
        tables.push(t4);
        for f in sized::cleanup() {
            eprintln!("xproc: removed iceoryx2 leftover {f}");
        }
    }

    if let Some(path) = markdown {
        let command = std::iter::once("xproc".to_string())
            .chain(args.iter().cloned())
            .collect::<Vec<_>>()
            .join(" ");
        let png = png.unwrap_or_else(|| {
            let stem = path.strip_suffix(".md").unwrap_or(&path);
            format!("{stem}-latency.png")
        });
        let mut plot_line = None;
        if !sized_lat.is_empty() {
            let panels: Vec<Panel> = sized_lat
                .iter()
                .map(|(size, series)| Panel {
                    title: format!("{} messages", size_label(*size)),
                    series: series.iter().map(|(l, lat)| (*l, lat)).collect(),
                })
                .collect();
            let caption = format!(
                "Round-trip latency percentiles, two pinned processes ({}, commit {})",
                machine.date, machine.commit
            );
            match plot::latency_png(&png, &caption, &panels) {
                Ok(font) => {
                    eprintln!("xproc: wrote {png} (font {font})");
                    let name = std::path::Path::new(&png)
                        .file_name()
                        .and_then(|n| n.to_str())
                        .unwrap_or(&png);
                    plot_line = Some(format!(
                        "![Round-trip latency percentiles per system and message size]({name})"
                    ));
                }
                Err(e) => eprintln!("xproc: no plot: {e}"),
            }
        }
        let doc = report::markdown_doc(&machine, &command, plot_line.as_deref(), &tables);
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
    let steps = cfg.pp_rounds * pps.len();
    let mut step = 0;
    for r in 0..cfg.pp_rounds {
        for (pp, l) in pps.iter().zip(&mut lat) {
            step += 1;
            eprintln!(
                "[{step}/{steps}] u64 latency: {}, round {}",
                pp.label(),
                r + 1
            );
            let iters = match pp {
                PingPong::Floor | PingPong::Shmq | PingPong::Api | PingPong::Stamp => cfg.pp_iters,
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
    for target in [PingPong::Api, PingPong::Shmq] {
        if let Some(i) = pps.iter().position(|p| *p == target) {
            let shmq = lat[i].summary();
            let (r50, rmean) = (shmq[0] / floor[0], shmq[4] / floor[4]);
            t.footer.push(format!(
                "Target RTT ≤ 1.20× floor, {}: p50 {r50:.2}× ({}), mean {rmean:.2}× ({}) \
                 [RTT p50 {}, mean {}; floor p50 {}, mean {}].",
                target.label(),
                verdict(r50 <= 1.2),
                verdict(rmean <= 1.2),
                ns(shmq[0]),
                ns(shmq[4]),
                ns(floor[0]),
                ns(floor[4])
            ));
        }
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
    let steps = cfg.stream_runs * streams.len();
    let mut step = 0;
    for k in 0..cfg.stream_runs {
        for (s, r) in streams.iter().zip(&mut runs) {
            step += 1;
            eprintln!("[{step}/{steps}] u64 stream: {}, run {}", s.label(), k + 1);
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
    for s in [
        Stream::Api,
        Stream::ApiStream,
        Stream::Dense,
        Stream::Shmq,
        Stream::ShmqStream,
    ] {
        let per_msg = rtrb / of(s);
        if !per_msg.is_nan() {
            t.footer.push(format!(
                "Target per message ≥ 2.50× rtrb's throughput, {}: {per_msg:.2}× ({}) \
                 [{} vs rtrb {} per message; floor p50 {} / {}].",
                s.label(),
                verdict(per_msg >= 2.5),
                ns(of(s)),
                ns(rtrb),
                ns(before),
                ns(after)
            ));
        }
    }
    for s in [Stream::ApiBatch, Stream::ShmqBatch, Stream::DenseBatch] {
        let batch = ceiling / of(s);
        if !batch.is_nan() {
            t.footer.push(format!(
                "Target batch ≥ 0.85× the ceiling's throughput, {}: {batch:.2}× ({}) \
                 [{} vs ceiling {} per message; floor p50 {} / {}].",
                s.label(),
                verdict(batch >= 0.85),
                ns(of(s)),
                ns(ceiling),
                ns(before),
                ns(after)
            ));
        }
    }
    for (api, core) in [
        (Stream::Api, Stream::Shmq),
        (Stream::ApiStream, Stream::ShmqStream),
        (Stream::ApiBatch, Stream::ShmqBatch),
    ] {
        let cost = of(api) / of(core);
        if !cost.is_nan() {
            t.footer.push(format!(
                "Target API ≤ 1.15× the core's time per message, {}: {cost:.2}× ({}) \
                 [{} vs {} per message].",
                api.label(),
                verdict(cost <= 1.15),
                ns(of(api)),
                ns(of(core))
            ));
        }
    }
    for s in [
        Stream::Api,
        Stream::ApiStream,
        Stream::ApiBatch,
        Stream::Dense,
        Stream::DenseBatch,
        Stream::Shmq,
        Stream::ShmqStream,
        Stream::ShmqBatch,
    ] {
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

/// `8 B`, `1 KiB`, `16 KiB`.
fn size_label(size: usize) -> String {
    if size >= 1 << 20 && size % (1 << 20) == 0 {
        format!("{} MiB", size >> 20)
    } else if size >= 1024 && size % 1024 == 0 {
        format!("{} KiB", size / 1024)
    } else {
        format!("{size} B")
    }
}

/// Ratio cell `a ÷ b`, or `-` when either is missing.
fn ratio_cell(a: f64, b: f64) -> String {
    let r = a / b;
    if r.is_finite() {
        format!("{r:.2}×")
    } else {
        "-".into()
    }
}

/// Round trips measured per series in the sized section.
/// At most about 2 GiB of payload each way (2048 round trips at 1 MiB).
fn sized_iters(cfg: &Config, sys: Sys, size: usize) -> u64 {
    let n = if sys.is_syscall() {
        cfg.pp_sys_iters / 2
    } else {
        cfg.pp_iters / 2
    };
    n.min(((2u64 << 30) / size as u64).max(16))
}

/// Label and round-trip record of one system at one size.
type Series = Vec<(&'static str, Latency)>;

/// Section 3: round-trip latency by message size. Returns the table and, per
/// size, the floor's and every system's records (for the plot).
fn sized_latency_section(cfg: &Config) -> Result<(Table, Vec<(usize, Series)>)> {
    let systems = sized::systems();
    let rounds = cfg.pp_rounds.min(3);
    let steps = SIZES.len() * rounds * (systems.len() + 1);
    let mut step = 0;
    let mut all = Vec::new();
    let mut t = Table {
        title: "Round-trip latency by message size, two processes".into(),
        header: [
            "size",
            "peer",
            "p50",
            "p99",
            "p99.9",
            "max",
            "mean",
            "peer p50 ÷ shmq p50",
        ]
        .map(String::from)
        .to_vec(),
        ..Table::default()
    };
    t.notes.push(format!(
        "Per size: {rounds} round(s), the floor and the systems taking turns; {} warm-up round \
         trips per series; {} (shared memory) or {} (system calls) measured round trips per \
         series and round (at most about 1 GiB of warm-up and 2 GiB of measured payload \
         per series: fewer at 1 MiB). Both directions carry the full message; the same work \
         on every side: each producer writes every byte in (a copy, or iceoryx2's loaned \
         sample / the byte ring's loan filled from the message), each consumer reads every \
         byte out (iceoryx2's sample and the byte ring's view copied out in place). \
         Cells: RTT (ratio to the floor's same statistic, \
         the floor measured at the same size's turn). Last column: > 1 means shmq is faster. \
         Closed loop, one message in flight: coordinated omission does not apply (see the \
         u64 round-trip section).",
        cfg.pp_warm,
        cfg.pp_iters / 2,
        cfg.pp_sys_iters / 2
    ));
    t.notes.push(format!(
        "Ring capacity per size: {}. shmq goes through the user API: \
         `Sender::try_send`/`Receiver::try_recv`.",
        SIZES
            .iter()
            .map(|s| format!("{} → {}", size_label(*s), sized::capacity(*s)))
            .collect::<Vec<_>>()
            .join(", ")
    ));
    for size in SIZES {
        let mut floor = Latency::new();
        let mut lat: Vec<Latency> = systems.iter().map(|_| Latency::new()).collect();
        let mut floor_rounds = Vec::new();
        for r in 0..rounds {
            step += 1;
            eprintln!(
                "[{step}/{steps}] latency {}: floor, round {}",
                size_label(size),
                r + 1
            );
            let f = PingPong::Floor.run(cfg, cfg.pp_iters / 2)?;
            floor_rounds.push(f.quantile(0.5) as f64);
            floor.merge(&f);
            for (sys, l) in systems.iter().zip(&mut lat) {
                step += 1;
                eprintln!(
                    "[{step}/{steps}] latency {}: {}, round {}",
                    size_label(size),
                    sys.label(),
                    r + 1
                );
                l.merge(&sized::ping_pong(
                    *sys,
                    size,
                    cfg,
                    sized_iters(cfg, *sys, size),
                )?);
            }
        }
        let fs = floor.summary();
        let shmq_p50 = lat[0].quantile(0.5) as f64;
        let mut row = |label: &str, l: &Latency| {
            let s = l.summary();
            let mut row = vec![size_label(size), label.to_string()];
            for (x, f) in s.iter().zip(&fs) {
                row.push(format!("{} ({:.2}×)", ns(*x), x / f));
            }
            row.push(ratio_cell(s[0], shmq_p50));
            t.rows.push(row);
        };
        row("FLOOR: atomic ping-pong, 8 B", &floor);
        for (sys, l) in systems.iter().zip(&lat) {
            row(sys.label(), l);
        }
        if size == 8 {
            for (sys, l) in systems.iter().zip(&lat) {
                if matches!(sys, Sys::Bytes | Sys::BytesLoan) {
                    let r = l.quantile(0.5) as f64 / fs[0];
                    t.footer.push(format!(
                        "Target RTT at 8 B ≤ 1.30× floor, {}: p50 {r:.2}× ({}) [RTT p50 {}; \
                         floor p50 {}].",
                        sys.label(),
                        verdict(r <= 1.3),
                        ns(l.quantile(0.5) as f64),
                        ns(fs[0])
                    ));
                }
            }
        }
        let (lo, hi) = floor_rounds
            .iter()
            .fold((f64::INFINITY, 0.0f64), |(lo, hi), x| {
                (lo.min(*x), hi.max(*x))
            });
        if hi > 1.5 * lo {
            t.footer.push(format!(
                "WARNING: at {} the floor changed between rounds ({}): the VM switched speed \
                 level; those figures mix levels.",
                size_label(size),
                floor_rounds
                    .iter()
                    .map(|x| ns(*x))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        for (sys, l) in systems.iter().zip(&lat).skip(1) {
            let p = l.quantile(0.5) as f64;
            if p < shmq_p50 {
                t.footer.push(format!(
                    "shmq is behind {} at {}: p50 {} vs {} (shmq takes {:.2}× as long).",
                    sys.label(),
                    size_label(size),
                    ns(shmq_p50),
                    ns(p),
                    shmq_p50 / p
                ));
            }
        }
        let mut series: Series = vec![("floor (atomic ping-pong)", floor)];
        series.extend(systems.iter().map(|s| s.label()).zip(lat));
        all.push((size, series));
    }
    Ok((t, all))
}

/// Section 4: one-way stream throughput by message size.
fn sized_stream_section(cfg: &Config) -> Result<Table> {
    let systems = sized::stream_systems();
    let runs = cfg.stream_runs.min(3);
    let before = floor_check(cfg)?;
    let steps = SIZES.len() * runs * systems.len();
    let mut step = 0;
    let mut t = Table {
        title: "One-way stream throughput by message size, two processes".into(),
        header: [
            "size",
            "peer",
            "ns/msg (median)",
            "best",
            "worst",
            "MB/s",
            "× ceiling",
            "peer time ÷ shmq time",
        ]
        .map(String::from)
        .to_vec(),
        ..Table::default()
    };
    let mut rows = Vec::new();
    let mut behind = Vec::new();
    let mut targets = Vec::new();
    for size in SIZES {
        let mut res: Vec<Vec<f64>> = systems.iter().map(|_| Vec::new()).collect();
        for r in 0..runs {
            for (sys, v) in systems.iter().zip(&mut res) {
                step += 1;
                let n = sized::stream_msgs(*sys, size, cfg);
                eprintln!(
                    "[{step}/{steps}] stream {}: {}, run {} ({n} messages)",
                    size_label(size),
                    sys.label(),
                    r + 1
                );
                v.push(sized::stream(*sys, size, cfg, n)?);
            }
        }
        let med: Vec<f64> = res.iter().map(|r| median(r)).collect();
        let (shmq, ceiling) = (med[0], med[1]);
        targets.extend(byte_ring_stream_targets(&systems, &med, size));
        for ((sys, r), m) in systems.iter().zip(&res).zip(&med) {
            let best = r.iter().copied().fold(f64::INFINITY, f64::min);
            let worst = r.iter().copied().fold(0.0, f64::max);
            rows.push(vec![
                size_label(size),
                sys.label().to_string(),
                ns(*m),
                ns(best),
                ns(worst),
                format!("{:.0}", size as f64 * 1000.0 / m),
                ratio_cell(ceiling, *m),
                ratio_cell(*m, shmq),
            ]);
            if !matches!(
                sys,
                Sys::Shmq | Sys::ShmqStream | Sys::Bytes | Sys::BytesLoan
            ) && *m < shmq
            {
                behind.push(format!(
                    "shmq is behind {} at {}: {} vs {} per message ({:.2}× the time).",
                    sys.label(),
                    size_label(size),
                    ns(shmq),
                    ns(*m),
                    shmq / m
                ));
            }
        }
    }
    let after = floor_check(cfg)?;
    t.notes.push(format!(
        "Per size and system: {runs} run(s), the systems taking turns; about 1 GiB (shared \
         memory; at most 10 M messages, iceoryx2 1 M) or 256 MiB (system calls; at most 500 k \
         messages) of timed payload per run after a warm-up. Producer process on core 1, \
         consumer on core 0. shmq: `try_send`/`try_recv` per message (user API), with the \
         default `Pacing::Latency` and, in its own row, both ends in `Pacing::Throughput` \
         (B-Queue batching); ceiling: \
         minimal ring publishing every {} messages (an eighth of the ring at most: {}); shmq \
         byte ring (`shmq::bytes`, as many records as the slot rings have slots, rounded up to \
         a power of two bytes): copies = `try_send`/`try_recv`, loans = `try_loan` filled from \
         the message + `commit`, `try_recv_with` copying the view out; iceoryx2: a loaned \
         sample filled from the message, the received sample copied out in place (every \
         system's producer writes every byte and consumer reads every byte); pipe and socket: \
         one `write` per message, `read_exact` of one message. Ratios: × ceiling is throughput relative to the \
         ceiling (higher is faster); last column > 1 means shmq is faster.",
        sized::BATCH,
        SIZES
            .iter()
            .map(|s| format!("{} → {}", size_label(*s), sized::batch(*s)))
            .collect::<Vec<_>>()
            .join(", ")
    ));
    t.notes.push(format!(
        "FLOOR (atomic ping-pong RTT p50) in this run: {} just before and {} just after this \
         section.",
        ns(before),
        ns(after)
    ));
    if before.max(after) > 1.5 * before.min(after) {
        t.notes.push(
            "WARNING: the floor changed during this section (the VM switched speed level): \
             compare only figures taken at the same level."
                .into(),
        );
    }
    t.rows = rows;
    t.footer = targets;
    t.footer.extend(behind);
    Ok(t)
}

/// Issue #11's stream targets for the byte ring at `size`, from the median
/// ns/msg of each system (`med`, in `systems` order): at 16 KiB at least
/// iceoryx2's throughput; at 8 B and 1 KiB within 1.5× the fixed-slot ring's
/// time. Both byte-ring variants are reported.
fn byte_ring_stream_targets(systems: &[Sys], med: &[f64], size: usize) -> Vec<String> {
    let of = |sys: Sys| systems.iter().position(|s| *s == sys).map(|i| med[i]);
    let mut out = Vec::new();
    for ring in [Sys::Bytes, Sys::BytesLoan] {
        let Some(t) = of(ring) else { continue };
        if size == 16 * 1024 {
            if let Some(iox) = of(Sys::Iceoryx2) {
                let r = iox / t;
                out.push(format!(
                    "Target 16 KiB stream ≥ 1.00× iceoryx2's throughput, {}: {r:.2}× ({}) \
                     [{} vs iceoryx2 {} per message].",
                    ring.label(),
                    verdict(r >= 1.0),
                    ns(t),
                    ns(iox)
                ));
            }
        }
        if size == 8 || size == 1024 {
            let slots = of(Sys::Shmq).unwrap_or(f64::NAN);
            let r = t / slots;
            out.push(format!(
                "Target {} stream within 1.50× the fixed-slot ring's time, {}: {r:.2}× ({}) \
                 [{} vs {} per message].",
                size_label(size),
                ring.label(),
                verdict(r <= 1.5),
                ns(t),
                ns(slots)
            ));
        }
    }
    out
}
