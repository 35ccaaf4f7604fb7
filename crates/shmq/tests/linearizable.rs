//! crossbeam-queue's `linearizable` test (`tests/array_queue.rs`) ported to
//! shmq MPMC, issue #9 case 6: each thread sends, then receives with
//! `try_recv`, which must succeed, since the queue holds at least this
//! thread's own message when the receive starts. Threads of one process,
//! each with its own sender and receiver, over a real /dev/shm queue.
//!
//! A receive that finds the position at `head` claimed by a live sender
//! that has not published yet waits a bounded time for it (the core's
//! `SPIN_STEPS`: spins, a liveness check, then `Peers::snooze`, which the
//! platform answers with a yield); before, it reported `Empty` at once and
//! this test failed in most runs. What remains (a sender descheduled between
//! its claim and its publication for longer than that wait, e.g. by another
//! process on its CPU) is in `docs/guarantees.md`: on an oversubscribed
//! machine this test can still fail. It runs as many threads as the machine
//! has cores (2 to 4), not more. Because its outcome depends on the
//! scheduler when other processes load the machine, it is `#[ignore]`d in
//! the default run (CI); run it with
//! `cargo test -p shmq --test linearizable -- --ignored`. The deterministic
//! check of the wait, run in CI, is `crates/shmq-core/tests/inflight_wait.rs`.

mod common;

use common::{cleanup, serial, unique_name, CALL};
use shmq::mpmc::{Config, Queue};
use std::thread;

#[test]
#[ignore = "depends on the scheduler on a loaded machine; see the module docs"]
fn linearizable() {
    let _serial = serial();
    const COUNT: usize = 25_000;
    let threads = thread::available_parallelism().map_or(2, |n| n.get().clamp(2, 4));
    let name = unique_name("linearizable");
    let queue = Queue::create(
        &name,
        Config {
            capacity: threads.next_power_of_two() as u32,
            slot_size: 8,
            max_endpoints: 2 * threads as u32,
        },
    )
    .unwrap();
    thread::scope(|s| {
        for t in 0..threads {
            let mut tx = queue.sender().unwrap();
            let mut rx = queue.receiver().unwrap();
            s.spawn(move || {
                let mut buf = [0u8; 8];
                for i in 0..COUNT {
                    tx.send_value(&(i as u64), CALL).unwrap();
                    if let Err(e) = rx.try_recv(&mut buf) {
                        panic!("thread {t}, round {i}: try_recv after a send returned {e:?}");
                    }
                }
            });
        }
    });
    drop(queue);
    cleanup(&name);
}
