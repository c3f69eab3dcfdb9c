//! `--metrics ADDR`: the consumer's Prometheus endpoint.
//!
//! The recorder is `metrics-exporter-prometheus`'s, built without its hyper listener: a scrape
//! is one small GET, answered here on the consumer's own runtime with a few lines of HTTP/1.1,
//! so the feature adds no HTTP stack to the consumer. Every path answers with the metrics.

use std::net::SocketAddr;
use std::time::Duration;

use huey_core::HueyError;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// Histogram buckets, in seconds, for run times and queue latencies: 1 ms to 5 min, so that a
/// no-op task and a report that takes minutes both land inside the range.
const BUCKETS: [f64; 16] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0,
];

/// How often histogram samples are folded into the recorder's storage (bounds its memory).
const UPKEEP: Duration = Duration::from_secs(5);

/// The longest request head read; a scrape's is a few hundred bytes.
const MAX_REQUEST: usize = 8 * 1024;

/// Installs the Prometheus recorder as the process's recorder and serves it on `addr` until
/// the process exits. Called before the consumer starts, so every task's handles are the
/// recorder's (see `huey_core::metrics`).
pub(crate) async fn serve(addr: SocketAddr) -> Result<(), HueyError> {
    let listener = TcpListener::bind(addr)
        .await
        .map_err(|e| HueyError::Configuration(format!("cannot serve metrics on {addr}: {e}")))?;
    let recorder = PrometheusBuilder::new()
        .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), &BUCKETS)
        .map_err(|e| HueyError::Configuration(format!("metrics buckets: {e}")))?
        .build_recorder();
    let handle = recorder.handle();
    metrics::set_global_recorder(recorder)
        .map_err(|_| HueyError::Configuration("a metrics recorder is installed already".into()))?;
    huey_core::metrics::describe();
    tracing::info!(%addr, "Serving metrics");
    let upkeep = handle.clone();
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval(UPKEEP);
        loop {
            ticker.tick().await;
            upkeep.run_upkeep();
        }
    });
    tokio::spawn(async move {
        loop {
            match listener.accept().await {
                Ok((stream, _)) => {
                    tokio::spawn(answer(stream, handle.clone()));
                }
                // Out of descriptors, say: wait a little rather than spin.
                Err(error) => {
                    tracing::warn!(%error, "metrics endpoint: accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
        }
    });
    Ok(())
}

/// Reads one request head (whatever it asks) and answers with the metrics; a client that is
/// slow or sends too much is dropped.
async fn answer(mut stream: TcpStream, handle: PrometheusHandle) {
    let mut head = Vec::with_capacity(512);
    let read = tokio::time::timeout(Duration::from_secs(5), async {
        let mut buf = [0u8; 1024];
        while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < MAX_REQUEST {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => return false,
                Ok(n) => head.extend_from_slice(&buf[..n]),
            }
        }
        head.len() < MAX_REQUEST
    })
    .await;
    if read != Ok(true) {
        return;
    }
    let body = handle.render();
    let response = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = stream.write_all(response.as_bytes()).await;
    let _ = stream.shutdown().await;
}
