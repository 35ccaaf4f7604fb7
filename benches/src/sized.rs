//! Messages of 8 B, 64 B, 1 KiB, 16 KiB and 1 MiB between two processes:
//! round-trip latency and one-way stream throughput for shmq (through the user
//! API, `shmq::spsc`), a minimal hand-written byte ring (the ceiling), shmq's
//! byte-record ring (`shmq::bytes`, copies and loans), pipes, Unix-domain
//! sockets and, with the `iceoryx2` feature, iceoryx2 publish-subscribe.
//!
//! Every message is `size` bytes; its first 8 bytes carry its sequence number,
//! which the receiver checks; the rest is a fixed pattern. The same work on
//! every side: the producer writes every byte of every message into the
//! channel (a copy, or a loaned sample/record filled from the message), the
//! consumer reads every byte out (a copy; iceoryx2's sample and the byte
//! ring's view are copied out in place), so the copy cost is part of every
//! figure.

use crate::cases::{go, peer_args, round_trips, with_peer, Config};
use crate::minimal::{self, BytesConsumer, BytesProducer};
use crate::proc::{Deadline, Peer, Spin};
use crate::report::Latency;
use crate::shm::{ShmFile, AREA};
use crate::{err, Result};
use shmq::spsc::Queue;
use shmq::{Kind, Receiver, Sender, TryRecvError, TrySendError};
use std::io::{Read, Write};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::process::Stdio;
use std::time::Instant;

/// Message sizes measured, in bytes.
pub const SIZES: [usize; 5] = [8, 64, 1024, 16 * 1024, 1 << 20];

/// Most messages per publication (minimal producer) and per head release
/// (minimal consumer) in the streams; see [`batch`].
pub const BATCH: u64 = 256;

/// Messages per publication and release of the minimal ring's streams at
/// `size`: [`BATCH`], but at most an eighth of the ring, so that producer and
/// consumer keep working on different parts of it (a batch as large as the
/// ring would serialise them).
pub fn batch(size: usize) -> u64 {
    BATCH.min(capacity(size) as u64 / 8).max(1)
}

/// Slots of every ring for messages of `size` bytes: 4096, or fewer so that
/// a ring's slots stay within 4 MiB (256 slots at 16 KiB, 4 at 1 MiB).
pub fn capacity(size: usize) -> usize {
    ((4 << 20) / size).clamp(4, 4096)
}

/// Round trips of warm-up at `size`: `cfg.pp_warm`, but at most about
/// 1 GiB of payload (1024 at 1 MiB).
pub fn pp_warm(cfg: &Config, size: usize) -> u64 {
    cfg.pp_warm.min(((1u64 << 30) / size as u64).max(16))
}

/// A system compared with sized messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sys {
    /// shmq through `shmq::spsc::{Sender, Receiver}`, `try_send`/`try_recv`.
    Shmq,
    /// A minimal Lamport ring of fixed-size slots ([`minimal::BytesProducer`]):
    /// per-message publication in ping-pong, per [`batch`] in streams.
    Minimal,
    /// shmq's byte-record ring, `shmq::bytes`, `try_send`/`try_recv` (copies).
    Bytes,
    /// shmq's byte-record ring with loans: `try_loan` filled from the
    /// message and committed; `try_recv_with` copying the view out.
    BytesLoan,
    /// Pipes (`write`/`read` of whole messages).
    Pipe,
    /// A Unix-domain stream socket pair.
    Uds,
    /// iceoryx2 publish-subscribe of `[u8]` samples, busy polling.
    Iceoryx2,
    /// As [`Sys::Shmq`], both ends in `Pacing::Throughput` (streams only).
    ShmqStream,
    /// shmq's dense record kind, `shmq::dense` with records of the message
    /// size, `try_send`/`try_recv` per message (streams only).
    Dense,
}

impl Sys {
    /// Name in the report.
    pub fn label(self) -> &'static str {
        match self {
            Sys::Shmq => "shmq (shmq::spsc API)",
            Sys::ShmqStream => "shmq API, Throughput pacing",
            Sys::Dense => "shmq::dense (records), per message",
            Sys::Minimal => "ceiling: minimal SPSC",
            Sys::Bytes => "shmq byte ring (copies)",
            Sys::BytesLoan => "shmq byte ring (loans)",
            Sys::Pipe => "pipe",
            Sys::Uds => "Unix socket",
            Sys::Iceoryx2 => "iceoryx2 pub-sub",
        }
    }

    /// Short name used in case names.
    pub fn key(self) -> &'static str {
        match self {
            Sys::Shmq => "shmq",
            Sys::ShmqStream => "shmqt",
            Sys::Dense => "dense",
            Sys::Minimal => "min",
            Sys::Bytes => "bytes",
            Sys::BytesLoan => "bloan",
            Sys::Pipe => "pipe",
            Sys::Uds => "uds",
            Sys::Iceoryx2 => "iox2",
        }
    }

    fn from_key(k: &str) -> Result<Self> {
        Ok(match k {
            "shmq" => Sys::Shmq,
            "shmqt" => Sys::ShmqStream,
            "dense" => Sys::Dense,
            "min" => Sys::Minimal,
            "bytes" => Sys::Bytes,
            "bloan" => Sys::BytesLoan,
            "pipe" => Sys::Pipe,
            "uds" => Sys::Uds,
            "iox2" => Sys::Iceoryx2,
            other => return Err(err(format!("unknown system {other}"))),
        })
    }

    /// Whether this is a system-call peer (fewer iterations: µs per message).
    pub fn is_syscall(self) -> bool {
        matches!(self, Sys::Pipe | Sys::Uds)
    }
}

/// The systems of this build, in report order (iceoryx2 only with the feature).
pub fn systems() -> Vec<Sys> {
    let mut v = vec![
        Sys::Shmq,
        Sys::Minimal,
        Sys::Bytes,
        Sys::BytesLoan,
        Sys::Pipe,
        Sys::Uds,
    ];
    if cfg!(feature = "iceoryx2") {
        v.push(Sys::Iceoryx2);
    }
    v
}

/// The systems of the stream section: [`systems`], then shmq with
/// `Pacing::Throughput` and the dense kind (last, so the first two stay
/// shmq and the ceiling).
pub fn stream_systems() -> Vec<Sys> {
    let mut v = systems();
    v.extend([Sys::ShmqStream, Sys::Dense]);
    v
}

/// Timed messages of one stream run of `sys` at `size` bytes: about 1 GiB
/// (shared memory) or 256 MiB (system calls) of payload, capped, so each run
/// takes a few hundred milliseconds here; divided by 1000 in quick mode.
pub fn stream_msgs(sys: Sys, size: usize, cfg: &Config) -> u64 {
    let (bytes, cap) = if sys.is_syscall() {
        (256u64 << 20, 500_000)
    } else if sys == Sys::Iceoryx2 {
        (1u64 << 30, 1_000_000)
    } else {
        (1u64 << 30, 10_000_000)
    };
    let n = (bytes / size as u64).min(cap);
    if cfg.quick {
        (n / 1000).max(500).min(n.max(16))
    } else {
        n
    }
}

/// A message of `size` bytes: a pattern, the sequence number written later.
fn message(size: usize) -> Vec<u8> {
    (0..size).map(|i| (i as u8).wrapping_mul(31)).collect()
}

#[inline(always)]
fn set_seq(msg: &mut [u8], i: u64) {
    msg[..8].copy_from_slice(&i.to_le_bytes());
}

#[inline(always)]
fn seq(msg: &[u8]) -> u64 {
    let mut b = [0u8; 8];
    b.copy_from_slice(&msg[..8]);
    u64::from_le_bytes(b)
}

/// Names of the two shmq queues / iceoryx2 services of a case, derived from
/// the control file's name so the peer can compute them too.
pub(crate) fn names(control: &Path) -> Result<(String, String)> {
    let base = control
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or_else(|| err("control file without a UTF-8 name"))?;
    Ok((format!("{base}-a"), format!("{base}-b")))
}

fn shmq_config(size: usize) -> shmq::spsc::Config {
    shmq::spsc::Config {
        capacity: capacity(size) as u32,
        slot_size: size as u32,
    }
}

fn dense_config(size: usize) -> shmq::dense::Config {
    shmq::dense::Config {
        capacity: capacity(size) as u32,
        record_size: size as u32,
    }
}

/// Sends through a shmq sender, spinning (bounded) while full.
#[inline(always)]
fn shmq_send<K: Kind>(tx: &mut Sender<K>, msg: &[u8], spin: &mut Spin) -> Result<()> {
    loop {
        match tx.try_send(msg) {
            Ok(()) => return Ok(()),
            Err(TrySendError::Full) => spin.step()?,
            Err(e) => return Err(e.into()),
        }
    }
}

/// Receives from a shmq receiver into `buf`, spinning (bounded) while empty.
#[inline(always)]
fn shmq_recv<K: Kind>(rx: &mut Receiver<K>, buf: &mut [u8], spin: &mut Spin) -> Result<usize> {
    loop {
        match rx.try_recv(buf) {
            Ok(n) => return Ok(n),
            Err(TryRecvError::Empty) => spin.step()?,
            Err(e) => return Err(e.into()),
        }
    }
}

fn check(got: u64, want: u64) -> Result<()> {
    if got == want {
        Ok(())
    } else {
        Err(err(format!("received message {got}, expected {want}")))
    }
}

/// Measures `iters` round trips of `size`-byte messages through `sys` after
/// `cfg.pp_warm` unrecorded ones.
///
/// # Errors
/// A failure of the peer, a wrong reply, a timeout, or iceoryx2 asked for in
/// a build without the feature.
pub fn ping_pong(sys: Sys, size: usize, cfg: &Config, iters: u64) -> Result<Latency> {
    let warm = pp_warm(cfg, size);
    let total = warm + iters;
    let case = format!("sz-pp-{}-{size}", sys.key());
    let cap = capacity(size);
    let mut msg = message(size);
    let mut buf = vec![0u8; size];
    match sys {
        Sys::Shmq => with_peer(
            &case,
            AREA,
            total,
            cfg,
            |shm| {
                let (a, b) = names(shm.path())?;
                let tx = Queue::create(&a, shmq_config(size))?.sender()?;
                let rx = Queue::create(&b, shmq_config(size))?.receiver()?;
                Ok((tx, rx, a, b))
            },
            |shm, (mut tx, mut rx, a, b)| {
                // Both sides are attached: drop the names now.
                shmq::spsc::remove(&a)?;
                shmq::spsc::remove(&b)?;
                let mut spin = Spin::new(Deadline::after(cfg.bound), "shmq reply");
                go(shm);
                round_trips(total, warm, |i| {
                    set_seq(&mut msg, i);
                    shmq_send(&mut tx, &msg, &mut spin)?;
                    let n = shmq_recv(&mut rx, &mut buf, &mut spin)?;
                    if n != size {
                        return Err(err(format!("reply of {n} bytes, sent {size}")));
                    }
                    check(seq(&buf), i)
                })
            },
        ),
        Sys::Minimal => {
            let fp = minimal::footprint(cap, size);
            with_peer(
                &case,
                AREA + 2 * fp,
                total,
                cfg,
                |_| Ok(()),
                |shm, ()| {
                    let mut tx = BytesProducer::new(shm, AREA, cap, size)?;
                    let mut rx = BytesConsumer::new(shm, AREA + fp, cap, size, 1)?;
                    let mut spin = Spin::new(Deadline::after(cfg.bound), "minimal reply");
                    go(shm);
                    round_trips(total, warm, |i| {
                        set_seq(&mut msg, i);
                        while !tx.write(&msg) {
                            spin.step()?;
                        }
                        tx.publish();
                        while !rx.pop_into(&mut buf) {
                            spin.step()?;
                        }
                        check(seq(&buf), i)
                    })
                },
            )
        }
        Sys::Pipe => {
            use rustix::pipe::{pipe_with, PipeFlags};
            let (to_peer_r, to_peer_w) = pipe_with(PipeFlags::CLOEXEC)?;
            let (from_peer_r, from_peer_w) = pipe_with(PipeFlags::CLOEXEC)?;
            let peer = spawn_fd_peer(&case, total, cfg, to_peer_r, Stdio::from(from_peer_w))?;
            let mut w = std::fs::File::from(to_peer_w);
            let mut r = std::fs::File::from(from_peer_r);
            let lat = fd_round_trips(total, warm, &mut msg, &mut buf, &mut w, &mut r)?;
            drop((w, r));
            peer.finish()?;
            Ok(lat)
        }
        Sys::Uds => {
            let (mut ours, theirs) = UnixStream::pair()?;
            let peer = spawn_fd_peer(&case, total, cfg, OwnedFd::from(theirs), Stdio::null())?;
            let mut r = ours.try_clone()?;
            let lat = fd_round_trips(total, warm, &mut msg, &mut buf, &mut ours, &mut r)?;
            drop((ours, r));
            peer.finish()?;
            Ok(lat)
        }
        Sys::Bytes | Sys::BytesLoan => {
            bytering::ping_pong(&case, size, cfg, total, warm, sys == Sys::BytesLoan)
        }
        Sys::Iceoryx2 => iox::ping_pong(&case, size, cfg, total, warm),
        Sys::ShmqStream | Sys::Dense => {
            Err(err(format!("{} is measured in streams only", sys.label())))
        }
    }
}

fn fd_round_trips(
    total: u64,
    warm: u64,
    msg: &mut [u8],
    buf: &mut [u8],
    w: &mut impl Write,
    r: &mut impl Read,
) -> Result<Latency> {
    round_trips(total, warm, |i| {
        set_seq(msg, i);
        w.write_all(msg)?;
        // A dead or killed peer closes its end: this read then fails (EOF).
        r.read_exact(buf)?;
        check(seq(buf), i)
    })
}

fn spawn_fd_peer(
    case: &str,
    total: u64,
    cfg: &Config,
    stdin: OwnedFd,
    stdout: Stdio,
) -> Result<Peer> {
    let args = peer_args(case, "-", total, cfg);
    Peer::spawn(&args, Stdio::from(stdin), stdout, cfg.bound)
}

/// One stream run of `msgs` timed messages of `size` bytes after
/// `cfg.stream_warm / 10` untimed ones; returns ns per message.
///
/// # Errors
/// As [`ping_pong`].
pub fn stream(sys: Sys, size: usize, cfg: &Config, msgs: u64) -> Result<f64> {
    let warm = (cfg.stream_warm / 10).min(msgs / 10);
    let total = warm + msgs;
    let case = format!("sz-st-{}-{size}", sys.key());
    let cap = capacity(size);
    let dl = Deadline::after(cfg.bound);
    let mut buf = vec![0u8; size];
    match sys {
        Sys::Shmq | Sys::ShmqStream => {
            let pacing = if sys == Sys::ShmqStream {
                shmq::spsc::Pacing::Throughput
            } else {
                shmq::spsc::Pacing::Latency
            };
            shmq_stream(&case, cfg, total, warm, &mut buf, shmq_config(size), |rx| {
                rx.set_pacing(pacing)
            })
        }
        Sys::Dense => shmq_stream::<shmq::dense::Dense>(
            &case,
            cfg,
            total,
            warm,
            &mut buf,
            dense_config(size),
            |_| {},
        ),
        Sys::Minimal => with_peer(
            &case,
            AREA + minimal::footprint(cap, size),
            total,
            cfg,
            |_| Ok(()),
            |shm, ()| {
                let mut rx = BytesConsumer::new(shm, AREA, cap, size, batch(size))?;
                go(shm);
                consume(total, warm, dl, &mut buf, |b| Ok(rx.pop_into(b)))
            },
        ),
        Sys::Pipe => {
            use rustix::pipe::{pipe_with, PipeFlags};
            let (r, w) = pipe_with(PipeFlags::CLOEXEC)?;
            let args = peer_args(&case, "-", total, cfg);
            let peer = Peer::spawn(&args, Stdio::null(), Stdio::from(w), cfg.bound)?;
            let mut r = std::fs::File::from(r);
            let ns = consume(total, warm, dl, &mut buf, |b| {
                r.read_exact(b)?;
                Ok(true)
            })?;
            drop(r);
            peer.finish()?;
            Ok(ns)
        }
        Sys::Uds => {
            let (mut ours, theirs) = UnixStream::pair()?;
            let args = peer_args(&case, "-", total, cfg);
            let stdin = Stdio::from(OwnedFd::from(theirs));
            let peer = Peer::spawn(&args, stdin, Stdio::null(), cfg.bound)?;
            let ns = consume(total, warm, dl, &mut buf, |b| {
                ours.read_exact(b)?;
                Ok(true)
            })?;
            drop(ours);
            peer.finish()?;
            Ok(ns)
        }
        Sys::Bytes | Sys::BytesLoan => {
            bytering::stream(&case, size, cfg, total, warm, sys == Sys::BytesLoan)
        }
        Sys::Iceoryx2 => iox::stream(&case, size, cfg, total, warm),
    }
}

/// The parent side of a shmq stream of kind `K` (created with `config`,
/// the receiver adjusted by `setup`): `try_recv` per message.
fn shmq_stream<K: Kind>(
    case: &str,
    cfg: &Config,
    total: u64,
    warm: u64,
    buf: &mut [u8],
    config: K::Config,
    setup: impl FnOnce(&mut Receiver<K>),
) -> Result<f64> {
    let (size, dl) = (buf.len(), Deadline::after(cfg.bound));
    with_peer(
        case,
        AREA,
        total,
        cfg,
        |shm| {
            let (a, _) = names(shm.path())?;
            let mut rx = shmq::Queue::<K>::create(&a, config)?.receiver()?;
            setup(&mut rx);
            Ok((rx, a))
        },
        |shm, (mut rx, a)| {
            shmq::Queue::<K>::remove(&a)?;
            go(shm);
            consume(total, warm, dl, buf, |b| match rx.try_recv(b) {
                Ok(n) if n == size => Ok(true),
                Ok(n) => Err(err(format!("message of {n} bytes, expected {size}"))),
                Err(TryRecvError::Empty) => Ok(false),
                Err(e) => Err(e.into()),
            })
        },
    )
}

/// Receives `total` messages `0, 1, ...` through `pop` (fills `buf`, false
/// when empty) and returns ns per message after the first `warm`.
#[inline(always)]
pub(crate) fn consume(
    total: u64,
    warm: u64,
    dl: Deadline,
    buf: &mut [u8],
    mut pop: impl FnMut(&mut [u8]) -> Result<bool>,
) -> Result<f64> {
    let mut spin = Spin::new(dl, "stream data");
    let mut t0 = Instant::now();
    for i in 0..total {
        if i == warm {
            t0 = Instant::now();
        }
        while !pop(buf)? {
            spin.step()?;
        }
        check(seq(buf), i)?;
    }
    let timed = total - warm;
    if timed == 0 {
        return Err(err("nothing timed"));
    }
    Ok(t0.elapsed().as_nanos() as f64 / timed as f64)
}

/// Sends `total` messages of `size` bytes through `push` (false when full).
#[inline(always)]
pub(crate) fn produce(
    total: u64,
    size: usize,
    dl: Deadline,
    mut push: impl FnMut(&[u8]) -> Result<bool>,
) -> Result<()> {
    let mut spin = Spin::new(dl, "stream space");
    let mut msg = message(size);
    for i in 0..total {
        set_seq(&mut msg, i);
        while !push(&msg)? {
            spin.step()?;
        }
    }
    Ok(())
}

/// The peer side of a shmq stream after the start signal.
fn shmq_produce<K: Kind>(mut tx: Sender<K>, total: u64, size: usize, dl: Deadline) -> Result<()> {
    produce(total, size, dl, |m| match tx.try_send(m) {
        Ok(()) => Ok(true),
        Err(TrySendError::Full) => Ok(false),
        Err(e) => Err(e.into()),
    })
}

fn read_full(fd: BorrowedFd<'_>, buf: &mut [u8]) -> Result<()> {
    let mut got = 0;
    while got < buf.len() {
        match rustix::io::read(fd, &mut buf[got..])? {
            0 => return Err(err("peer: parent closed the channel")),
            n => got += n,
        }
    }
    Ok(())
}

fn write_full(fd: BorrowedFd<'_>, buf: &[u8]) -> Result<()> {
    let mut sent = 0;
    while sent < buf.len() {
        sent += rustix::io::write(fd, &buf[sent..])?;
    }
    Ok(())
}

/// Peer side of the `sz-*` cases: `sz-{pp,st}-{system}-{size}`.
///
/// # Errors
/// Anything that goes wrong; the binary prints it and exits non-zero.
pub fn peer_main(case: &str, path: &Path, total: u64, dl: Deadline) -> Result<()> {
    let bad = || err(format!("peer: bad case {case}"));
    let mut parts = case.split('-').skip(1);
    let kind = parts.next().ok_or_else(bad)?;
    let sys = Sys::from_key(parts.next().ok_or_else(bad)?)?;
    let size: usize = parts.next().ok_or_else(bad)?.parse()?;
    let cap = capacity(size);
    let stdin = std::io::stdin();
    let stdout = std::io::stdout();
    match (kind, sys) {
        ("pp", Sys::Pipe | Sys::Uds) => {
            let (rfd, wfd) = if sys == Sys::Pipe {
                (stdin.as_fd(), stdout.as_fd())
            } else {
                (stdin.as_fd(), stdin.as_fd())
            };
            let mut buf = vec![0u8; size];
            for _ in 0..total {
                read_full(rfd, &mut buf)?;
                write_full(wfd, &buf)?;
            }
            Ok(())
        }
        ("st", Sys::Pipe | Sys::Uds) => {
            let wfd = if sys == Sys::Pipe {
                stdout.as_fd()
            } else {
                stdin.as_fd()
            };
            produce(total, size, dl, |m| write_full(wfd, m).map(|()| true))
        }
        (kind, Sys::Bytes | Sys::BytesLoan) => {
            let shm = ShmFile::open(path)?;
            bytering::peer(&shm, kind, size, total, dl, sys == Sys::BytesLoan)
        }
        ("pp", Sys::Iceoryx2) => iox::peer_ping_pong(path, size, total, dl),
        ("st", Sys::Iceoryx2) => iox::peer_stream(path, size, total, dl),
        (kind, sys) => {
            let shm = ShmFile::open(path)?;
            peer_shm(&shm, kind, sys, size, cap, total, dl)
        }
    }
}

fn peer_shm(
    shm: &ShmFile,
    kind: &str,
    sys: Sys,
    size: usize,
    cap: usize,
    total: u64,
    dl: Deadline,
) -> Result<()> {
    let ready = || crate::cases::peer_ready(shm);
    let wait_go = || crate::cases::peer_wait_go(shm, dl);
    let mut buf = vec![0u8; size];
    match (kind, sys) {
        ("pp", Sys::Shmq) => {
            let (a, b) = names(shm.path())?;
            let mut rx = Queue::open(&a)?.receiver()?;
            let mut tx = Queue::open(&b)?.sender()?;
            ready();
            wait_go()?;
            let mut spin = Spin::new(dl, "shmq ping");
            for i in 1..=total {
                let n = shmq_recv(&mut rx, &mut buf, &mut spin)?;
                check(seq(&buf[..n]), i)?;
                shmq_send(&mut tx, &buf[..n], &mut spin)?;
            }
            Ok(())
        }
        ("pp", Sys::Minimal) => {
            let fp = minimal::footprint(cap, size);
            let mut rx = BytesConsumer::new(shm, AREA, cap, size, 1)?;
            let mut tx = BytesProducer::new(shm, AREA + fp, cap, size)?;
            ready();
            wait_go()?;
            let mut spin = Spin::new(dl, "minimal ping");
            for i in 1..=total {
                while !rx.pop_into(&mut buf) {
                    spin.step()?;
                }
                check(seq(&buf), i)?;
                while !tx.write(&buf) {
                    spin.step()?;
                }
                tx.publish();
            }
            Ok(())
        }
        ("st", Sys::Shmq | Sys::ShmqStream) => {
            let (a, _) = names(shm.path())?;
            let mut tx = Queue::open(&a)?.sender()?;
            if sys == Sys::ShmqStream {
                tx.set_pacing(shmq::spsc::Pacing::Throughput);
            }
            ready();
            wait_go()?;
            shmq_produce(tx, total, size, dl)
        }
        ("st", Sys::Dense) => {
            let (a, _) = names(shm.path())?;
            let tx = shmq::dense::Queue::open(&a)?.sender()?;
            ready();
            wait_go()?;
            shmq_produce(tx, total, size, dl)
        }
        ("st", Sys::Minimal) => {
            let mut tx = BytesProducer::new(shm, AREA, cap, size)?;
            ready();
            wait_go()?;
            produce(total, size, dl, |m| {
                if tx.write(m) {
                    if tx.pending() >= batch(size) {
                        tx.publish();
                    }
                    Ok(true)
                } else {
                    tx.publish();
                    Ok(false)
                }
            })?;
            tx.publish();
            Ok(())
        }
        _ => Err(err(format!("peer: unknown case {kind} {sys:?}"))),
    }
}

#[cfg(not(feature = "iceoryx2"))]
mod iox {
    //! Stand-in when the `iceoryx2` feature is off.
    use super::*;

    const OFF: &str = "built without the `iceoryx2` feature";

    pub(super) fn ping_pong(_: &str, _: usize, _: &Config, _: u64, _: u64) -> Result<Latency> {
        Err(err(OFF))
    }
    pub(super) fn stream(_: &str, _: usize, _: &Config, _: u64, _: u64) -> Result<f64> {
        Err(err(OFF))
    }
    pub(super) fn peer_ping_pong(_: &Path, _: usize, _: u64, _: Deadline) -> Result<()> {
        Err(err(OFF))
    }
    pub(super) fn peer_stream(_: &Path, _: usize, _: u64, _: Deadline) -> Result<()> {
        Err(err(OFF))
    }
    pub(super) fn cleanup() -> Vec<String> {
        Vec::new()
    }
}

/// Removes iceoryx2's leftover files once none of its nodes remain (nothing
/// without the feature); returns what it removed.
pub fn cleanup() -> Vec<String> {
    iox::cleanup()
}

#[cfg(feature = "iceoryx2")]
#[path = "iox.rs"]
mod iox;

#[path = "bytering.rs"]
mod bytering;
