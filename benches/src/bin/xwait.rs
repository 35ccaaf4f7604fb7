//! Blocking waits across two processes (issue #4): what parking costs.
//!
//! ```text
//! cargo run --release -p shmq-benches --bin xwait            # membarrier protocol
//! SHMQ_NO_MEMBARRIER=1 cargo run --release -p shmq-benches --bin xwait   # fence(SeqCst) per message
//! ```
//!
//! Each case runs the parent on core 0 and a re-executed peer on core 1, and
//! every figure is printed next to the floor measured in the same run (a
//! cache-line ping-pong between the two processes), because this VM changes
//! speed level between runs. Figures are means over many rounds.
//! - `floor`: two atomics bounced between the processes (round trip);
//! - `futex`: a bare shared-futex ping-pong (each side sleeps every round);
//! - `pipe`: an 8-byte pipe ping-pong;
//! - `park-rtt`: a round trip through two shmq queues, both ends parked
//!   (`WaitMode::Park`): the target is ≤ 1.1× `futex`;
//! - `spin-rtt` / `stp-rtt`: round trip through two queues in pure spin and in
//!   spin-then-park mode (replies arrive within the spin window): ≤ 1.1×;
//! - `spin-stream` / `stp-stream`: u64 streaming in both modes: ≥ 0.9×.

use rustix::thread::futex;
use shmq::spsc::{Config, Queue};
use shmq::WaitMode;
use std::io::{Read, Write};
use std::os::fd::{FromRawFd, IntoRawFd};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

const FLOOR_ROUNDS: u32 = 200_000;
const PARK_ROUNDS: u32 = 20_000;
const SPIN_ROUNDS: u32 = 200_000;
const STREAM: u64 = 20_000_000;

fn pin(core: usize) {
    let mut set = rustix::thread::CpuSet::new();
    set.set(core);
    let _ = rustix::thread::sched_setaffinity(None, &set);
}

/// Two words on separate lines of a fresh /dev/shm file.
struct Words {
    map: memmap2::MmapRaw,
}
impl Words {
    fn create(name: &str) -> Self {
        let f = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(format!("/dev/shm/{name}"))
            .unwrap();
        f.set_len(4096).unwrap();
        Self::open(name)
    }
    fn open(name: &str) -> Self {
        let f = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(format!("/dev/shm/{name}"))
            .unwrap();
        Words {
            map: memmap2::MmapOptions::new().len(4096).map_raw(&f).unwrap(),
        }
    }
    fn w(&self, i: usize) -> &AtomicU32 {
        // SAFETY: 4096-byte page-aligned mapping, offsets 0 and 128 in bounds
        // and aligned; the words are only accessed atomically.
        unsafe { AtomicU32::from_ptr(self.map.as_mut_ptr().add(i * 128).cast()) }
    }
}

fn spin_until(w: &AtomicU32, v: u32) {
    while w.load(Ordering::Acquire) != v {
        std::hint::spin_loop();
    }
}

fn futex_until(w: &AtomicU32, v: u32) {
    loop {
        let cur = w.load(Ordering::Acquire);
        if cur == v {
            return;
        }
        let _ = futex::wait(w, futex::Flags::empty(), cur, None);
    }
}

fn set_wake(w: &AtomicU32, v: u32) {
    w.store(v, Ordering::Release);
    let _ = futex::wake(w, futex::Flags::empty(), 1);
}

fn mode(name: &str) -> WaitMode {
    match name {
        "spin" => WaitMode::Spin,
        "park" => WaitMode::Park,
        _ => WaitMode::default(),
    }
}

fn peer(args: &[String]) {
    pin(1);
    let (case, name) = (args[0].as_str(), args[1].as_str());
    match case {
        "floor" => {
            let w = Words::open(name);
            for i in 1..=FLOOR_ROUNDS {
                spin_until(w.w(0), i);
                w.w(1).store(i, Ordering::Release);
            }
        }
        "futex" => {
            let w = Words::open(name);
            for i in 1..=PARK_ROUNDS {
                futex_until(w.w(0), i);
                set_wake(w.w(1), i);
            }
        }
        "pipe" => {
            // SAFETY: fds 3 and 4 were set up by the parent for this child.
            let (mut r, mut wr) =
                unsafe { (std::fs::File::from_raw_fd(3), std::fs::File::from_raw_fd(4)) };
            let mut b = [0u8; 8];
            for _ in 0..PARK_ROUNDS {
                r.read_exact(&mut b).unwrap();
                wr.write_all(&b).unwrap();
            }
        }
        "rtt" => {
            let m = mode(&args[2]);
            let rounds: u32 = args[3].parse().unwrap();
            let a = Queue::open(&format!("{name}-a")).unwrap();
            let b = Queue::open(&format!("{name}-b")).unwrap();
            let mut rx = a.receiver().unwrap();
            let mut tx = b.sender().unwrap();
            rx.set_wait_mode(m);
            tx.set_wait_mode(m);
            for _ in 0..rounds {
                let v: u64 = rx.recv_value_blocking().unwrap();
                tx.send_value_blocking(&v).unwrap();
            }
        }
        "stream" => {
            let m = mode(&args[2]);
            let q = Queue::open(name).unwrap();
            let mut tx = q.sender().unwrap();
            tx.set_wait_mode(m);
            for i in 0..STREAM {
                tx.send_value_blocking(&i).unwrap();
            }
        }
        other => panic!("unknown case {other}"),
    }
}

fn spawn(args: &[&str]) -> std::process::Child {
    Command::new(std::env::current_exe().unwrap())
        .arg("__peer")
        .args(args)
        .stdin(Stdio::null())
        .spawn()
        .unwrap()
}

/// Round trip of the floor, in ns.
fn floor() -> f64 {
    let name = format!("xwait-floor-{}", std::process::id());
    let w = Words::create(&name);
    let mut c = spawn(&["floor", &name]);
    let t = Instant::now();
    for i in 1..=FLOOR_ROUNDS {
        w.w(0).store(i, Ordering::Release);
        spin_until(w.w(1), i);
    }
    let ns = t.elapsed().as_nanos() as f64 / f64::from(FLOOR_ROUNDS);
    c.wait().unwrap();
    let _ = std::fs::remove_file(format!("/dev/shm/{name}"));
    ns
}

fn futex_rtt() -> f64 {
    let name = format!("xwait-futex-{}", std::process::id());
    let w = Words::create(&name);
    let mut c = spawn(&["futex", &name]);
    let t = Instant::now();
    for i in 1..=PARK_ROUNDS {
        set_wake(w.w(0), i);
        futex_until(w.w(1), i);
    }
    let ns = t.elapsed().as_nanos() as f64 / f64::from(PARK_ROUNDS);
    c.wait().unwrap();
    let _ = std::fs::remove_file(format!("/dev/shm/{name}"));
    ns
}

fn pipe_rtt() -> f64 {
    let (r1, w1) = rustix::pipe::pipe().unwrap();
    let (r2, w2) = rustix::pipe::pipe().unwrap();
    let (r1, w2) = (r1.into_raw_fd(), w2.into_raw_fd());
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.args(["__peer", "pipe", "-"]);
    // SAFETY: dup2 in the child before exec, of descriptors that are open.
    unsafe {
        use std::os::unix::process::CommandExt;
        cmd.pre_exec(move || {
            if libc_dup2(r1, 3) && libc_dup2(w2, 4) {
                Ok(())
            } else {
                Err(std::io::Error::last_os_error())
            }
        });
    }
    let mut c = cmd.spawn().unwrap();
    let mut w = std::fs::File::from(w1);
    let mut r = std::fs::File::from(r2);
    let mut b = [7u8; 8];
    let t = Instant::now();
    for _ in 0..PARK_ROUNDS {
        w.write_all(&b).unwrap();
        r.read_exact(&mut b).unwrap();
    }
    let ns = t.elapsed().as_nanos() as f64 / f64::from(PARK_ROUNDS);
    c.wait().unwrap();
    ns
}

fn libc_dup2(from: i32, to: i32) -> bool {
    // SAFETY: both are plain descriptor numbers; dup2 has no memory effects.
    let from = unsafe { std::os::fd::BorrowedFd::borrow_raw(from) };
    // SAFETY: `to` (3 or 4) is replaced atomically by dup2 in the child.
    let mut to = unsafe { std::os::fd::OwnedFd::from_raw_fd(to) };
    let ok = rustix::io::dup2(from, &mut to).is_ok();
    std::mem::forget(to);
    ok
}

fn shmq_rtt(m: &str, rounds: u32) -> f64 {
    let name = format!("xwait-rtt-{}-{m}", std::process::id());
    let cfg = Config {
        capacity: 64,
        slot_size: 8,
    };
    let a = Queue::create(&format!("{name}-a"), cfg).unwrap();
    let b = Queue::create(&format!("{name}-b"), cfg).unwrap();
    let mut tx = a.sender().unwrap();
    let mut rx = b.receiver().unwrap();
    tx.set_wait_mode(mode(m));
    rx.set_wait_mode(mode(m));
    let mut c = spawn(&["rtt", &name, m, &rounds.to_string()]);
    // Warm-up round (the peer opens the queues).
    let t0 = Instant::now();
    tx.send_value_blocking(&0u64).unwrap();
    let _: u64 = rx.recv_value_blocking().unwrap();
    let _ = t0;
    let t = Instant::now();
    for i in 1..rounds as u64 {
        tx.send_value_blocking(&i).unwrap();
        let v: u64 = rx.recv_value_blocking().unwrap();
        assert_eq!(v, i);
    }
    let ns = t.elapsed().as_nanos() as f64 / f64::from(rounds - 1);
    c.wait().unwrap();
    let w = (a.stats().wait, b.stats().wait);
    eprintln!(
        "    {m} rtt counters: a {:?}\n                      b {:?}",
        w.0, w.1
    );
    ns
}

fn shmq_stream(m: &str) -> f64 {
    let name = format!("xwait-stream-{}-{m}", std::process::id());
    let q = Queue::create(
        &name,
        Config {
            capacity: 1024,
            slot_size: 8,
        },
    )
    .unwrap();
    let mut rx = q.receiver().unwrap();
    rx.set_wait_mode(mode(m));
    let mut c = spawn(&["stream", &name, m]);
    let first: u64 = rx.recv_value_blocking().unwrap();
    assert_eq!(first, 0);
    let t = Instant::now();
    for i in 1..STREAM {
        let v: u64 = rx.recv_value_blocking().unwrap();
        debug_assert_eq!(v, i);
    }
    let ns = t.elapsed().as_nanos() as f64 / (STREAM - 1) as f64;
    c.wait().unwrap();
    eprintln!("    {m} stream counters: {:?}", q.stats().wait);
    ns
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("__peer") {
        return peer(&args[1..]);
    }
    pin(0);
    let fence = std::env::var_os("SHMQ_NO_MEMBARRIER").is_some();
    println!(
        "xwait: publisher barrier = {}",
        if fence {
            "fence(SeqCst) (SHMQ_NO_MEMBARRIER)"
        } else {
            "compiler fence + sleeper membarrier (if the kernel has it)"
        }
    );
    let f = floor();
    println!("floor (cache-line ping-pong RTT)         {f:9.0} ns");
    let fx = futex_rtt();
    let pp = pipe_rtt();
    let park = shmq_rtt("park", PARK_ROUNDS);
    let f2 = floor();
    println!("bare futex ping-pong RTT                 {fx:9.0} ns   floor {f2:.0} ns");
    println!("pipe ping-pong RTT (8 B)                 {pp:9.0} ns");
    println!(
        "shmq parked RTT (two queues, Park)       {park:9.0} ns   = {:.2}x futex (target <= 1.10)",
        park / fx
    );
    let spin = shmq_rtt("spin", SPIN_ROUNDS);
    let stp = shmq_rtt("stp", SPIN_ROUNDS);
    let f3 = floor();
    println!("shmq RTT, pure spin                      {spin:9.0} ns   floor {f3:.0} ns");
    println!(
        "shmq RTT, spin-then-park                 {stp:9.0} ns   = {:.2}x spin (target <= 1.10)",
        stp / spin
    );
    let s_spin = shmq_stream("spin");
    let s_stp = shmq_stream("stp");
    let f4 = floor();
    println!("shmq stream u64, pure spin               {s_spin:9.2} ns/msg   floor {f4:.0} ns");
    println!(
        "shmq stream u64, spin-then-park          {s_stp:9.2} ns/msg   throughput = {:.2}x spin (target >= 0.90)",
        s_spin / s_stp
    );
    let _ = Duration::ZERO;
}
