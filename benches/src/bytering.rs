//! The byte-record ring (`shmq::bytes`) in the sized sections, through the
//! user API: copies (`try_send`/`try_recv`) or loans (`try_loan` +
//! `Loan::copy_from_slice` + `commit`; `try_recv_with` +
//! `Message::copy_to_slice`).
//!
//! Same work as every other system: the producer writes every byte of every
//! message into shared memory (a loan is filled from the prepared message,
//! as iceoryx2's loaned sample is), the consumer reads every byte out.
//!
//! The ring holds as many records of the message size as the slot rings
//! hold slots ([`super::capacity`]), rounded up to a power of two bytes.

use super::{capacity, check, consume, message, names, produce, seq, set_seq};
use crate::cases::{go, round_trips, with_peer, Config};
use crate::proc::{Deadline, Spin};
use crate::report::Latency;
use crate::shm::{ShmFile, AREA};
use crate::{err, Result};
use shmq::bytes::{Queue, Receiver, Sender};
use shmq::{TryRecvError, TrySendError};

/// The byte ring for messages of `size` bytes.
pub(super) fn config(size: usize) -> shmq::bytes::Config {
    let records = capacity(size) * shmq_core::bytes::record_size(size);
    let ring = records.next_power_of_two().max(64);
    shmq::bytes::Config {
        capacity_bytes: ring as u32,
        max_message: size as u32,
    }
}

/// One attempt to send `msg`: `false` when the ring has no room.
#[inline(always)]
fn try_send(tx: &mut Sender, msg: &[u8], loans: bool) -> Result<bool> {
    let r = if loans {
        tx.try_loan(msg.len()).and_then(|mut loan| {
            loan.copy_from_slice(msg);
            loan.commit()
        })
    } else {
        tx.try_send(msg)
    };
    match r {
        Ok(()) => Ok(true),
        Err(TrySendError::Full) => Ok(false),
        Err(e) => Err(e.into()),
    }
}

/// One attempt to receive a message into `buf` (every byte read out): its
/// length, or `None` when the ring is empty.
#[inline(always)]
fn try_recv(rx: &mut Receiver, buf: &mut [u8], loans: bool) -> Result<Option<usize>> {
    let r = if loans {
        rx.try_recv_with(|m| {
            if m.len() == buf.len() {
                m.copy_to_slice(buf)
            } else {
                m.len()
            }
        })
    } else {
        rx.try_recv(buf)
    };
    match r {
        Ok(n) => Ok(Some(n)),
        Err(TryRecvError::Empty) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

fn recv_spin(rx: &mut Receiver, buf: &mut [u8], loans: bool, spin: &mut Spin) -> Result<usize> {
    loop {
        if let Some(n) = try_recv(rx, buf, loans)? {
            if n != buf.len() {
                return Err(err(format!("message of {n} bytes, expected {}", buf.len())));
            }
            return Ok(n);
        }
        spin.step()?;
    }
}

fn send_spin(tx: &mut Sender, msg: &[u8], loans: bool, spin: &mut Spin) -> Result<()> {
    while !try_send(tx, msg, loans)? {
        spin.step()?;
    }
    Ok(())
}

/// Round trips through two byte rings (see [`super::ping_pong`]).
pub(super) fn ping_pong(
    case: &str,
    size: usize,
    cfg: &Config,
    total: u64,
    warm: u64,
    loans: bool,
) -> Result<Latency> {
    let mut msg = message(size);
    let mut buf = vec![0u8; size];
    with_peer(
        case,
        AREA,
        total,
        cfg,
        |shm| {
            let (a, b) = names(shm.path())?;
            let tx = Queue::create(&a, config(size))?.sender()?;
            let rx = Queue::create(&b, config(size))?.receiver()?;
            Ok((tx, rx, a, b))
        },
        |shm, (mut tx, mut rx, a, b)| {
            Queue::remove(&a)?;
            Queue::remove(&b)?;
            let mut spin = Spin::new(Deadline::after(cfg.bound), "byte ring reply");
            go(shm);
            round_trips(total, warm, |i| {
                set_seq(&mut msg, i);
                send_spin(&mut tx, &msg, loans, &mut spin)?;
                recv_spin(&mut rx, &mut buf, loans, &mut spin)?;
                check(seq(&buf), i)
            })
        },
    )
}

/// One stream run (see [`super::stream`]).
pub(super) fn stream(
    case: &str,
    size: usize,
    cfg: &Config,
    total: u64,
    warm: u64,
    loans: bool,
) -> Result<f64> {
    let dl = Deadline::after(cfg.bound);
    let mut buf = vec![0u8; size];
    with_peer(
        case,
        AREA,
        total,
        cfg,
        |shm| {
            let (a, _) = names(shm.path())?;
            let rx = Queue::create(&a, config(size))?.receiver()?;
            Ok((rx, a))
        },
        |shm, (mut rx, a)| {
            Queue::remove(&a)?;
            go(shm);
            consume(total, warm, dl, &mut buf, |b| {
                match try_recv(&mut rx, b, loans)? {
                    Some(n) if n == size => Ok(true),
                    Some(n) => Err(err(format!("message of {n} bytes, expected {size}"))),
                    None => Ok(false),
                }
            })
        },
    )
}

/// The peer's half of a byte-ring case (`kind` `pp` or `st`).
pub(super) fn peer(
    shm: &ShmFile,
    kind: &str,
    size: usize,
    total: u64,
    dl: Deadline,
    loans: bool,
) -> Result<()> {
    let (a, b) = names(shm.path())?;
    match kind {
        "pp" => {
            let mut rx = Queue::open(&a)?.receiver()?;
            let mut tx = Queue::open(&b)?.sender()?;
            crate::cases::peer_ready(shm);
            crate::cases::peer_wait_go(shm, dl)?;
            let mut spin = Spin::new(dl, "byte ring ping");
            let mut buf = vec![0u8; size];
            for i in 1..=total {
                recv_spin(&mut rx, &mut buf, loans, &mut spin)?;
                check(seq(&buf), i)?;
                send_spin(&mut tx, &buf, loans, &mut spin)?;
            }
            Ok(())
        }
        "st" => {
            let mut tx = Queue::open(&a)?.sender()?;
            crate::cases::peer_ready(shm);
            crate::cases::peer_wait_go(shm, dl)?;
            produce(total, size, dl, |m| try_send(&mut tx, m, loans))
        }
        other => Err(err(format!("peer: unknown byte-ring case {other}"))),
    }
}
