//! The measurements: each case has a parent side (timing, checking) and a
//! peer side (run in the re-executed process by [`peer_main`]).
//!
//! Round trips: the parent sends `i`, waits for `i` back, and records the time
//! between consecutive replies (one clock read per sample). Streams: the peer
//! produces `0, 1, 2, ...`; the parent consumes, checks every value, and
//! times the messages after a warm-up prefix.

use crate::minimal::{self, BatchConsumer, BatchProducer, IndexConsumer, IndexProducer};
use crate::minimal::{SeqConsumer, SeqProducer, StampConsumer, StampProducer};
use crate::minimal::{INDEX_SLOT, SEQ_SLOT, STAMP_SLOT};
use crate::proc::{pin_to, Deadline, Peer, Spin, PARENT_CORE, PEER_CORE};
use crate::report::Latency;
use crate::shm::{ShmFile, AREA, GO, READY};
use crate::{err, ring, sized, Result};
use shmq::{TryRecvError, TrySendError};
use shmq_core::spsc::{Pacing, PopError, PushError, Stats};
use std::io::{Read, Write};
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::process::Stdio;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

/// Slots of every ring (shmq, the minimal rings and rtrb), streaming and ping-pong.
pub const CAPACITY: u32 = 4096;
/// Items per `push_slice`/`pop_slice` call in the batch streams.
pub const BATCH: usize = 256;

/// Sizes of one run.
#[derive(Debug, Clone)]
pub struct Config {
    /// Tiny sizes, for CI.
    pub quick: bool,
    /// Rounds of ping-pong; the peers take turns within each round.
    pub pp_rounds: usize,
    /// Round trips per round for the shared-memory ping-pongs.
    pub pp_iters: u64,
    /// Round trips per round for pipes and sockets.
    pub pp_sys_iters: u64,
    /// Unrecorded round trips before each measured series.
    pub pp_warm: u64,
    /// Round trips of the short floor measurements around the stream section.
    pub floor_check_iters: u64,
    /// Runs of each stream; the peers take turns within each run.
    pub stream_runs: usize,
    /// Timed messages per stream run.
    pub stream_msgs: u64,
    /// Untimed messages before them.
    pub stream_warm: u64,
    /// Bound on one peer process (the watchdog kills it after this).
    pub bound: Duration,
}

impl Config {
    /// The real measurement (≈ 30 s on this machine kind).
    pub fn full() -> Self {
        Config {
            quick: false,
            pp_rounds: 5,
            pp_iters: 200_000,
            pp_sys_iters: 10_000,
            pp_warm: 10_000,
            floor_check_iters: 100_000,
            stream_runs: 5,
            stream_msgs: 50_000_000,
            stream_warm: 1_000_000,
            bound: Duration::from_secs(120),
        }
    }

    /// Tiny sizes: the whole harness end to end in a few seconds.
    pub fn quick() -> Self {
        Config {
            quick: true,
            pp_rounds: 1,
            pp_iters: 2_000,
            pp_sys_iters: 200,
            pp_warm: 100,
            floor_check_iters: 1_000,
            stream_runs: 1,
            stream_msgs: 100_000,
            stream_warm: 10_000,
            bound: Duration::from_secs(60),
        }
    }
}

/// Every ping-pong peer, in report order (the floor first).
pub const PINGPONGS: [PingPong; 6] = [
    PingPong::Floor,
    PingPong::Api,
    PingPong::Shmq,
    PingPong::Pipe,
    PingPong::Uds,
    PingPong::Stamp,
];

/// A round-trip peer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PingPong {
    /// Two atomics on two cache lines 128 bytes apart.
    Floor,
    /// Two shmq SPSC rings, `try_push_value`/`try_pop_value`, busy polling.
    Shmq,
    /// Two queues of the user API (`shmq::spsc`), `try_send_value`/`try_recv_value`.
    Api,
    /// Two pipes, 8-byte messages.
    Pipe,
    /// A Unix-domain stream socket pair, 8-byte messages.
    Uds,
    /// Diagnostic: two minimal rings with shmq's protocol
    /// ([`minimal::StampProducer`]), to tell protocol from implementation.
    Stamp,
}

impl PingPong {
    /// Name in the report.
    pub fn label(self) -> &'static str {
        match self {
            PingPong::Floor => "floor: atomic ping-pong, 2 lines",
            PingPong::Shmq => "shmq-core SPSC u64 x2",
            PingPong::Api => "shmq API (shmq::spsc) u64 x2",
            PingPong::Pipe => "pipe 8 B",
            PingPong::Uds => "Unix socket 8 B",
            PingPong::Stamp => "diag: shmq protocol, minimal x2",
        }
    }

    /// Name of the case (as `--only` takes it).
    pub fn case(self) -> &'static str {
        match self {
            PingPong::Floor => "pp-floor",
            PingPong::Shmq => "pp-shmq",
            PingPong::Api => "pp-api",
            PingPong::Pipe => "pp-pipe",
            PingPong::Uds => "pp-uds",
            PingPong::Stamp => "pp-stamp",
        }
    }

    /// Measures `iters` round trips after `cfg.pp_warm` unrecorded ones.
    ///
    /// # Errors
    /// Any failure of the peer, a wrong reply, or a timeout.
    pub fn run(self, cfg: &Config, iters: u64) -> Result<Latency> {
        let total = cfg.pp_warm + iters;
        let warm = cfg.pp_warm;
        match self {
            PingPong::Floor => with_peer(
                self.case(),
                AREA + 4096,
                total,
                cfg,
                |_| Ok(()),
                |shm, ()| {
                    let (ping, pong) = (shm.u64_at(AREA), shm.u64_at(AREA + 128));
                    let mut spin = Spin::new(Deadline::after(cfg.bound), "floor reply");
                    go(shm);
                    round_trips(total, warm, |i| {
                        // Release/Acquire: pair with the peer's Acquire load of
                        // ping and Release store of pong.
                        ping.store(i, Ordering::Release);
                        while pong.load(Ordering::Acquire) != i {
                            spin.step()?;
                        }
                        Ok(())
                    })
                },
            ),
            PingPong::Shmq => {
                let fp = ring::footprint(CAPACITY)?;
                with_peer(
                    self.case(),
                    AREA + 2 * fp,
                    total,
                    cfg,
                    |shm| {
                        // SAFETY: the regions and endpoints live in `with_peer`'s
                        // `init` value, which is dropped before `shm`.
                        let (a, b) = unsafe {
                            (
                                ring::create(shm, AREA, CAPACITY)?,
                                ring::create(shm, AREA + fp, CAPACITY)?,
                            )
                        };
                        Ok((ring::producer(a)?, ring::consumer(b)?))
                    },
                    |shm, (mut tx, mut rx)| {
                        let mut spin = Spin::new(Deadline::after(cfg.bound), "shmq reply");
                        go(shm);
                        round_trips(total, warm, |i| {
                            loop {
                                match tx.try_push_value(&i) {
                                    Ok(()) => break,
                                    Err(PushError::Full) => spin.step()?,
                                    Err(e) => return Err(e.into()),
                                }
                            }
                            loop {
                                match rx.try_pop_value::<u64>() {
                                    Ok(v) if v == i => return Ok(()),
                                    Ok(v) => return Err(err(format!("reply {v}, sent {i}"))),
                                    Err(PopError::Empty) => spin.step()?,
                                    Err(e) => return Err(e.into()),
                                }
                            }
                        })
                    },
                )
            }
            PingPong::Api => with_peer(
                self.case(),
                AREA,
                total,
                cfg,
                |shm| {
                    let (a, b) = sized::names(shm.path())?;
                    let tx = shmq::spsc::Queue::create(&a, api_config())?.sender()?;
                    let rx = shmq::spsc::Queue::create(&b, api_config())?.receiver()?;
                    Ok((tx, rx, a, b))
                },
                |shm, (mut tx, mut rx, a, b)| {
                    // Both sides are attached: drop the names now.
                    shmq::spsc::remove(&a)?;
                    shmq::spsc::remove(&b)?;
                    let mut spin = Spin::new(Deadline::after(cfg.bound), "shmq API reply");
                    go(shm);
                    round_trips(total, warm, |i| {
                        loop {
                            match tx.try_send_value(&i) {
                                Ok(()) => break,
                                Err(TrySendError::Full) => spin.step()?,
                                Err(e) => return Err(e.into()),
                            }
                        }
                        loop {
                            match rx.try_recv_value::<u64>() {
                                Ok(v) if v == i => return Ok(()),
                                Ok(v) => return Err(err(format!("reply {v}, sent {i}"))),
                                Err(TryRecvError::Empty) => spin.step()?,
                                Err(e) => return Err(e.into()),
                            }
                        }
                    })
                },
            ),
            PingPong::Stamp => {
                let fp = minimal::footprint(CAPACITY as usize, STAMP_SLOT);
                with_peer(
                    self.case(),
                    AREA + 2 * fp,
                    total,
                    cfg,
                    |_| Ok(()),
                    |shm, ()| {
                        let cap = CAPACITY as usize;
                        let mut tx = StampProducer::new(shm, AREA, cap)?;
                        let mut rx = StampConsumer::new(shm, AREA + fp, cap, 1)?;
                        let mut spin = Spin::new(Deadline::after(cfg.bound), "stamp reply");
                        go(shm);
                        round_trips(total, warm, |i| {
                            while !tx.push(i) {
                                spin.step()?;
                            }
                            loop {
                                match rx.pop() {
                                    Some(v) if v == i => return Ok(()),
                                    Some(v) => return Err(err(format!("reply {v}, sent {i}"))),
                                    None => spin.step()?,
                                }
                            }
                        })
                    },
                )
            }
            PingPong::Pipe => {
                use rustix::pipe::{pipe_with, PipeFlags};
                let (to_peer_r, to_peer_w) = pipe_with(PipeFlags::CLOEXEC)?;
                let (from_peer_r, from_peer_w) = pipe_with(PipeFlags::CLOEXEC)?;
                let peer = spawn_fd_peer(self, total, cfg, to_peer_r, Stdio::from(from_peer_w))?;
                let (mut w, mut r) = (
                    std::fs::File::from(to_peer_w),
                    std::fs::File::from(from_peer_r),
                );
                let lat = stream_round_trips(total, warm, &mut w, &mut r)?;
                drop((w, r));
                peer.finish()?;
                Ok(lat)
            }
            PingPong::Uds => {
                let (mut ours, theirs) = UnixStream::pair()?;
                let peer = spawn_fd_peer(self, total, cfg, OwnedFd::from(theirs), Stdio::null())?;
                let mut r = ours.try_clone()?;
                let lat = stream_round_trips(total, warm, &mut ours, &mut r)?;
                drop((ours, r));
                peer.finish()?;
                Ok(lat)
            }
        }
    }
}

/// Runs `total` round trips through `rt(i)` (send `i`, wait for it back),
/// recording all but the first `warm`.
#[inline(always)]
pub(crate) fn round_trips(
    total: u64,
    warm: u64,
    mut rt: impl FnMut(u64) -> Result<()>,
) -> Result<Latency> {
    let mut lat = Latency::new();
    let mut prev = Instant::now();
    for i in 1..=total {
        rt(i)?;
        let now = Instant::now();
        if i > warm {
            lat.record((now - prev).as_nanos() as u64);
        }
        prev = now;
    }
    Ok(lat)
}

fn stream_round_trips(
    total: u64,
    warm: u64,
    w: &mut impl Write,
    r: &mut impl Read,
) -> Result<Latency> {
    round_trips(total, warm, |i| {
        w.write_all(&i.to_le_bytes())?;
        let mut buf = [0u8; 8];
        // A dead or killed peer closes its end: this read then fails (EOF).
        r.read_exact(&mut buf)?;
        match u64::from_le_bytes(buf) {
            v if v == i => Ok(()),
            v => Err(err(format!("reply {v}, sent {i}"))),
        }
    })
}

fn spawn_fd_peer(
    pp: PingPong,
    total: u64,
    cfg: &Config,
    stdin: OwnedFd,
    stdout: Stdio,
) -> Result<Peer> {
    let args = peer_args(pp.case(), "-", total, cfg);
    Peer::spawn(&args, Stdio::from(stdin), stdout, cfg.bound)
}

/// Every stream peer, in report order.
pub const STREAMS: [Stream; 15] = [
    Stream::Api,
    Stream::ApiStream,
    Stream::ApiBatch,
    Stream::Dense,
    Stream::DenseBatch,
    Stream::Shmq,
    Stream::ShmqStream,
    Stream::ShmqBatch,
    Stream::Ceiling,
    Stream::Rtrb,
    Stream::Seq,
    Stream::Index,
    Stream::Stamp,
    Stream::StampLazy,
    Stream::StampBatch,
];

/// Messages between head publications of [`Stream::StampLazy`].
pub const LAZY_HEAD: u64 = 64;

/// A one-way `u64` stream peer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    /// shmq, `try_push_value`/`try_pop_value` per message.
    Shmq,
    /// shmq, `push_slice`/`pop_slice` of [`BATCH`] items.
    ShmqBatch,
    /// As [`Stream::Shmq`], both ends in `Pacing::Throughput` (B-Queue batching).
    ShmqStream,
    /// The user API (`shmq::spsc`), `try_send_value`/`try_recv_value`.
    Api,
    /// As [`Stream::Api`], both ends in `Pacing::Throughput` (B-Queue batching).
    ApiStream,
    /// The user API, `try_send_slice`/`try_recv_slice` of [`BATCH`] items.
    ApiBatch,
    /// The dense record kind (`shmq::dense`, 8-byte records),
    /// `try_send_value`/`try_recv_value`.
    Dense,
    /// The dense record kind, `try_send_slice`/`try_recv_slice` of [`BATCH`].
    DenseBatch,
    /// Minimal SPSC, batch publish of tail/head (the ceiling).
    Ceiling,
    /// rtrb, in-process, two pinned threads, per message.
    Rtrb,
    /// Minimal SPSC with a sequence word per slot, per message.
    Seq,
    /// Minimal SPSC storing its shared index after every message.
    Index,
    /// Diagnostic: shmq's protocol (stamp per slot, head per message),
    /// minimal implementation, per message.
    Stamp,
    /// Diagnostic: as [`Stream::Stamp`], head published every [`LAZY_HEAD`]
    /// messages or when the consumer finds the ring empty.
    StampLazy,
    /// Diagnostic: as [`Stream::Stamp`], batches of [`BATCH`].
    StampBatch,
}

/// Result of one stream run.
#[derive(Debug, Clone, Copy)]
pub struct StreamRun {
    /// Nanoseconds per message over the timed part.
    pub ns_per_msg: f64,
    /// shmq's own counters after the run (shmq streams only).
    pub stats: Option<Stats>,
}

impl Stream {
    /// Name in the report.
    pub fn label(self) -> &'static str {
        match self {
            Stream::Shmq => "shmq-core per message",
            Stream::ShmqBatch => "shmq-core batch (256)",
            Stream::ShmqStream => "shmq-core per message, Throughput pacing",
            Stream::Api => "shmq API per message",
            Stream::ApiStream => "shmq API per message, Throughput pacing",
            Stream::ApiBatch => "shmq API batch (256)",
            Stream::Dense => "shmq::dense API per message",
            Stream::DenseBatch => "shmq::dense API batch (256)",
            Stream::Ceiling => "ceiling: minimal SPSC, batch (256)",
            Stream::Rtrb => "rtrb, 2 threads, per message",
            Stream::Seq => "minimal, seq word per slot, per msg",
            Stream::Index => "minimal, index stored per msg",
            Stream::Stamp => "diag: shmq protocol, minimal, per msg",
            Stream::StampLazy => "diag: same, head every 64, per msg",
            Stream::StampBatch => "diag: same, batch (256)",
        }
    }

    /// Name of the case (as `--only` takes it).
    pub fn case(self) -> &'static str {
        match self {
            Stream::Shmq => "st-shmq",
            Stream::ShmqBatch => "st-shmq-batch",
            Stream::ShmqStream => "st-shmq-stream",
            Stream::Api => "st-api",
            Stream::ApiStream => "st-api-stream",
            Stream::ApiBatch => "st-api-batch",
            Stream::Dense => "st-dense",
            Stream::DenseBatch => "st-dense-batch",
            Stream::Ceiling => "st-ceiling",
            Stream::Rtrb => "st-rtrb",
            Stream::Seq => "st-seq",
            Stream::Index => "st-index",
            Stream::Stamp => "st-stamp",
            Stream::StampLazy => "st-stamp-lazy",
            Stream::StampBatch => "st-stamp-batch",
        }
    }

    /// One run: `cfg.stream_warm` untimed then `cfg.stream_msgs` timed messages.
    ///
    /// # Errors
    /// Any failure of the peer, a wrong or missing value, or a timeout.
    pub fn run(self, cfg: &Config) -> Result<StreamRun> {
        let total = cfg.stream_warm + cfg.stream_msgs;
        let warm = cfg.stream_warm;
        let cap = CAPACITY as usize;
        let dl = Deadline::after(cfg.bound);
        let plain = |ns_per_msg| StreamRun {
            ns_per_msg,
            stats: None,
        };
        match self {
            Stream::Shmq | Stream::ShmqBatch | Stream::ShmqStream => with_peer(
                self.case(),
                AREA + ring::footprint(CAPACITY)?,
                total,
                cfg,
                |shm| {
                    // SAFETY: the region and consumer are `with_peer`'s `init`
                    // value, dropped before `shm`.
                    let region = unsafe { ring::create(shm, AREA, CAPACITY)? };
                    let mut rx = ring::consumer(region)?;
                    if self == Stream::ShmqStream {
                        rx.set_pacing(Pacing::Throughput);
                    }
                    Ok(rx)
                },
                |shm, mut rx| {
                    go(shm);
                    let ns = if self != Stream::ShmqBatch {
                        consume(total, warm, dl, |buf| match rx.try_pop_value::<u64>() {
                            Ok(v) => {
                                buf[0] = v;
                                Ok(1)
                            }
                            Err(PopError::Empty) => Ok(0),
                            Err(e) => Err(e.into()),
                        })?
                    } else {
                        consume(total, warm, dl, |buf| match rx.pop_slice(buf) {
                            Ok(n) => Ok(n),
                            Err(PopError::Empty) => Ok(0),
                            Err(e) => Err(e.into()),
                        })?
                    };
                    Ok(StreamRun {
                        ns_per_msg: ns,
                        stats: Some(Stats::read(rx.region())),
                    })
                },
            ),
            Stream::Api | Stream::ApiBatch | Stream::ApiStream => {
                let pacing = if self == Stream::ApiStream {
                    Pacing::Throughput
                } else {
                    Pacing::Latency
                };
                self.api_stream::<shmq::spsc::Spsc>(cfg, api_config(), |rx| rx.set_pacing(pacing))
            }
            Stream::Dense | Stream::DenseBatch => {
                self.api_stream::<shmq::dense::Dense>(cfg, dense_config(), |_| {})
            }
            Stream::Ceiling => with_peer(
                self.case(),
                AREA + minimal::footprint(cap, INDEX_SLOT),
                total,
                cfg,
                |_| Ok(()),
                |shm, ()| {
                    let mut rx = BatchConsumer::new(shm, AREA, cap)?;
                    go(shm);
                    consume(total, warm, dl, |buf| Ok(rx.pop_slice(buf))).map(plain)
                },
            ),
            Stream::Index => with_peer(
                self.case(),
                AREA + minimal::footprint(cap, INDEX_SLOT),
                total,
                cfg,
                |_| Ok(()),
                |shm, ()| {
                    let mut rx = IndexConsumer::new(shm, AREA, cap)?;
                    go(shm);
                    consume(total, warm, dl, |buf| Ok(pop_one(rx.pop(), buf))).map(plain)
                },
            ),
            Stream::Seq => with_peer(
                self.case(),
                AREA + minimal::footprint(cap, SEQ_SLOT),
                total,
                cfg,
                |shm| minimal::seq_init(shm, AREA, cap),
                |shm, ()| {
                    let mut rx = SeqConsumer::new(shm, AREA, cap)?;
                    go(shm);
                    consume(total, warm, dl, |buf| Ok(pop_one(rx.pop(), buf))).map(plain)
                },
            ),
            Stream::Stamp | Stream::StampLazy | Stream::StampBatch => with_peer(
                self.case(),
                AREA + minimal::footprint(cap, STAMP_SLOT),
                total,
                cfg,
                |_| Ok(()),
                |shm, ()| {
                    let every = if self == Stream::StampLazy {
                        LAZY_HEAD
                    } else {
                        1
                    };
                    let mut rx = StampConsumer::new(shm, AREA, cap, every)?;
                    go(shm);
                    if self == Stream::StampBatch {
                        consume(total, warm, dl, |buf| Ok(rx.pop_slice(buf))).map(plain)
                    } else {
                        consume(total, warm, dl, |buf| Ok(pop_one(rx.pop(), buf))).map(plain)
                    }
                },
            ),
            Stream::Rtrb => rtrb_stream(total, warm, dl).map(plain),
        }
    }
}

impl Stream {
    /// A stream through the user API of kind `K` (created with `config`,
    /// the receiver adjusted by `setup`): per message, or in batches of
    /// [`BATCH`] for the batch cases.
    fn api_stream<K>(
        self,
        cfg: &Config,
        config: K::Config,
        setup: impl FnOnce(&mut shmq::Receiver<K>),
    ) -> Result<StreamRun>
    where
        K: shmq::Kind<Stats = Stats>,
    {
        let total = cfg.stream_warm + cfg.stream_msgs;
        let (warm, dl) = (cfg.stream_warm, Deadline::after(cfg.bound));
        let batch = matches!(self, Stream::ApiBatch | Stream::DenseBatch);
        with_peer(
            self.case(),
            AREA,
            total,
            cfg,
            |shm| {
                let (a, _) = sized::names(shm.path())?;
                let q = shmq::Queue::<K>::create(&a, config)?;
                let mut rx = q.receiver()?;
                setup(&mut rx);
                Ok((rx, q, a))
            },
            |shm, (mut rx, q, a)| {
                shmq::Queue::<K>::remove(&a)?;
                go(shm);
                let ns = if !batch {
                    consume(total, warm, dl, |buf| match rx.try_recv_value::<u64>() {
                        Ok(v) => {
                            buf[0] = v;
                            Ok(1)
                        }
                        Err(TryRecvError::Empty) => Ok(0),
                        Err(e) => Err(e.into()),
                    })?
                } else {
                    consume(total, warm, dl, |buf| match rx.try_recv_slice(buf) {
                        Ok(n) => Ok(n),
                        Err(TryRecvError::Empty) => Ok(0),
                        Err(e) => Err(e.into()),
                    })?
                };
                Ok(StreamRun {
                    ns_per_msg: ns,
                    stats: Some(q.stats()),
                })
            },
        )
    }
}

#[inline(always)]
fn pop_one(v: Option<u64>, buf: &mut [u64]) -> usize {
    match v {
        Some(v) => {
            buf[0] = v;
            1
        }
        None => 0,
    }
}

/// Consumes `total` values `0, 1, ...` through `pop` (fills a prefix of the
/// buffer, returns its length, 0 when empty) and returns the ns per message
/// after the first `warm`.
#[inline(always)]
fn consume(
    total: u64,
    warm: u64,
    dl: Deadline,
    mut pop: impl FnMut(&mut [u64]) -> Result<usize>,
) -> Result<f64> {
    let mut buf = [0u64; BATCH];
    let mut next = 0u64;
    let mut spin = Spin::new(dl, "stream data");
    let mut start: Option<(Instant, u64)> = None;
    while next < total {
        let n = pop(&mut buf)?;
        if n == 0 {
            spin.step()?;
            continue;
        }
        for &v in &buf[..n] {
            if v != next {
                return Err(err(format!("received {v}, expected {next}")));
            }
            next += 1;
        }
        if start.is_none() && next >= warm {
            start = Some((Instant::now(), next));
        }
    }
    let end = Instant::now();
    let (t0, at) = start.ok_or_else(|| err("no message received"))?;
    let timed = total - at;
    if timed == 0 {
        return Err(err("nothing timed: warm-up covers the whole stream"));
    }
    Ok((end - t0).as_nanos() as f64 / timed as f64)
}

/// Produces `0..total` through `push` (returns false when full).
#[inline(always)]
fn produce(total: u64, dl: Deadline, mut push: impl FnMut(u64) -> Result<bool>) -> Result<()> {
    let mut spin = Spin::new(dl, "stream space");
    let mut i = 0;
    while i < total {
        if push(i)? {
            i += 1;
        } else {
            spin.step()?;
        }
    }
    Ok(())
}

/// Produces `0..total` in batches of [`BATCH`] through `push` (returns how
/// many of the offered items it took).
#[inline(always)]
fn produce_batches(
    total: u64,
    dl: Deadline,
    mut push: impl FnMut(&[u64]) -> Result<usize>,
) -> Result<()> {
    let mut spin = Spin::new(dl, "stream space");
    let mut buf = [0u64; BATCH];
    let mut next = 0u64;
    while next < total {
        let n = (total - next).min(BATCH as u64) as usize;
        for (k, b) in buf[..n].iter_mut().enumerate() {
            *b = next + k as u64;
        }
        let mut done = 0;
        while done < n {
            let k = push(&buf[done..n])?;
            if k == 0 {
                spin.step()?;
            }
            done += k;
        }
        next += n as u64;
    }
    Ok(())
}

fn rtrb_stream(total: u64, warm: u64, dl: Deadline) -> Result<f64> {
    let (mut tx, mut rx) = rtrb::RingBuffer::<u64>::new(CAPACITY as usize);
    std::thread::scope(|s| {
        let producer = s.spawn(move || -> Result<()> {
            // Best effort, as for the peer processes.
            let _ = pin_to(PEER_CORE);
            produce(total, dl, |i| Ok(tx.push(i).is_ok()))
        });
        let ns = consume(total, warm, dl, |buf| Ok(pop_one(rx.pop().ok(), buf)));
        let joined = producer.join().map_err(|_| err("rtrb producer panicked"))?;
        joined?;
        ns
    })
}

/// Runs one cross-process case: creates the shared file (`len` bytes),
/// `init`ialises it, spawns the peer, waits (bounded) until it is attached,
/// unlinks the file, runs `body` (which must call [`go`]), and reaps the peer.
pub(crate) fn with_peer<T, R>(
    case: &str,
    len: usize,
    total: u64,
    cfg: &Config,
    init: impl FnOnce(&ShmFile) -> Result<T>,
    body: impl FnOnce(&ShmFile, T) -> Result<R>,
) -> Result<R> {
    let mut shm = ShmFile::create(case, len)?;
    // Declared after `shm`, so dropped before it (the region contract).
    let state = init(&shm)?;
    let path = shm.path().to_str().ok_or_else(|| err("non-UTF-8 path"))?;
    let args = peer_args(case, path, total, cfg);
    let mut peer = Peer::spawn(&args, Stdio::null(), Stdio::null(), cfg.bound)?;
    let deadline = Deadline::after(cfg.bound);
    // Acquire: pairs with the peer's Release store of READY after attaching.
    while shm.u32_at(READY).load(Ordering::Acquire) != 1 {
        peer.check_alive()?;
        if deadline.passed() {
            return Err(err(format!("peer {case} did not get ready")));
        }
        std::thread::sleep(Duration::from_micros(50));
    }
    // Both sides have it mapped: drop the name now, whatever happens later.
    shm.unlink();
    let result = body(&shm, state)?;
    peer.finish()?;
    Ok(result)
}

/// Tells the peer to start.
pub(crate) fn go(shm: &ShmFile) {
    // Release: pairs with the peer's Acquire load of GO in `wait_go`.
    shm.u32_at(GO).store(1, Ordering::Release);
}

pub(crate) fn peer_args(case: &str, path: &str, total: u64, cfg: &Config) -> Vec<String> {
    vec![
        "__peer".into(),
        case.into(),
        path.into(),
        total.to_string(),
        cfg.bound.as_secs().max(1).to_string(),
    ]
}

/// Entry point of the peer process: `args` = `[case, path, total, bound_secs]`.
///
/// # Errors
/// Anything that goes wrong; the binary prints it and exits non-zero.
pub fn peer_main(args: &[String]) -> Result<()> {
    let [case, path, total, bound] = args else {
        return Err(err(format!("peer: bad arguments {args:?}")));
    };
    let total: u64 = total.parse()?;
    let dl = Deadline::after(Duration::from_secs(bound.parse()?));
    // Best effort: on a 1-CPU machine the run goes on unpinned (the parent says so).
    let _ = pin_to(PEER_CORE);
    if case.starts_with("sz-") {
        return crate::sized::peer_main(case, Path::new(path), total, dl);
    }
    match case.as_str() {
        "pp-pipe" | "pp-uds" => {
            let input = std::io::stdin();
            let output = std::io::stdout();
            let (rfd, wfd) = if case == "pp-pipe" {
                (input.as_fd(), output.as_fd())
            } else {
                (input.as_fd(), input.as_fd())
            };
            let mut buf = [0u8; 8];
            for _ in 0..total {
                let mut got = 0;
                while got < 8 {
                    match rustix::io::read(rfd, &mut buf[got..])? {
                        0 => return Err(err("peer: parent closed the channel")),
                        n => got += n,
                    }
                }
                let mut sent = 0;
                while sent < 8 {
                    sent += rustix::io::write(wfd, &buf[sent..])?;
                }
            }
            Ok(())
        }
        _ => peer_shm(case, Path::new(path), total, dl),
    }
}

fn peer_shm(case: &str, path: &Path, total: u64, dl: Deadline) -> Result<()> {
    let shm = ShmFile::open(path)?;
    let cap = CAPACITY as usize;
    let ready = || {
        // Release: pairs with the parent's Acquire load in `with_peer`.
        shm.u32_at(READY).store(1, Ordering::Release);
    };
    let wait_go = || -> Result<()> {
        let mut spin = Spin::new(dl, "go");
        // Acquire: pairs with the parent's Release store in `go`.
        while shm.u32_at(GO).load(Ordering::Acquire) != 1 {
            spin.step()?;
        }
        Ok(())
    };
    match case {
        "pp-floor" => {
            let (ping, pong) = (shm.u64_at(AREA), shm.u64_at(AREA + 128));
            ready();
            wait_go()?;
            let mut spin = Spin::new(dl, "floor ping");
            for i in 1..=total {
                // Acquire/Release: pair with the parent's Release store of
                // ping and Acquire load of pong.
                while ping.load(Ordering::Acquire) != i {
                    spin.step()?;
                }
                pong.store(i, Ordering::Release);
            }
            Ok(())
        }
        "pp-shmq" => {
            let fp = ring::footprint(CAPACITY)?;
            // SAFETY: the regions and endpoints are locals dropped before `shm`.
            let (a, b) = unsafe { (ring::open(&shm, AREA)?, ring::open(&shm, AREA + fp)?) };
            let (mut rx, mut tx) = (ring::consumer(a)?, ring::producer(b)?);
            ready();
            wait_go()?;
            let mut spin = Spin::new(dl, "shmq ping");
            for i in 1..=total {
                let v = loop {
                    match rx.try_pop_value::<u64>() {
                        Ok(v) => break v,
                        Err(PopError::Empty) => spin.step()?,
                        Err(e) => return Err(e.into()),
                    }
                };
                if v != i {
                    return Err(err(format!("peer: ping {v}, expected {i}")));
                }
                loop {
                    match tx.try_push_value(&v) {
                        Ok(()) => break,
                        Err(PushError::Full) => spin.step()?,
                        Err(e) => return Err(e.into()),
                    }
                }
            }
            Ok(())
        }
        "st-shmq" | "st-shmq-batch" | "st-shmq-stream" => {
            // SAFETY: the region and producer are locals dropped before `shm`.
            let mut tx = ring::producer(unsafe { ring::open(&shm, AREA)? })?;
            if case == "st-shmq-stream" {
                tx.set_pacing(Pacing::Throughput);
            }
            ready();
            wait_go()?;
            if case != "st-shmq-batch" {
                produce(total, dl, |i| match tx.try_push_value(&i) {
                    Ok(()) => Ok(true),
                    Err(PushError::Full) => Ok(false),
                    Err(e) => Err(e.into()),
                })
            } else {
                produce_batches(total, dl, |items| match tx.push_slice(items) {
                    Ok(n) => Ok(n),
                    Err(PushError::Full) => Ok(0),
                    Err(e) => Err(e.into()),
                })
            }
        }
        "pp-api" => {
            let (a, b) = sized::names(shm.path())?;
            let mut rx = shmq::spsc::Queue::open(&a)?.receiver()?;
            let mut tx = shmq::spsc::Queue::open(&b)?.sender()?;
            ready();
            wait_go()?;
            let mut spin = Spin::new(dl, "shmq API ping");
            for i in 1..=total {
                let v = loop {
                    match rx.try_recv_value::<u64>() {
                        Ok(v) => break v,
                        Err(TryRecvError::Empty) => spin.step()?,
                        Err(e) => return Err(e.into()),
                    }
                };
                if v != i {
                    return Err(err(format!("peer: ping {v}, expected {i}")));
                }
                loop {
                    match tx.try_send_value(&v) {
                        Ok(()) => break,
                        Err(TrySendError::Full) => spin.step()?,
                        Err(e) => return Err(e.into()),
                    }
                }
            }
            Ok(())
        }
        "st-api" | "st-api-batch" | "st-api-stream" => {
            let (a, _) = sized::names(shm.path())?;
            let mut tx = shmq::spsc::Queue::open(&a)?.sender()?;
            if case == "st-api-stream" {
                tx.set_pacing(Pacing::Throughput);
            }
            ready();
            wait_go()?;
            api_produce(tx, case == "st-api-batch", total, dl)
        }
        "st-dense" | "st-dense-batch" => {
            let (a, _) = sized::names(shm.path())?;
            let tx = shmq::dense::Queue::open(&a)?.sender()?;
            ready();
            wait_go()?;
            api_produce(tx, case == "st-dense-batch", total, dl)
        }
        "st-ceiling" => {
            let mut tx = BatchProducer::new(&shm, AREA, cap)?;
            ready();
            wait_go()?;
            produce_batches(total, dl, |items| Ok(tx.push_slice(items)))
        }
        "st-index" => {
            let mut tx = IndexProducer::new(&shm, AREA, cap)?;
            ready();
            wait_go()?;
            produce(total, dl, |i| Ok(tx.push(i)))
        }
        "pp-stamp" => {
            let fp = minimal::footprint(cap, STAMP_SLOT);
            let mut rx = StampConsumer::new(&shm, AREA, cap, 1)?;
            let mut tx = StampProducer::new(&shm, AREA + fp, cap)?;
            ready();
            wait_go()?;
            let mut spin = Spin::new(dl, "stamp ping");
            for i in 1..=total {
                let v = loop {
                    match rx.pop() {
                        Some(v) => break v,
                        None => spin.step()?,
                    }
                };
                if v != i {
                    return Err(err(format!("peer: ping {v}, expected {i}")));
                }
                while !tx.push(v) {
                    spin.step()?;
                }
            }
            Ok(())
        }
        "st-stamp" | "st-stamp-lazy" | "st-stamp-batch" => {
            let mut tx = StampProducer::new(&shm, AREA, cap)?;
            ready();
            wait_go()?;
            if case == "st-stamp-batch" {
                produce_batches(total, dl, |items| Ok(tx.push_slice(items)))
            } else {
                produce(total, dl, |i| Ok(tx.push(i)))
            }
        }
        "st-seq" => {
            let mut tx = SeqProducer::new(&shm, AREA, cap)?;
            ready();
            wait_go()?;
            produce(total, dl, |i| Ok(tx.push(i)))
        }
        other => Err(err(format!("peer: unknown case {other}"))),
    }
}

/// Pins the calling (parent) thread; false if that is impossible here.
pub fn pin_parent() -> bool {
    std::thread::available_parallelism().is_ok_and(|n| n.get() >= 2) && pin_to(PARENT_CORE).is_ok()
}

/// Cost of one `Instant::now()` in ns (each round-trip sample contains one).
pub fn clock_cost_ns() -> f64 {
    const N: u32 = 100_000;
    let t0 = Instant::now();
    let mut last = t0;
    for _ in 0..N {
        last = std::hint::black_box(Instant::now());
    }
    (last - t0).as_nanos() as f64 / f64::from(N)
}

/// Peer side: reports that it has attached (see [`with_peer`]).
pub(crate) fn peer_ready(shm: &ShmFile) {
    // Release: pairs with the parent's Acquire load in `with_peer`.
    shm.u32_at(READY).store(1, Ordering::Release);
}

/// Peer side: waits (bounded by `dl`) for the parent's [`go`].
pub(crate) fn peer_wait_go(shm: &ShmFile, dl: Deadline) -> Result<()> {
    let mut spin = Spin::new(dl, "go");
    // Acquire: pairs with the parent's Release store in `go`.
    while shm.u32_at(GO).load(Ordering::Acquire) != 1 {
        spin.step()?;
    }
    Ok(())
}

/// The peer side of [`Stream::api_stream`] after the start signal:
/// `0..total` through `tx`, per message or in batches.
fn api_produce<K: shmq::Kind>(
    mut tx: shmq::Sender<K>,
    batch: bool,
    total: u64,
    dl: Deadline,
) -> Result<()> {
    if !batch {
        produce(total, dl, |i| match tx.try_send_value(&i) {
            Ok(()) => Ok(true),
            Err(TrySendError::Full) => Ok(false),
            Err(e) => Err(e.into()),
        })
    } else {
        produce_batches(total, dl, |items| match tx.try_send_slice(items) {
            Ok(n) => Ok(n),
            Err(TrySendError::Full) => Ok(0),
            Err(e) => Err(e.into()),
        })
    }
}

/// Geometry of the dense queues of the `u64` sections: 8-byte records.
fn dense_config() -> shmq::dense::Config {
    shmq::dense::Config {
        capacity: CAPACITY,
        record_size: 8,
    }
}

/// Geometry of the SPSC user-API queues of the `u64` sections.
fn api_config() -> shmq::spsc::Config {
    shmq::spsc::Config {
        capacity: CAPACITY,
        slot_size: ring::U64_SLOT,
    }
}
