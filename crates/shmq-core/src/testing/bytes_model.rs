//! The byte ring's operation enum ([`BytesOp`]), shared by its proptest
//! suite and the `bytes` fuzz target, and the checker ([`BytesCheck`]) that
//! replays it on a real ring and on a `VecDeque<Vec<u8>>` model.
//!
//! The model predicts "full" from its own byte accounting (the spec of
//! [`crate::bytes`]: a record takes `record_size(len)` bytes, a record that
//! does not fit before the ring's end is preceded by padding up to it, and
//! the 8 bytes after the record must be free too).

use super::model::pattern;
use super::HeapRegion;
use crate::bytes::{record_size, Consumer, PopError, Producer, PushError, Stats};
use crate::layout::Geometry;
use std::collections::VecDeque;
use std::format;
use std::string::String;
use std::vec::Vec;

/// One call on a byte ring (single-threaded), as proptest and the fuzzer issue it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BytesOp {
    /// `try_push` of `len` bytes (possibly more than `max_message`).
    Push {
        /// Message length.
        len: usize,
        /// Content seed.
        seed: u8,
    },
    /// `try_pop` into a buffer of `buf` bytes.
    Pop {
        /// Buffer length.
        buf: usize,
    },
    /// `loan(len)`, fill all `len` bytes, then `commit(n)` (`None`: drop it).
    Loan {
        /// Bytes reserved.
        len: usize,
        /// Bytes committed (clamped to `len` by the loan).
        commit: Option<usize>,
        /// Content seed.
        seed: u8,
    },
    /// `try_recv_with`, reading the payload through the view from `offset`
    /// on (and the part before it with a second read).
    RecvWith {
        /// Where the first read starts.
        offset: usize,
    },
    /// `try_push_value::<u32>`.
    PushValue {
        /// The value.
        value: u32,
    },
    /// `try_pop_value::<u32>`.
    PopValue,
    /// `push_slice` of `count` `u16` values.
    PushSlice {
        /// Values offered.
        count: usize,
        /// First value.
        seed: u8,
    },
    /// `pop_slice` into `count` `u16` values.
    PopSlice {
        /// Values asked for.
        count: usize,
    },
    /// Drop the producer and attach a new one (the attach walk).
    ReattachProducer,
    /// Drop the consumer and attach a new one.
    ReattachConsumer,
}

impl BytesOp {
    /// Largest length or count [`BytesOp::decode`] produces.
    pub const MAX_DECODED: usize = 255;

    /// Decodes one operation from the front of `data`; `None` once `data`
    /// is exhausted. Every byte string decodes.
    pub fn decode(data: &mut &[u8]) -> Option<BytesOp> {
        let (&tag, rest) = data.split_first()?;
        *data = rest;
        let mut next = || -> u8 {
            let (&b, rest) = data.split_first().unwrap_or((&0, &[]));
            *data = rest;
            b
        };
        Some(match tag % 10 {
            0 => BytesOp::Push {
                len: next() as usize,
                seed: next(),
            },
            1 => BytesOp::Pop {
                buf: next() as usize,
            },
            2 => {
                let len = next() as usize;
                let c = next();
                BytesOp::Loan {
                    len,
                    commit: (c != 255).then_some(c as usize),
                    seed: next(),
                }
            }
            3 => BytesOp::RecvWith {
                offset: next() as usize,
            },
            4 => BytesOp::PushValue {
                value: u32::from(next()) * 0x0101_0101,
            },
            5 => BytesOp::PopValue,
            6 => BytesOp::PushSlice {
                count: next() as usize % 16,
                seed: next(),
            },
            7 => BytesOp::PopSlice {
                count: next() as usize % 16,
            },
            8 => BytesOp::ReattachProducer,
            _ => BytesOp::ReattachConsumer,
        })
    }

    /// Decodes operations until `data` is exhausted or `max` were decoded.
    pub fn decode_all(mut data: &[u8], max: usize) -> Vec<BytesOp> {
        let mut ops = Vec::new();
        while ops.len() < max {
            match BytesOp::decode(&mut data) {
                Some(op) => ops.push(op),
                None => break,
            }
        }
        ops
    }
}

/// A real byte ring on a [`HeapRegion`] next to a `VecDeque<Vec<u8>>` model.
#[derive(Debug)]
pub struct BytesCheck {
    // Endpoints drop before the region.
    producer: Option<Producer>,
    consumer: Option<Consumer>,
    heap: HeapRegion,
    /// Queued messages and the byte position after each one's record.
    model: VecDeque<(Vec<u8>, u64)>,
    /// The model's tail and head (byte positions).
    tail: u64,
    head: u64,
    capacity: u64,
    max_message: usize,
    sent: u64,
    received: u64,
}

impl BytesCheck {
    /// A fresh ring of `capacity` bytes and messages up to `max_message`.
    ///
    /// # Panics
    /// If the geometry is invalid.
    pub fn new(capacity: u32, max_message: u32) -> Self {
        let heap = HeapRegion::new(Geometry::new_bytes(capacity, max_message).unwrap());
        let mut c = BytesCheck {
            producer: None,
            consumer: None,
            heap,
            model: VecDeque::new(),
            tail: 0,
            head: 0,
            capacity: u64::from(capacity),
            max_message: max_message as usize,
            sent: 0,
            received: 0,
        };
        c.attach_producer();
        c.attach_consumer();
        c
    }

    fn attach_producer(&mut self) {
        // SAFETY: the previous producer (if any) was dropped; one per role.
        self.producer = Some(unsafe { Producer::attach(self.heap.region()) }.unwrap());
    }

    fn attach_consumer(&mut self) {
        // SAFETY: as above.
        self.consumer = Some(unsafe { Consumer::attach(self.heap.region()) }.unwrap());
    }

    /// What the model says a push of `len` bytes does: `Some(end)` (the
    /// position after its record) if it fits, `None` if full.
    fn plan(&self, len: usize) -> Option<u64> {
        let size = record_size(len) as u64;
        let off = self.tail % self.capacity;
        let pad = if off + size > self.capacity {
            self.capacity - off
        } else {
            0
        };
        let free = self.capacity - (self.tail - self.head);
        (pad + size + 8 <= free).then_some(self.tail + pad + size)
    }

    /// The model's result for pushing `msg` (after the length check).
    fn model_push(&mut self, msg: Vec<u8>) -> Result<(), PushError> {
        if msg.len() > self.max_message {
            return Err(PushError::TooLarge {
                len: msg.len(),
                max: self.max_message,
            });
        }
        match self.plan(msg.len()) {
            Some(end) => {
                self.tail = end;
                self.sent += 1;
                self.model.push_back((msg, end));
                Ok(())
            }
            None => Err(PushError::Full),
        }
    }

    fn model_pop(&mut self) -> Option<Vec<u8>> {
        let (msg, end) = self.model.pop_front()?;
        self.head = end;
        self.received += 1;
        Some(msg)
    }

    /// Runs `op` on the ring and the model.
    ///
    /// # Errors
    /// A description of the first difference.
    pub fn apply(&mut self, op: &BytesOp) -> Result<(), String> {
        let p = self.producer.as_mut().unwrap();
        match *op {
            BytesOp::Push { len, seed } => {
                let msg = pattern(len, seed);
                let got = p.try_push(&msg);
                let want = self.model_push(msg);
                eq("push", got, want)?;
            }
            BytesOp::Loan { len, commit, seed } => {
                let msg = pattern(len, seed);
                let got = match p.loan(len) {
                    Ok(mut loan) => {
                        if loan.copy_from_slice(&msg) != len {
                            return Err(format!("loan of {len} took fewer bytes"));
                        }
                        // `None`: the loan is dropped uncommitted.
                        if let Some(n) = commit {
                            let done = loan.commit(n);
                            if done != n.min(len) {
                                return Err(format!("commit {n} of {len} gave {done}"));
                            }
                        }
                        Ok(())
                    }
                    Err(e) => Err(e),
                };
                let want = if len > self.max_message {
                    Err(PushError::TooLarge {
                        len,
                        max: self.max_message,
                    })
                } else if self.plan(len).is_none() {
                    Err(PushError::Full)
                } else {
                    if let Some(n) = commit {
                        let n = n.min(len);
                        // The padding is decided by the `len` reserved; the
                        // record published holds `n` bytes.
                        let size = record_size(len) as u64;
                        let off = self.tail % self.capacity;
                        let pad = if off + size > self.capacity {
                            self.capacity - off
                        } else {
                            0
                        };
                        let end = self.tail + pad + record_size(n) as u64;
                        self.tail = end;
                        self.sent += 1;
                        self.model.push_back((msg[..n].to_vec(), end));
                    }
                    Ok(())
                };
                eq("loan", got, want)?;
            }
            BytesOp::Pop { buf } => {
                let c = self.consumer.as_mut().unwrap();
                let mut b = std::vec![0u8; buf];
                let got = c.try_pop(&mut b).map(|n| b[..n].to_vec());
                let want = match self.model.front() {
                    None => Err(PopError::Empty),
                    Some((m, _)) if m.len() > buf => Err(PopError::Size {
                        len: m.len(),
                        capacity: buf,
                    }),
                    Some(_) => Ok(self.model_pop().unwrap()),
                };
                eq("pop", got, want)?;
            }
            BytesOp::RecvWith { offset } => {
                let c = self.consumer.as_mut().unwrap();
                let got = c.try_recv_with(|v| {
                    let mut all = std::vec![0u8; v.len()];
                    let off = offset.min(v.len());
                    let n = v.read_at(off, &mut all[off..]);
                    let m = v.read_at(0, &mut all[..off]);
                    let beyond = v.read_at(v.len() + offset, &mut [0u8; 4]);
                    (all, n + m + beyond)
                });
                let want = match self.model_pop() {
                    None => Err(PopError::Empty),
                    Some(m) => {
                        let n = m.len();
                        Ok((m, n))
                    }
                };
                eq("recv_with", got, want)?;
            }
            BytesOp::PushValue { value } => {
                let got = p.try_push_value(&value);
                let want = self.model_push(value.to_ne_bytes().to_vec());
                eq("push_value", got, want)?;
            }
            BytesOp::PopValue => {
                let c = self.consumer.as_mut().unwrap();
                let got = c.try_pop_value::<u32>();
                let want = match self.model.front() {
                    None => Err(PopError::Empty),
                    Some((m, _)) if m.len() != 4 => Err(PopError::Size {
                        len: m.len(),
                        capacity: 4,
                    }),
                    Some(_) => {
                        let m = self.model_pop().unwrap();
                        Ok(u32::from_ne_bytes([m[0], m[1], m[2], m[3]]))
                    }
                };
                eq("pop_value", got, want)?;
            }
            BytesOp::PushSlice { count, seed } => {
                let items: Vec<u16> = (0..count as u16).map(|i| i + u16::from(seed)).collect();
                let got = p.push_slice(&items);
                let want = if self.max_message < 2 {
                    Err(PushError::TooLarge {
                        len: 2,
                        max: self.max_message,
                    })
                } else {
                    let mut n = 0;
                    let mut r = Ok(0);
                    for it in &items {
                        match self.model_push(it.to_ne_bytes().to_vec()) {
                            Ok(()) => {
                                n += 1;
                                r = Ok(n);
                            }
                            Err(_) if n > 0 => break,
                            Err(e) => {
                                r = Err(e);
                                break;
                            }
                        }
                    }
                    r
                };
                eq("push_slice", got, want)?;
            }
            BytesOp::PopSlice { count } => {
                let c = self.consumer.as_mut().unwrap();
                let mut out = std::vec![0u16; count];
                let got = c.pop_slice(&mut out).map(|n| out[..n].to_vec());
                let mut taken = Vec::new();
                let want = loop {
                    if taken.len() == count {
                        break Ok(taken);
                    }
                    match self.model.front() {
                        None if taken.is_empty() && count > 0 => break Err(PopError::Empty),
                        None => break Ok(taken),
                        Some((m, _)) if m.len() != 2 => {
                            if taken.is_empty() {
                                break Err(PopError::Size {
                                    len: m.len(),
                                    capacity: 2,
                                });
                            }
                            break Ok(taken);
                        }
                        Some(_) => {
                            let m = self.model_pop().unwrap();
                            taken.push(u16::from_ne_bytes([m[0], m[1]]));
                        }
                    }
                };
                eq("pop_slice", got, want)?;
            }
            BytesOp::ReattachProducer => {
                self.producer = None;
                self.attach_producer();
            }
            BytesOp::ReattachConsumer => {
                self.consumer = None;
                self.attach_consumer();
            }
        }
        self.check_stats()
    }

    fn check_stats(&self) -> Result<(), String> {
        let s = Stats::read(&self.heap.region());
        #[allow(clippy::useless_conversion)] // Index is u32 on 32-bit targets
        let got = (
            u64::from(s.enqueued),
            u64::from(s.dequeued),
            u64::from(s.bytes_enqueued),
            s.poisoned,
        );
        let want = (self.sent, self.received, self.tail, false);
        if got == want {
            Ok(())
        } else {
            Err(format!(
                "stats (sent, received, tail, poisoned): {got:?}, model {want:?}"
            ))
        }
    }

    /// Pops everything left, checking each message against the model.
    ///
    /// # Errors
    /// A description of the first difference.
    pub fn drain(&mut self) -> Result<(), String> {
        let len = self.model.len();
        for _ in 0..=len {
            self.apply(&BytesOp::Pop {
                buf: self.max_message,
            })?;
        }
        Ok(())
    }
}

fn eq<T: PartialEq + core::fmt::Debug>(what: &str, got: T, want: T) -> Result<(), String> {
    if got == want {
        Ok(())
    } else {
        Err(format!("{what}: ring gave {got:?}, model {want:?}"))
    }
}
