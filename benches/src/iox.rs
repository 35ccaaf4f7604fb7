//! iceoryx2 publish-subscribe as a peer (feature `iceoryx2`): `[u8]` samples
//! of the message size, one service per direction, busy polling with
//! `receive`. The sender loans a sample, copies the message into it and sends
//! it; the receiver reads every byte of the sample in place (copies it into
//! its buffer, then checks the sequence number): the same work as every other
//! system in the sized sections (the producer writes every byte, the consumer
//! reads every byte).
//!
//! Streams use a subscriber buffer of the ring capacity, no safe overflow and
//! `BackpressureStrategy::RetryUntilDelivered`, so no sample is dropped or
//! overwritten (the same contract as the other peers).
//!
//! iceoryx2 keeps its own files (in `/dev/shm` and `/tmp/iceoryx2`); they are
//! removed when its nodes and services are dropped, on every path that
//! returns. Service names derive from the control file's unique name.

use super::{capacity, check, consume, names, produce, seq, set_seq};
use crate::cases::{go, peer_ready, peer_wait_go, round_trips, with_peer, Config};
use crate::proc::{Deadline, Spin};
use crate::report::Latency;
use crate::shm::{ShmFile, AREA};
use crate::{err, Error, Result};
use iceoryx2::port::publisher::Publisher;
use iceoryx2::port::subscriber::Subscriber;
use iceoryx2::prelude::*;
use iceoryx2::service::port_factory::publish_subscribe::PortFactory as PubSub;
use std::fmt::Debug;
use std::path::Path;

type Pub = Publisher<ipc::Service, [u8], ()>;
type Sub = Subscriber<ipc::Service, [u8], ()>;
type Factory = PubSub<ipc::Service, [u8], ()>;

/// Wraps an iceoryx2 error (its types are not all `Send + Sync`).
fn ie<E: Debug>(what: &'static str) -> impl FnOnce(E) -> Error {
    move |e| err(format!("iceoryx2 {what}: {e:?}"))
}

fn node() -> Result<Node<ipc::Service>> {
    // Quiet: it warns on every node that no config file was loaded.
    set_log_level(LogLevel::Error);
    NodeBuilder::new()
        .create::<ipc::Service>()
        .map_err(ie("node"))
}

fn service_name(name: &str) -> Result<ServiceName> {
    ServiceName::new(&format!("shmq-bench/{name}")).map_err(ie("service name"))
}

/// Creates (`create`) or opens the service `name` for `size`-byte samples.
fn service(node: &Node<ipc::Service>, name: &str, size: usize, create: bool) -> Result<Factory> {
    let b = node
        .service_builder(&service_name(name)?)
        .publish_subscribe::<[u8]>()
        .history_size(0)
        .subscriber_max_buffer_size(capacity(size))
        .enable_safe_overflow(false)
        .max_publishers(1)
        .max_subscribers(1);
    if create {
        b.create().map_err(ie("create service"))
    } else {
        b.open().map_err(ie("open service"))
    }
}

fn publisher(f: &Factory, size: usize) -> Result<Pub> {
    f.publisher_builder()
        .initial_max_slice_len(size)
        .backpressure_strategy(BackpressureStrategy::RetryUntilDelivered)
        .create()
        .map_err(ie("publisher"))
}

fn subscriber(f: &Factory, size: usize) -> Result<Sub> {
    f.subscriber_builder()
        .buffer_size(capacity(size))
        .create()
        .map_err(ie("subscriber"))
}

#[inline(always)]
fn send(p: &Pub, msg: &[u8]) -> Result<()> {
    let s = p.loan_slice_uninit(msg.len()).map_err(ie("loan"))?;
    s.write_from_slice(msg).send().map_err(ie("send"))?;
    Ok(())
}

/// Polls (bounded) for the next sample and checks it is number `want`.
#[inline(always)]
fn recv(s: &Sub, want: u64, buf: &mut [u8], spin: &mut Spin) -> Result<()> {
    loop {
        match s.receive().map_err(ie("receive"))? {
            Some(sample) => {
                let p = sample.payload();
                if p.len() != buf.len() {
                    return Err(err(format!("sample of {} bytes", p.len())));
                }
                // Every byte read out, as every system does.
                buf.copy_from_slice(p);
                return check(seq(buf), want);
            }
            None => spin.step()?,
        }
    }
}

pub(super) fn ping_pong(
    case: &str,
    size: usize,
    cfg: &Config,
    total: u64,
    warm: u64,
) -> Result<Latency> {
    let mut msg = super::message(size);
    let mut buf = vec![0u8; size];
    with_peer(
        case,
        AREA,
        total,
        cfg,
        |shm| {
            let (a, b) = names(shm.path())?;
            let node = node()?;
            let fa = service(&node, &a, size, true)?;
            let fb = service(&node, &b, size, true)?;
            let tx = publisher(&fa, size)?;
            let rx = subscriber(&fb, size)?;
            // Ports before their services, services before the node.
            Ok(((tx, rx), (fa, fb), node))
        },
        |shm, ((tx, rx), _services, _node)| {
            let mut spin = Spin::new(Deadline::after(cfg.bound), "iceoryx2 reply");
            go(shm);
            round_trips(total, warm, |i| {
                set_seq(&mut msg, i);
                send(&tx, &msg)?;
                recv(&rx, i, &mut buf, &mut spin)
            })
        },
    )
}

pub(super) fn stream(case: &str, size: usize, cfg: &Config, total: u64, warm: u64) -> Result<f64> {
    let dl = Deadline::after(cfg.bound);
    let mut buf = vec![0u8; size];
    with_peer(
        case,
        AREA,
        total,
        cfg,
        |shm| {
            let (a, _) = names(shm.path())?;
            let node = node()?;
            let f = service(&node, &a, size, true)?;
            let rx = subscriber(&f, size)?;
            Ok((rx, f, node))
        },
        |shm, (rx, _service, _node)| {
            go(shm);
            consume(total, warm, dl, &mut buf, |b| {
                match rx.receive().map_err(ie("receive"))? {
                    Some(sample) => {
                        let p = sample.payload();
                        if p.len() != b.len() {
                            return Err(err(format!("sample of {} bytes", p.len())));
                        }
                        // Every byte read out, as every system does.
                        b.copy_from_slice(p);
                        Ok(true)
                    }
                    None => Ok(false),
                }
            })
        },
    )
}

pub(super) fn peer_ping_pong(path: &Path, size: usize, total: u64, dl: Deadline) -> Result<()> {
    let shm = ShmFile::open(path)?;
    let (a, b) = names(path)?;
    let node = node()?;
    let fa = service(&node, &a, size, false)?;
    let fb = service(&node, &b, size, false)?;
    let rx = subscriber(&fa, size)?;
    let tx = publisher(&fb, size)?;
    peer_ready(&shm);
    peer_wait_go(&shm, dl)?;
    let mut spin = Spin::new(dl, "iceoryx2 ping");
    for i in 1..=total {
        loop {
            match rx.receive().map_err(ie("receive"))? {
                Some(sample) => {
                    let p = sample.payload();
                    check(seq(p), i)?;
                    send(&tx, p)?;
                    break;
                }
                None => spin.step()?,
            }
        }
    }
    Ok(())
}

pub(super) fn peer_stream(path: &Path, size: usize, total: u64, dl: Deadline) -> Result<()> {
    let shm = ShmFile::open(path)?;
    let (a, _) = names(path)?;
    let node = node()?;
    let f = service(&node, &a, size, false)?;
    let tx = publisher(&f, size)?;
    peer_ready(&shm);
    peer_wait_go(&shm, dl)?;
    produce(total, size, dl, |m| send(&tx, m).map(|()| true))
}

/// Removes what iceoryx2 leaves behind after all its nodes are gone: its
/// global management file in `/dev/shm` and its empty `/tmp/iceoryx2`
/// folders. Does nothing while any iceoryx2 node (dead or alive) is listed,
/// so a concurrent iceoryx2 user is never disturbed. Returns what it removed.
pub(super) fn cleanup() -> Vec<String> {
    let mut nodes = 0;
    let listed = Node::<ipc::Service>::list(iceoryx2::config::Config::global_config(), |_| {
        nodes += 1;
        CallbackProgression::Continue
    });
    if listed.is_err() || nodes > 0 {
        return Vec::new();
    }
    let mut removed = Vec::new();
    if let Ok(dir) = std::fs::read_dir("/dev/shm") {
        for e in dir.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if name.starts_with("iox2_")
                && name.ends_with(".global_mgmt")
                && std::fs::remove_file(e.path()).is_ok()
            {
                removed.push(format!("/dev/shm/{name}"));
            }
        }
    }
    for d in [
        "/tmp/iceoryx2/nodes",
        "/tmp/iceoryx2/services",
        "/tmp/iceoryx2",
    ] {
        // `remove_dir` fails on a non-empty folder, which is then kept.
        if std::fs::remove_dir(d).is_ok() {
            removed.push(d.to_string());
        }
    }
    removed
}
