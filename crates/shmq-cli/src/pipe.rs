//! `create`, `send` and `recv`: the queue API driven from a shell.

use crate::{Failure, Kind};
use shmq::admin;
use shmq::{mpmc, spsc, RecvTimeoutError, TryRecvError};
use shmq_core::layout::QueueKind;
use std::io::{self, BufRead, Write};
use std::process::ExitCode;
use std::time::Duration;

/// How long `recv --follow` waits in one call before looking again.
const FOLLOW_SLICE: Duration = Duration::from_millis(100);

/// Either kind's handle, kept alive while `create --hold` runs.
enum Handle {
    Spsc(#[allow(dead_code)] spsc::Queue),
    Mpmc(#[allow(dead_code)] mpmc::Queue),
}

pub(crate) fn create(
    name: &str,
    kind: Kind,
    capacity: u32,
    slot_size: u32,
    endpoints: u32,
    hold: bool,
) -> Result<ExitCode, Failure> {
    let persist = !hold;
    let handle = match kind {
        Kind::Spsc => Handle::Spsc(
            spsc::Queue::builder(name)
                .capacity(capacity)
                .slot_size(slot_size)
                .persist(persist)
                .create()?,
        ),
        Kind::Mpmc => Handle::Mpmc(
            mpmc::Queue::builder(name)
                .config(mpmc::Config {
                    capacity,
                    slot_size,
                    max_endpoints: endpoints,
                })
                .persist(persist)
                .create()?,
        ),
    };
    if hold {
        println!("holding {name}");
        io::stdout().flush()?;
        // Until stdin ends (or this process is killed).
        io::copy(&mut io::stdin().lock(), &mut io::sink())?;
    }
    drop(handle);
    Ok(ExitCode::SUCCESS)
}

/// The kind of the existing queue `name`, from its header.
fn kind_of(name: &str) -> Result<QueueKind, Failure> {
    Ok(admin::inspect(name)
        .map_err(|e| format!("{name}: {e}"))?
        .kind)
}

enum Tx {
    Spsc(spsc::Sender),
    Mpmc(mpmc::Sender),
}

impl Tx {
    fn open(name: &str) -> Result<Tx, Failure> {
        Ok(match kind_of(name)? {
            QueueKind::Mpmc => Tx::Mpmc(mpmc::Queue::open(name)?.sender()?),
            _ => Tx::Spsc(spsc::Queue::open(name)?.sender()?),
        })
    }

    fn send(
        &mut self,
        msg: &[u8],
        timeout: Option<Duration>,
    ) -> Result<(), shmq::SendTimeoutError> {
        match (self, timeout) {
            (Tx::Spsc(tx), Some(t)) => tx.send(msg, t),
            (Tx::Spsc(tx), None) => tx.send_blocking(msg),
            (Tx::Mpmc(tx), Some(t)) => tx.send(msg, t),
            (Tx::Mpmc(tx), None) => tx.send_blocking(msg),
        }
    }
}

enum Rx {
    Spsc(spsc::Receiver),
    Mpmc(mpmc::Receiver),
}

impl Rx {
    fn open(name: &str) -> Result<(Rx, usize), Failure> {
        Ok(match kind_of(name)? {
            QueueKind::Mpmc => {
                let q = mpmc::Queue::open(name)?;
                (Rx::Mpmc(q.receiver()?), q.slot_size())
            }
            _ => {
                let q = spsc::Queue::open(name)?;
                (Rx::Spsc(q.receiver()?), q.slot_size())
            }
        })
    }

    fn try_recv(&mut self, buf: &mut [u8]) -> Result<usize, TryRecvError> {
        match self {
            Rx::Spsc(rx) => rx.try_recv(buf),
            Rx::Mpmc(rx) => rx.try_recv(buf),
        }
    }

    fn recv(&mut self, buf: &mut [u8], timeout: Duration) -> Result<usize, RecvTimeoutError> {
        match self {
            Rx::Spsc(rx) => rx.recv(buf, timeout),
            Rx::Mpmc(rx) => rx.recv(buf, timeout),
        }
    }
}

pub(crate) fn send(
    name: &str,
    values: &[String],
    timeout: Option<Duration>,
) -> Result<ExitCode, Failure> {
    let mut tx = Tx::open(name)?;
    let mut sent = 0u64;
    let mut one = |msg: &[u8]| -> Result<(), Failure> {
        tx.send(msg, timeout)
            .map_err(|e| format!("{name}: message {}: {e}", sent + 1))?;
        sent += 1;
        Ok(())
    };
    if values.is_empty() {
        let mut stdin = io::stdin().lock();
        let mut line = Vec::new();
        loop {
            line.clear();
            if stdin.read_until(b'\n', &mut line)? == 0 {
                break;
            }
            if line.last() == Some(&b'\n') {
                line.pop();
            }
            one(&line)?;
        }
    } else {
        for v in values {
            one(v.as_bytes())?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Writes one message; `Ok(false)` if stdout is closed (a pipe reader left).
fn print(out: &mut impl Write, msg: &[u8], hex: bool) -> io::Result<bool> {
    let written = if hex {
        let mut line = String::with_capacity(msg.len() * 2 + 1);
        for b in msg {
            line.push_str(&format!("{b:02x}"));
        }
        line.push('\n');
        out.write_all(line.as_bytes())
    } else {
        out.write_all(msg).and_then(|()| out.write_all(b"\n"))
    };
    match written.and_then(|()| out.flush()) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(false),
        Err(e) => Err(e),
    }
}

pub(crate) fn recv(
    name: &str,
    count: Option<u64>,
    timeout: Option<Duration>,
    follow: bool,
    hex: bool,
) -> Result<ExitCode, Failure> {
    let (mut rx, slot_size) = Rx::open(name)?;
    let mut buf = vec![0u8; slot_size];
    let mut out = io::stdout().lock();
    let mut got = 0u64;
    let ended = loop {
        if count.is_some_and(|c| got >= c) {
            break None;
        }
        let r = if follow {
            rx.recv(&mut buf, FOLLOW_SLICE)
        } else if let Some(t) = timeout {
            rx.recv(&mut buf, t)
        } else {
            // Empty reads as Timeout: nothing queued now, and no waiting asked.
            rx.try_recv(&mut buf).map_err(RecvTimeoutError::from)
        };
        match r {
            Ok(n) => {
                got += 1;
                if !print(&mut out, &buf[..n], hex)? {
                    return Ok(ExitCode::SUCCESS);
                }
            }
            Err(RecvTimeoutError::Timeout) if follow => {}
            Err(RecvTimeoutError::Disconnected) if follow => std::thread::sleep(FOLLOW_SLICE),
            Err(RecvTimeoutError::Timeout) => break Some("no message within the timeout"),
            Err(RecvTimeoutError::Disconnected) => break Some("the senders are gone"),
            Err(e) => return Err(format!("{name}: {e}").into()),
        }
    };
    match (count, ended) {
        (Some(c), Some(why)) if got < c => {
            eprintln!("shmq: {name}: received {got} of {c} messages: {why}");
            Ok(ExitCode::FAILURE)
        }
        _ => Ok(ExitCode::SUCCESS),
    }
}
