//! The huey-rs benchmark driver: producers and clients (`bench/compare.sh` drives it through
//! the Python Huey harness, which times every implementation the same way from Redis). The
//! consumer is the `huey-bench-consumer` binary.
//!
//! ```text
//! huey-bench enqueue --n 20000               # W1: one awaited enqueue per task
//! huey-bench bulk --n 200000 --chunk 0       # W1b: bulk enqueue (0 = one call)
//! huey-bench prefill --task noop --n 20000   # W2/W4 pre-fill (pipelined)
//! huey-bench latency --n 500 --warmup 20     # W3: sequential round trips, ms per line
//! huey-bench pickup --n 200                  # idle pickup: enqueue -> task start, ms per line
//! huey-bench codec --n 100000 --compress gzip --sign s3cret   # encode/decode cost, no Redis
//! ```
//!
//! `enqueue`, `bulk` and `codec` take the serializer options `--compress gzip|zlib`,
//! `--level 0-9` and `--sign SECRET`, to measure what compression and signing cost.
//!
//! The queue is `bench` on the storage `HUEY_BENCH_URL` names (`redis://…`, `postgres://…`
//! or `sqlite:PATH`), else on Redis at `HUEY_REDIS_URL` (default `redis://127.0.0.1:6379/14`):
//! keys `huey.redis.bench` and `huey.results.bench`, as the harness expects.

use std::time::{Duration, Instant};

use clap::{Parser, Subcommand};
use huey_bench::{noop, now_micros, sleep_ms, started_at};
use huey_core::prelude::*;
use huey_core::{Compression, HueyBuilder};

#[derive(Parser)]
#[command(about = "huey-rs benchmark driver")]
struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// W1: N awaited enqueue calls, one at a time.
    Enqueue {
        #[arg(long)]
        n: u64,
        #[command(flatten)]
        codec: Codec,
    },
    /// W1b: bulk enqueue of N, in chunks (0 = a single call).
    Bulk {
        #[arg(long)]
        n: u64,
        #[arg(long, default_value_t = 0)]
        chunk: usize,
        #[command(flatten)]
        codec: Codec,
        #[command(flatten)]
        record: Record,
    },
    /// The serializer alone, no storage: N messages encoded, then decoded; ns per message.
    Codec {
        #[arg(long)]
        n: usize,
        #[command(flatten)]
        codec: Codec,
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

/// Serializer options for the producer.
#[derive(clap::Args, Default)]
struct Codec {
    /// Compress messages and results.
    #[arg(long, value_parser = ["gzip", "zlib"])]
    compress: Option<String>,
    /// Compression level, 0-9.
    #[arg(long, default_value_t = 6)]
    level: u32,
    /// Sign messages with this secret.
    #[arg(long)]
    sign: Option<String>,
}

impl Codec {
    fn apply(&self, builder: HueyBuilder) -> HueyBuilder {
        let level = self.level;
        let builder = builder.compression(match self.compress.as_deref() {
            Some("gzip") => Compression::Gzip { level },
            Some("zlib") => Compression::Zlib { level },
            _ => Compression::None,
        });
        match &self.sign {
            Some(secret) => builder.signing_secret(secret),
            None => builder,
        }
    }

    /// A variant name for result lines: `plain`, `gzip6`, `signed`, `zlib6+signed`, ...
    fn variant(&self) -> String {
        let compress = self.compress.as_ref().map(|c| format!("{c}{}", self.level));
        let sign = self.sign.as_ref().map(|_| "signed".to_owned());
        let parts: Vec<String> = compress.into_iter().chain(sign).collect();
        if parts.is_empty() {
            "plain".to_owned()
        } else {
            parts.join("+")
        }
    }
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

async fn huey(codec: &Codec) -> Result<Huey, HueyError> {
    huey_bench::connect_url(codec.apply(Huey::builder("bench"))).await
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    match args.command {
        Command::Enqueue { n, codec } => {
            let huey = huey(&codec).await?;
            huey.pending_count().await?; // connected before the clock starts
            let started = Instant::now();
            for i in 0..n {
                let _ = noop::enqueue(&huey, i).await?;
            }
            let elapsed = started.elapsed().as_secs_f64();
            println!("elapsed_s={elapsed}");
            println!(
                "tasks_per_s={:.0} ({})",
                n as f64 / elapsed,
                codec.variant()
            );
        }
        Command::Bulk {
            n,
            chunk,
            codec,
            record,
        } => {
            let huey = huey(&codec).await?;
            huey.pending_count().await?;
            let chunk = if chunk == 0 { n as usize } else { chunk };
            let items: Vec<u64> = (0..n).collect();
            let started = Instant::now();
            for part in items.chunks(chunk) {
                let _ = noop::map(&huey, part.iter().copied()).await?;
            }
            let elapsed = started.elapsed().as_secs_f64();
            println!("elapsed_s={elapsed}");
            println!(
                "tasks_per_s={:.0} ({})",
                n as f64 / elapsed,
                codec.variant()
            );
            let queued = huey.pending_count().await?;
            if queued as u64 != n {
                return Err(format!("expected {n} queued, found {queued}").into());
            }
            let mut variant = if chunk == n as usize {
                "one-call".to_owned()
            } else {
                format!("chunk{chunk}")
            };
            if codec.variant() != "plain" {
                variant = format!("{variant}-{}", codec.variant());
            }
            record.write(
                "W1b",
                &variant,
                n,
                &[("tasks_per_s", n as f64 / elapsed), ("elapsed_s", elapsed)],
            )?;
            huey.flush().await?;
        }
        Command::Codec { n, codec } => {
            let huey = codec
                .apply(Huey::builder("bench"))
                .build(MemoryStorage::new());
            let messages = (0..n as u64)
                .map(|i| noop::call(i).into_message())
                .collect::<Result<Vec<_>, _>>()?;
            let started = Instant::now();
            let stored: Vec<Vec<u8>> = messages.iter().map(|m| huey.encode_message(m)).collect();
            let encode = started.elapsed();
            let started = Instant::now();
            for bytes in &stored {
                huey.decode_message(bytes)?;
            }
            let decode = started.elapsed();
            let per = |d: Duration| d.as_nanos() as f64 / n.max(1) as f64;
            let bytes = stored.iter().map(Vec::len).sum::<usize>() as f64 / n.max(1) as f64;
            println!(
                "{}: encode_ns={:.0} decode_ns={:.0} bytes={bytes:.0}",
                codec.variant(),
                per(encode),
                per(decode)
            );
        }
        Command::Prefill { task, n, arg } => {
            let huey = huey(&Codec::default()).await?;
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
            let huey = huey(&Codec::default()).await?;
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
            let huey = huey(&Codec::default()).await?;
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
