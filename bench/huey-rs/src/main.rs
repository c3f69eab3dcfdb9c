//! The huey-rs side of the benchmarks (`bench/compare.sh` drives it through the Python Huey
//! harness, which times every implementation the same way from Redis).
//!
//! ```text
//! huey-bench consumer -w 8 -k async          # the consumer (run_cli flags)
//! huey-bench enqueue --n 20000               # W1: one awaited enqueue per task
//! huey-bench bulk --n 200000 --chunk 0       # W1b: bulk enqueue (0 = one call)
//! huey-bench prefill --task noop --n 20000   # W2/W4 pre-fill (pipelined)
//! huey-bench latency --n 500 --warmup 20     # W3: sequential round trips, ms per line
//! huey-bench pickup --n 200                  # idle pickup: enqueue -> task start, ms per line
//! ```
//!
//! The queue is `bench` on `HUEY_REDIS_URL` (default `redis://127.0.0.1:6379/14`): keys
//! `huey.redis.bench` and `huey.results.bench`, as the harness expects.

use std::time::{Duration, Instant};

use clap::{Parser, Subcommand};
use huey_core::prelude::*;
use huey_redis::RedisStorage;

/// Does nothing and returns its argument (stored as the result).
#[task(name = "tasks.noop")]
async fn noop(i: u64) -> u64 {
    i
}

/// Sleeps without using CPU.
#[task(name = "tasks.sleep_ms")]
async fn sleep_ms(ms: u64) -> u64 {
    tokio::time::sleep(Duration::from_millis(ms)).await;
    ms
}

/// Returns when it started, in microseconds since the epoch (for the pickup latency).
#[task(name = "tasks.started_at")]
async fn started_at() -> i64 {
    now_micros()
}

fn now_micros() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_micros() as i64)
        .unwrap_or_default()
}

#[derive(Parser)]
#[command(about = "huey-rs benchmark driver")]
struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Runs the consumer (the flags are run_cli's, after `--`).
    Consumer {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        flags: Vec<String>,
    },
    /// W1: N awaited enqueue calls, one at a time.
    Enqueue {
        #[arg(long)]
        n: u64,
    },
    /// W1b: bulk enqueue of N, in chunks (0 = a single call).
    Bulk {
        #[arg(long)]
        n: u64,
        #[arg(long, default_value_t = 0)]
        chunk: usize,
        #[command(flatten)]
        record: Record,
    },
    /// Fills the queue with N tasks (not timed).
    Prefill {
        #[arg(long)]
        task: String,
        #[arg(long)]
        n: u64,
        #[arg(long)]
        arg: Option<String>,
    },
    /// W3: N sequential enqueue -> typed result round trips after a warm-up; ms per line.
    Latency {
        #[arg(long)]
        n: usize,
        #[arg(long, default_value_t = 20)]
        warmup: usize,
    },
    /// The timer ceiling for W4: how long `concurrency` concurrent `sleep(ms)` really take on
    /// this runtime, as a percentage of `ms`.
    Sleepcal {
        #[arg(long, default_value_t = 10)]
        ms: u64,
        #[arg(long, default_value_t = 64)]
        concurrency: usize,
        #[arg(long, default_value_t = 20)]
        rounds: usize,
        #[command(flatten)]
        record: Record,
    },
    /// Idle pickup: enqueue onto an idle queue, measure until the task starts; ms per line.
    Pickup {
        #[arg(long)]
        n: usize,
        #[command(flatten)]
        record: Record,
    },
}

/// Where to append a JSON result line (the harness' format: impl, workload, variant, rep).
#[derive(clap::Args)]
struct Record {
    /// A JSON-lines file to append the result to.
    #[arg(long)]
    out: Option<std::path::PathBuf>,
    /// The round number.
    #[arg(long, default_value_t = 1)]
    rep: u32,
}

impl Record {
    fn write(
        &self,
        workload: &str,
        variant: &str,
        n: u64,
        metrics: &[(&str, f64)],
    ) -> std::io::Result<()> {
        use std::io::Write;
        let Some(path) = &self.out else { return Ok(()) };
        let fields: Vec<String> = metrics
            .iter()
            .map(|(k, v)| format!("\"{k}\":{v}"))
            .collect();
        let line = format!(
            "{{\"impl\":\"huey-rs\",\"workload\":\"{workload}\",\"variant\":\"{variant}\",\"rep\":{},\"n\":{n},{}}}",
            self.rep,
            fields.join(",")
        );
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)?;
        writeln!(file, "{line}")
    }
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil().max(1.0) as usize;
    sorted[rank.min(sorted.len()) - 1]
}

async fn huey() -> Result<Huey, HueyError> {
    let url =
        std::env::var("HUEY_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379/14".to_owned());
    Ok(Huey::new("bench", RedisStorage::connect(&url).await?))
}

// As the consumer example: async workers on one runtime thread.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    match args.command {
        Command::Consumer { flags } => {
            let mut argv = vec!["huey-bench consumer".to_owned()];
            argv.extend(flags);
            let cli = huey_core::consumer::Cli::parse_from(argv);
            huey_core::consumer::run_cli_with(huey().await?, cli).await?;
        }
        Command::Enqueue { n } => {
            let huey = huey().await?;
            huey.pending_count().await?; // connected before the clock starts
            let started = Instant::now();
            for i in 0..n {
                let _ = noop::enqueue(&huey, i).await?;
            }
            println!("elapsed_s={}", started.elapsed().as_secs_f64());
        }
        Command::Bulk { n, chunk, record } => {
            let huey = huey().await?;
            huey.pending_count().await?;
            let chunk = if chunk == 0 { n as usize } else { chunk };
            let items: Vec<u64> = (0..n).collect();
            let started = Instant::now();
            for part in items.chunks(chunk) {
                let _ = noop::map(&huey, part.iter().copied()).await?;
            }
            let elapsed = started.elapsed().as_secs_f64();
            println!("elapsed_s={elapsed}");
            println!("tasks_per_s={:.0}", n as f64 / elapsed);
            let queued = huey.pending_count().await?;
            if queued as u64 != n {
                return Err(format!("expected {n} queued, found {queued}").into());
            }
            let variant = if chunk == n as usize {
                "one-call".to_owned()
            } else {
                format!("chunk{chunk}")
            };
            record.write(
                "W1b",
                &variant,
                n,
                &[("tasks_per_s", n as f64 / elapsed), ("elapsed_s", elapsed)],
            )?;
            huey.flush().await?;
        }
        Command::Prefill { task, n, arg } => {
            let huey = huey().await?;
            let chunk = 10_000;
            let items: Vec<u64> = (0..n).collect();
            for part in items.chunks(chunk) {
                match task.as_str() {
                    "noop" => {
                        let _ = noop::map(&huey, part.iter().copied()).await?;
                    }
                    "sleep_ms" => {
                        let ms: u64 = arg.as_deref().unwrap_or("10").parse()?;
                        let _ = sleep_ms::map(&huey, part.iter().map(|_| ms)).await?;
                    }
                    other => return Err(format!("unknown task {other}").into()),
                }
            }
        }
        Command::Latency { n, warmup } => {
            let huey = huey().await?;
            for i in 0..(warmup + n) {
                let started = Instant::now();
                let mut result = noop::enqueue(&huey, i as u64).await?;
                let value = result.wait(Duration::from_secs(30)).await?;
                let elapsed = started.elapsed();
                if value != i as u64 {
                    return Err(format!("round trip {i} returned {value}").into());
                }
                if i >= warmup {
                    println!("{:.4}", elapsed.as_secs_f64() * 1000.0);
                }
            }
        }
        Command::Sleepcal {
            ms,
            concurrency,
            rounds,
            record,
        } => {
            let mut samples = Vec::with_capacity(concurrency * rounds);
            for _ in 0..rounds {
                let mut sleeps = tokio::task::JoinSet::new();
                for _ in 0..concurrency {
                    sleeps.spawn(async move {
                        let started = Instant::now();
                        tokio::time::sleep(Duration::from_millis(ms)).await;
                        started.elapsed().as_secs_f64() * 1000.0
                    });
                }
                while let Some(slept) = sleeps.join_next().await {
                    samples.push(slept?);
                }
            }
            let mean = samples.iter().sum::<f64>() / samples.len() as f64;
            let ceiling = ms as f64 / mean * 100.0;
            println!("mean_ms={mean:.3} ceiling_pct={ceiling:.1}");
            record.write(
                "SLEEP",
                &format!("c{concurrency}"),
                samples.len() as u64,
                &[("mean_ms", mean), ("efficiency_pct", ceiling)],
            )?;
        }
        Command::Pickup { n, record } => {
            let huey = huey().await?;
            let mut samples = Vec::with_capacity(n);
            for _ in 0..n {
                // Let the consumer go idle (blocked on the empty queue) before each sample.
                tokio::time::sleep(Duration::from_millis(20)).await;
                let sent = now_micros();
                let mut result = started_at::enqueue(&huey).await?;
                let started = result.wait(Duration::from_secs(30)).await?;
                let ms = (started - sent) as f64 / 1000.0;
                println!("{ms:.4}");
                samples.push(ms);
            }
            samples.sort_by(f64::total_cmp);
            record.write(
                "pickup",
                "idle",
                n as u64,
                &[
                    ("p50_ms", percentile(&samples, 50.0)),
                    ("p99_ms", percentile(&samples, 99.0)),
                    ("max_ms", percentile(&samples, 100.0)),
                ],
            )?;
        }
    }
    Ok(())
}
