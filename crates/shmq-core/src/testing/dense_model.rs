//! The dense ring's checker ([`DenseCheck`]): the shared [`Op`] enum (the
//! SPSC proptest suite's and the `ops` fuzz target's) replayed on a real
//! [`crate::dense`] ring and on a `VecDeque` model, used by the dense
//! proptest suite and the `dense_ops` fuzz target.
//!
//! The model is the ring's specification: every record is exactly
//! `record_size` bytes; a push of another size is refused with
//! [`PushError::WrongSize`] and a destination that is too short (or a value
//! type of another size) with [`PopError::Size`], changing nothing; the ring
//! is full at `capacity` records; a batch takes as many as fit (a prefix) and
//! is `Full`/`Empty` only if it takes none of a non-empty request.
//! [`Op::Pace`] and [`Op::Exact`] have no dense counterpart (the ring has no
//! pacing) and change nothing.

use super::model::{check_eq, pattern, value, with_width, Op, Width};
use super::HeapRegion;
use crate::dense::{Consumer, PopError, Producer, PushError, Stats};
use crate::layout::{EndpointState, Geometry};
use crate::sync::Index;
use bytemuck::Zeroable;
use std::collections::VecDeque;
use std::format;
use std::string::String;
use std::vec::Vec;

/// What the destination buffers are filled with before a pop, so that a
/// byte written beyond what a pop reports is seen.
const FILL: u8 = 0xA5;

/// A real dense ring on a [`HeapRegion`] next to a `VecDeque` model of it.
///
/// [`DenseCheck::apply`] runs one [`Op`] on both and returns `Err` with a
/// description at the first difference: a result, a record's bytes, a byte
/// written beyond the record, an endpoint state or a counter in [`Stats`].
#[derive(Debug)]
pub struct DenseCheck {
    // Field order matters: the endpoints drop (and write their state words)
    // before the region they point into is freed.
    producer: Option<Producer>,
    consumer: Option<Consumer>,
    heap: HeapRegion,
    model: VecDeque<Vec<u8>>,
    capacity: usize,
    record: usize,
    enqueued: Index,
    dequeued: Index,
    full: Index,
    empty: Index,
}

impl DenseCheck {
    /// A fresh dense ring of `capacity` records of `record_size` bytes with
    /// both endpoints attached.
    ///
    /// # Panics
    /// If the geometry is invalid or an endpoint cannot attach to a fresh region.
    pub fn new(capacity: u32, record_size: u32) -> Self {
        let heap = HeapRegion::new(Geometry::new_dense(capacity, record_size).expect("geometry"));
        // SAFETY: no other producer of this region is used concurrently (one per role here).
        let producer = unsafe { Producer::attach(heap.region()) }.expect("producer attaches");
        // SAFETY: no other consumer of this region is used concurrently (one per role here).
        let consumer = unsafe { Consumer::attach(heap.region()) }.expect("consumer attaches");
        DenseCheck {
            producer: Some(producer),
            consumer: Some(consumer),
            heap,
            model: VecDeque::new(),
            capacity: capacity as usize,
            record: record_size as usize,
            enqueued: 0,
            dequeued: 0,
            full: 0,
            empty: 0,
        }
    }

    /// The region under test (e.g. to tamper with it behind the model's back).
    pub fn heap(&self) -> &HeapRegion {
        &self.heap
    }

    /// Records the model holds.
    pub fn len(&self) -> usize {
        self.model.len()
    }

    /// Whether the model holds no record.
    pub fn is_empty(&self) -> bool {
        self.model.is_empty()
    }

    fn tx(&mut self) -> &mut Producer {
        self.producer.as_mut().expect("producer attached")
    }

    fn rx(&mut self) -> &mut Consumer {
        self.consumer.as_mut().expect("consumer attached")
    }

    /// The model's result for pushing `msg`, updating the model.
    fn model_push(&mut self, msg: Vec<u8>) -> Result<(), PushError> {
        if msg.len() != self.record {
            Err(PushError::WrongSize {
                len: msg.len(),
                size: self.record,
            })
        } else if self.model.len() == self.capacity {
            self.full += 1;
            Err(PushError::Full)
        } else {
            self.model.push_back(msg);
            self.enqueued += 1;
            Ok(())
        }
    }

    /// The model's result for popping into a destination of `size` bytes
    /// (`exact`: a value type, which must be exactly one record).
    fn model_pop(&mut self, size: usize, exact: bool) -> Result<Vec<u8>, PopError> {
        if size < self.record || (exact && size != self.record) {
            return Err(PopError::Size {
                len: self.record,
                capacity: size,
            });
        }
        match self.model.pop_front() {
            Some(m) => {
                self.dequeued += 1;
                Ok(m)
            }
            None => {
                self.empty += 1;
                Err(PopError::Empty)
            }
        }
    }

    /// Runs `op` on the ring and on the model.
    ///
    /// # Errors
    /// A description of the first difference between the two.
    pub fn apply(&mut self, op: &Op) -> Result<(), String> {
        match *op {
            Op::Push { len, seed } => {
                let msg = pattern(len, seed);
                let real = self.tx().try_push(&msg);
                let model = self.model_push(msg);
                check_eq!(op, "result", real, model);
            }
            Op::Pop { buf } => {
                let mut b = std::vec![FILL; buf];
                let real = self.rx().try_pop(&mut b);
                let model = self.model_pop(buf, false);
                check_eq!(
                    op,
                    "result",
                    real,
                    model.as_ref().map(|m| m.len()).map_err(|e| *e)
                );
                let n = real.unwrap_or(0);
                if let Ok(m) = model {
                    check_eq!(op, "record", b[..n], m[..]);
                }
                check_eq!(op, "bytes beyond the record", untouched(&b[n..]), true);
            }
            Op::PushValue { width, seed } => with_width!(width, T => {
                let v: T = value(seed);
                let real = self.tx().try_push_value(&v);
                let model = self.model_push(v.to_vec());
                check_eq!(op, "result", real, model);
            }),
            Op::PopValue { width } => with_width!(width, T => {
                let real = self.rx().try_pop_value::<T>();
                let model = self.model_pop(width.bytes(), true);
                check_eq!(op, "result", real.map(|v| v.to_vec()), model);
            }),
            Op::PushSlice { width, count, seed } => with_width!(width, T => {
                let items: Vec<T> = (0..count)
                    .map(|i| value(seed.wrapping_add(i as u8)))
                    .collect();
                let real = self.tx().push_slice(&items);
                let model = self.model_push_slice(width, &items);
                check_eq!(op, "result", real, model);
            }),
            Op::PopSlice { width, count } => with_width!(width, T => {
                let mut out: Vec<T> = std::vec![T::zeroed(); count];
                bytemuck::cast_slice_mut::<T, u8>(&mut out).fill(FILL);
                let real = self.rx().pop_slice(&mut out);
                let model = self.model_pop_slice(width, count);
                check_eq!(op, "result", real, model.as_ref().map(|t| t.len()).map_err(|e| *e));
                let n = real.unwrap_or(0);
                if let Ok(taken) = model {
                    let got: Vec<Vec<u8>> = out[..n].iter().map(|v| v.to_vec()).collect();
                    check_eq!(op, "records", got, taken);
                }
                let rest = bytemuck::cast_slice::<T, u8>(&out[n..]);
                check_eq!(op, "values beyond those popped", untouched(rest), true);
            }),
            Op::ReattachProducer => {
                drop(self.producer.take());
                let state = self.rx().producer_state();
                check_eq!(
                    op,
                    "producer state after drop",
                    state,
                    EndpointState::Closed
                );
                // SAFETY: the previous producer is dropped; one per role here.
                let p = unsafe { Producer::attach(self.heap.region()) };
                check_eq!(op, "attach", p.as_ref().err(), None);
                self.producer = p.ok();
                let state = self.rx().producer_state();
                check_eq!(
                    op,
                    "producer state after attach",
                    state,
                    EndpointState::Attached
                );
            }
            Op::ReattachConsumer => {
                drop(self.consumer.take());
                let state = self.tx().consumer_state();
                check_eq!(
                    op,
                    "consumer state after drop",
                    state,
                    EndpointState::Closed
                );
                // SAFETY: the previous consumer is dropped; one per role here.
                let c = unsafe { Consumer::attach(self.heap.region()) };
                check_eq!(op, "attach", c.as_ref().err(), None);
                self.consumer = c.ok();
                let state = self.tx().consumer_state();
                check_eq!(
                    op,
                    "consumer state after attach",
                    state,
                    EndpointState::Attached
                );
            }
            // No pacing on a dense ring: nothing to do, nothing changes.
            Op::PushRecords { len, seed } => {
                let bytes = pattern(len, seed);
                let real = self.tx().push_records(&bytes);
                let model = self.model_push_records(&bytes);
                check_eq!(op, "result", real, model);
            }
            Op::PopRecords { buf } => {
                let mut b = std::vec![FILL; buf];
                let real = self.rx().pop_records(&mut b);
                let model = self.model_pop_records(buf);
                check_eq!(
                    op,
                    "result",
                    real,
                    model.as_ref().map(|t| t.len()).map_err(|e| *e)
                );
                let end = real.unwrap_or(0) * self.record;
                if let Ok(taken) = model {
                    check_eq!(op, "records", b[..end], taken.concat()[..]);
                }
                check_eq!(op, "bytes beyond the records", untouched(&b[end..]), true);
            }
            Op::Pace { .. } | Op::Exact { .. } => {}
        }
        self.check_stats(op)
    }

    /// The model's result for `push_slice` of `items` (values of `width`).
    fn model_push_slice<T: bytemuck::Pod>(
        &mut self,
        width: Width,
        items: &[T],
    ) -> Result<usize, PushError> {
        if width.bytes() != self.record {
            return Err(PushError::WrongSize {
                len: width.bytes(),
                size: self.record,
            });
        }
        let n = items.len().min(self.capacity - self.model.len());
        if n == 0 && !items.is_empty() {
            self.full += 1;
            return Err(PushError::Full);
        }
        for item in &items[..n] {
            self.model.push_back(bytemuck::bytes_of(item).to_vec());
        }
        self.enqueued += n as Index;
        Ok(n)
    }

    /// The model's result for `push_records(bytes)`.
    fn model_push_records(&mut self, bytes: &[u8]) -> Result<usize, PushError> {
        if bytes.len() % self.record != 0 {
            return Err(PushError::WrongSize {
                len: bytes.len(),
                size: self.record,
            });
        }
        let count = bytes.len() / self.record;
        let n = count.min(self.capacity - self.model.len());
        if n == 0 && count > 0 {
            self.full += 1;
            return Err(PushError::Full);
        }
        for record in bytes.chunks_exact(self.record).take(n) {
            self.model.push_back(record.to_vec());
        }
        self.enqueued += n as Index;
        Ok(n)
    }

    /// The model's result for `pop_records` into `buf` bytes.
    fn model_pop_records(&mut self, buf: usize) -> Result<Vec<Vec<u8>>, PopError> {
        if buf != 0 && buf < self.record {
            return Err(PopError::Size {
                len: self.record,
                capacity: buf,
            });
        }
        let count = buf / self.record;
        let n = count.min(self.model.len());
        if n == 0 && count > 0 {
            self.empty += 1;
            return Err(PopError::Empty);
        }
        self.dequeued += n as Index;
        Ok(self.model.drain(..n).collect())
    }

    /// The model's result for `pop_slice` into `count` values of `width`.
    fn model_pop_slice(&mut self, width: Width, count: usize) -> Result<Vec<Vec<u8>>, PopError> {
        if width.bytes() != self.record {
            return Err(PopError::Size {
                len: self.record,
                capacity: width.bytes(),
            });
        }
        let n = count.min(self.model.len());
        if n == 0 && count > 0 {
            self.empty += 1;
            return Err(PopError::Empty);
        }
        self.dequeued += n as Index;
        Ok(self.model.drain(..n).collect())
    }

    fn check_stats(&self, op: &Op) -> Result<(), String> {
        let s = Stats::read(&self.heap.region());
        check_eq!(op, "stats.enqueued", s.enqueued, self.enqueued);
        check_eq!(op, "stats.dequeued", s.dequeued, self.dequeued);
        check_eq!(op, "stats.full", s.full, self.full);
        check_eq!(op, "stats.empty", s.empty, self.empty);
        check_eq!(op, "stats.producer_poisoned", s.producer_poisoned, 0);
        check_eq!(op, "stats.consumer_poisoned", s.consumer_poisoned, 0);
        check_eq!(op, "stats.poisoned", s.poisoned, false);
        Ok(())
    }

    /// Pops everything left, comparing it with the model, then one pop more
    /// (which both must find empty).
    ///
    /// # Errors
    /// A description of the first difference.
    pub fn drain(&mut self) -> Result<(), String> {
        loop {
            let done = self.model.is_empty();
            self.apply(&Op::Pop { buf: self.record })?;
            if done {
                return Ok(());
            }
        }
    }
}

/// Whether every byte of `b` still holds [`FILL`].
fn untouched(b: &[u8]) -> bool {
    b.iter().all(|&x| x == FILL)
}
