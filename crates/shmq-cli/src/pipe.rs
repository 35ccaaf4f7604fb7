//! `create`, `send` and `recv`: the queue API driven from a shell, each
//! written once for every kind (see [`crate::kinds`]).

use crate::kinds::{self, ForKind};
use crate::Failure;
use shmq::admin;
use shmq::{mpmc, Builder, Kind, Queue, RecvTimeoutError, SendTimeoutError};
use shmq_core::layout::QueueKind;
use std::any::Any;
use std::io::{self, BufRead, Write};
use std::process::ExitCode;
use std::time::Duration;

/// How long `recv --follow` waits in one call before looking again.
const FOLLOW_SLICE: Duration = Duration::from_millis(100);

/// What `create` was asked for.
struct CreateOp<'a> {
    name: &'a str,
    capacity: u32,
    slot_size: u32,
    endpoints: u32,
    hold: bool,
}

impl ForKind for CreateOp<'_> {
    type Output = Result<ExitCode, Failure>;

    fn run<K: Kind>(self) -> Self::Output {
        let mut builder = Builder::<K>::new(self.name)
            .capacity(self.capacity)
            .slot_size(self.slot_size)
            .persist(!self.hold);
        // `--endpoints` is MPMC's alone (the other kinds have one role per side).
        if let Some(b) = (&mut builder as &mut dyn Any).downcast_mut::<mpmc::Builder>() {
            *b = b.clone().max_endpoints(self.endpoints);
        }
        let queue = builder.create()?;
        if self.hold {
            println!("holding {}", self.name);
            io::stdout().flush()?;
            // Until stdin ends (or this process is killed).
            io::copy(&mut io::stdin().lock(), &mut io::sink())?;
        }
        drop(queue);
        Ok(ExitCode::SUCCESS)
    }
}

pub(crate) fn create(
    name: &str,
    kind: QueueKind,
    capacity: u32,
    slot_size: u32,
    endpoints: u32,
    hold: bool,
) -> Result<ExitCode, Failure> {
    kinds::with_kind(
        kind,
        CreateOp {
            name,
            capacity,
            slot_size,
            endpoints,
            hold,
        },
    )?
}

/// The kind of the existing queue `name`, from its header.
fn kind_of(name: &str) -> Result<QueueKind, Failure> {
    Ok(admin::inspect(name)
        .map_err(|e| format!("{name}: {e}"))?
        .kind)
}

/// What `send` was asked for.
struct SendOp<'a> {
    name: &'a str,
    values: &'a [String],
    timeout: Option<Duration>,
}

impl ForKind for SendOp<'_> {
    type Output = Result<ExitCode, Failure>;

    fn run<K: Kind>(self) -> Self::Output {
        let SendOp {
            name,
            values,
            timeout,
        } = self;
        let mut tx = Queue::<K>::open(name)?.sender()?;
        let mut sent = 0u64;
        let mut one = |msg: &[u8]| -> Result<(), Failure> {
            match timeout {
                Some(t) => tx.send(msg, t),
                None => tx.send_blocking(msg),
            }
            .map_err(|e: SendTimeoutError| format!("{name}: message {}: {e}", sent + 1))?;
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
}

pub(crate) fn send(
    name: &str,
    values: &[String],
    timeout: Option<Duration>,
) -> Result<ExitCode, Failure> {
    kinds::with_kind(
        kind_of(name)?,
        SendOp {
            name,
            values,
            timeout,
        },
    )?
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

/// What `recv` was asked for.
struct RecvOp<'a> {
    name: &'a str,
    count: Option<u64>,
    timeout: Option<Duration>,
    follow: bool,
    hex: bool,
}

impl ForKind for RecvOp<'_> {
    type Output = Result<ExitCode, Failure>;

    fn run<K: Kind>(self) -> Self::Output {
        let RecvOp {
            name,
            count,
            timeout,
            follow,
            hex,
        } = self;
        let queue = Queue::<K>::open(name)?;
        let mut rx = queue.receiver()?;
        // The largest message of any kind (`max_message` for a byte ring).
        let mut buf = vec![0u8; queue.slot_size()];
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
}

pub(crate) fn recv(
    name: &str,
    count: Option<u64>,
    timeout: Option<Duration>,
    follow: bool,
    hex: bool,
) -> Result<ExitCode, Failure> {
    kinds::with_kind(
        kind_of(name)?,
        RecvOp {
            name,
            count,
            timeout,
            follow,
            hex,
        },
    )?
}
