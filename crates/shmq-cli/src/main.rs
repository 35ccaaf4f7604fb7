//! `shmq`: see, drive, clean up and benchmark shmq queues from a shell.
//!
//! Every subcommand is a thin layer over the library: [`shmq::admin`] for
//! `ls`, `stat`, `rm` and `gc`, the queue types for `create`, `send` and
//! `recv`. See `docs/cli.md`.

mod bench;
mod kinds;
mod pipe;
mod show;

use clap::{Parser, Subcommand};
use shmq_core::layout::QueueKind;
use std::process::ExitCode;
use std::time::Duration;

/// See, drive, clean up and benchmark shmq queues (shared-memory queues in /dev/shm).
#[derive(Debug, Parser)]
#[command(
    name = "shmq",
    version,
    after_help = "\
Examples:
  shmq ls                              every queue, its roles and fill level
  shmq stat jobs --watch               counters of one queue, with rates
  shmq create jobs --capacity 4096     a persistent SPSC queue
  printf 'a\\nb\\n' | shmq send jobs     one message per line
  shmq recv jobs --count 2 --timeout 5s
  shmq gc --dry-run                    what a sweep would remove
  shmq bench --json                    quick cross-process latency"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// List every shmq queue in /dev/shm (recognised by its header, not its name).
    #[command(after_help = "\
Columns: name, kind, capacity (slots), slot size and file size in bytes,
senders and receivers (alive/dead holders, or free), messages queued,
poisoned, age. A region that is recognised but broken is listed with what is
wrong, and the exit status is then 1.

Examples:
  shmq ls
  shmq ls --all        also other files of /dev/shm, with why they are not queues
  shmq ls --json | jq '.[] | select(.poisoned)'")]
    Ls {
        /// Also list files that are not shmq queues.
        #[arg(long)]
        all: bool,
        /// Print a JSON array instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Show one queue: header, geometry, every counter, endpoint table.
    #[command(after_help = "\
Exit status 1 if the region is missing, not a shmq queue, or broken
(scribbled or truncated); the message says what is wrong.

Examples:
  shmq stat jobs
  shmq stat jobs --json
  shmq stat jobs --watch                  refresh every second with rates
  shmq stat jobs --watch --interval 200ms --iterations 10")]
    Stat {
        /// Queue name (a file name in /dev/shm).
        name: String,
        /// Print a JSON object instead of text.
        #[arg(long)]
        json: bool,
        /// Refresh until interrupted, with rates per second.
        #[arg(long)]
        watch: bool,
        /// Time between refreshes with --watch (e.g. 500ms, 2s).
        #[arg(long, default_value = "1s", value_parser = parse_duration)]
        interval: Duration,
        /// With --watch: stop after this many refreshes.
        #[arg(long)]
        iterations: Option<u64>,
    },
    /// Create a queue (persistent unless --hold).
    #[command(after_help = "\
The queue outlives this command (it is marked persistent, so `shmq gc`
leaves it alone) until `shmq rm`. With --hold the command keeps the queue
until its standard input ends, then removes it; if it is killed instead,
the queue is left without creator and `shmq gc` removes it once no
endpoint uses it.

Kinds: spsc (one sender, one receiver, fixed slots), mpmc (many senders
and receivers, each message to one receiver), bytes (one sender, one
receiver, variable-length records: --capacity is the ring's size in bytes,
--slot-size the largest message, at most capacity/2 - 16), dense (one
sender, one receiver, every message exactly --slot-size bytes).

Examples:
  shmq create jobs
  shmq create jobs --kind mpmc --capacity 4096 --slot-size 256 --endpoints 32
  shmq create frames --kind bytes --capacity 1048576 --slot-size 65536
  shmq create ticks --kind dense --capacity 65536 --slot-size 8
  shmq create scratch --hold < /dev/null   (created, then removed at once)")]
    Create {
        /// Queue name: 1 to 200 characters of A-Z a-z 0-9 . _ - (not starting with '.').
        name: String,
        /// Queue kind.
        #[arg(long, value_parser = kinds::parser(), default_value = "spsc")]
        kind: QueueKind,
        /// Number of slots, a power of two (bytes: ring size in bytes).
        #[arg(long, default_value_t = 1024)]
        capacity: u32,
        /// Largest message in bytes (dense: the size of every message).
        #[arg(long, default_value_t = 64)]
        slot_size: u32,
        /// MPMC: most senders plus receivers attached at once.
        #[arg(long, default_value_t = 16)]
        endpoints: u32,
        /// Keep the queue only while this command runs (until stdin ends).
        #[arg(long)]
        hold: bool,
    },
    /// Remove queues by name (processes that have them open keep their mapping).
    #[command(after_help = "\
Refuses a file that is not a shmq queue unless --force. Does not check
whether the queue is in use: `shmq gc` removes only unused ones.

Examples:
  shmq rm jobs
  shmq rm a b c
  shmq rm --force half-made")]
    Rm {
        /// Queue names.
        #[arg(required = true)]
        names: Vec<String>,
        /// Remove even a file not recognised as a shmq queue.
        #[arg(long)]
        force: bool,
    },
    /// Send each line of stdin (or each --value) as one message.
    #[command(after_help = "\
Takes a sender role like any endpoint (for SPSC, fails if another sender
is alive). Without --timeout a full queue is waited for as long as its
receiver lives; a receiver that is gone ends the command with an error.

Examples:
  printf 'a\\nb\\n' | shmq send jobs
  shmq send jobs --value hello --value world
  tail -f log | shmq send jobs --timeout 1s")]
    Send {
        /// Queue name.
        name: String,
        /// Send this message instead of reading stdin (repeatable).
        #[arg(long)]
        value: Vec<String>,
        /// Give up on a message that finds no room for this long (e.g. 500ms).
        #[arg(long, value_parser = parse_duration)]
        timeout: Option<Duration>,
    },
    /// Receive messages to stdout, one per line.
    #[command(after_help = "\
Takes a receiver role like any endpoint. Without --timeout or --follow it
prints what is queued now and exits. With --timeout it waits up to that
long for each next message; it ends when the senders are gone and the
queue is drained. With --follow it waits for ever (senders may come and
go). With --count it stops after that many messages and exits 1 if fewer
came.

Examples:
  shmq recv jobs
  shmq recv jobs --count 10 --timeout 5s
  shmq recv jobs --follow --hex")]
    Recv {
        /// Queue name.
        name: String,
        /// Stop after this many messages.
        #[arg(long)]
        count: Option<u64>,
        /// Wait up to this long for each next message (e.g. 250ms, 5s).
        #[arg(long, value_parser = parse_duration)]
        timeout: Option<Duration>,
        /// Keep waiting for messages until interrupted.
        #[arg(long)]
        follow: bool,
        /// Print each message as hexadecimal.
        #[arg(long)]
        hex: bool,
    },
    /// Remove queues nobody can still use (no creator, no endpoint, not persistent).
    #[command(after_help = "\
A queue is removed only when no lock is held on it (its creator's, any
role's, any endpoint's) and it is not marked persistent; a queue being
created or used is never removed. Broken or half-made regions are kept
(and listed): remove them with `shmq rm`.

Examples:
  shmq gc --dry-run
  shmq gc
  shmq gc --prefix myapp-          only queues whose name starts so
  shmq gc jobs results             only these queues
  shmq gc --json")]
    Gc {
        /// Only these queues (default: every queue in /dev/shm).
        names: Vec<String>,
        /// Only queues whose name starts with this.
        #[arg(long, default_value = "")]
        prefix: String,
        /// Only list what would be removed.
        #[arg(long)]
        dry_run: bool,
        /// Print a JSON array.
        #[arg(long)]
        json: bool,
    },
    /// Quick cross-process benchmark: floor, ping-pong percentiles, stream.
    #[command(after_help = "\
Spawns a second shmq process and measures, between the two: the floor (two
processes bouncing an atomic on two cache lines: what the hardware
allows), the round trip of a u64 over two SPSC queues (p50/p99/p99.9/max),
and a stream of u64 messages (time per message). Figures vary with
machine load and with where the two processes run: compare them with the
floor of the same run.

Examples:
  shmq bench
  shmq bench --rounds 1000000 --messages 10000000
  shmq bench --json")]
    Bench {
        /// Round trips measured (per phase, after a warm-up of a tenth).
        #[arg(long, default_value_t = 100_000)]
        rounds: u64,
        /// Messages of the stream phase.
        #[arg(long, default_value_t = 1_000_000)]
        messages: u64,
        /// Print a JSON object.
        #[arg(long)]
        json: bool,
        /// No progress bar.
        #[arg(long)]
        quiet: bool,
    },
    /// The benchmark's second process (internal).
    #[command(name = "__bench-peer", hide = true)]
    BenchPeer {
        /// Prefix of the benchmark's regions.
        prefix: String,
        /// Round trips, warm-up included.
        rounds: u64,
        /// Stream messages.
        messages: u64,
    },
}

/// Parses `250ms`, `5s`, `1.5s`, `2m`, `100us`, `10ns` or a plain number of seconds.
fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let split = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let value: f64 = num
        .parse()
        .map_err(|_| format!("invalid duration {s:?} (e.g. 500ms, 5s)"))?;
    let scale = match unit.trim() {
        "" | "s" => 1.0,
        "ms" => 1e-3,
        "us" | "µs" => 1e-6,
        "ns" => 1e-9,
        "m" | "min" => 60.0,
        "h" => 3600.0,
        other => {
            return Err(format!(
                "unknown duration unit {other:?} (ns, us, ms, s, m, h)"
            ))
        }
    };
    Duration::try_from_secs_f64(value * scale).map_err(|e| format!("invalid duration {s:?}: {e}"))
}

/// An error to print before exiting with status 1.
type Failure = Box<dyn std::error::Error>;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Ls { all, json } => show::ls(all, json),
        Command::Stat {
            name,
            json,
            watch,
            interval,
            iterations,
        } => show::stat(&name, json, watch.then_some((interval, iterations))),
        Command::Create {
            name,
            kind,
            capacity,
            slot_size,
            endpoints,
            hold,
        } => pipe::create(&name, kind, capacity, slot_size, endpoints, hold),
        Command::Rm { names, force } => show::rm(&names, force),
        Command::Send {
            name,
            value,
            timeout,
        } => pipe::send(&name, &value, timeout),
        Command::Recv {
            name,
            count,
            timeout,
            follow,
            hex,
        } => pipe::recv(&name, count, timeout, follow, hex),
        Command::Gc {
            names,
            prefix,
            dry_run,
            json,
        } => show::gc(&names, &prefix, dry_run, json),
        Command::Bench {
            rounds,
            messages,
            json,
            quiet,
        } => bench::run(rounds, messages, json, quiet),
        Command::BenchPeer {
            prefix,
            rounds,
            messages,
        } => bench::peer(&prefix, rounds, messages),
    };
    match result {
        Ok(code) => code,
        // A reader that went away (`shmq ls | head`) is not an error.
        Err(e)
            if e.downcast_ref::<std::io::Error>()
                .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe) =>
        {
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("shmq: {e}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse() {
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("2"), Ok(Duration::from_secs(2)));
        assert_eq!(parse_duration("1.5s"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert!(parse_duration("soon").is_err());
        assert!(parse_duration("5parsecs").is_err());
    }

    #[test]
    fn cli_definition_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
