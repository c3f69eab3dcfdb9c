//! The start-up banner: the configuration and every registered task, as `huey_consumer` logs.

use huey_core::{Huey, HueyError, Registry, TaskDescriptor};

use crate::cli::{Cli, GracefulSignal};

/// Logs the configuration and every registered task, as `huey_consumer` does at start-up.
pub(crate) fn banner(huey: &Huey, cli: &Cli) -> Result<(), HueyError> {
    let registry = Registry::global()?;
    tracing::info!(
        "Huey consumer started with {} {} worker(s), PID {}",
        cli.workers,
        cli.worker_type,
        std::process::id()
    );
    tracing::info!(
        "Scheduler runs every {} second(s); periodic tasks are {}; health checks {}; graceful signal {}",
        cli.scheduler_interval,
        if cli.no_periodic {
            "disabled"
        } else {
            "enabled"
        },
        if cli.disable_health_check {
            "disabled".to_owned()
        } else {
            format!("every {}s", cli.health_check_interval)
        },
        match cli.graceful_signal {
            GracefulSignal::Int => "SIGINT",
            GracefulSignal::Term => "SIGTERM",
        }
    );
    tracing::info!("Queue {:?} on {:?}", huey.name(), huey.storage());
    tracing::info!("Messages are {}", huey.describe_codec());
    tracing::info!("The following tasks are available:");
    for task in registry.tasks() {
        tracing::info!("+ {}{}", task.name, describe(task));
    }
    Ok(())
}

fn describe(task: &TaskDescriptor) -> String {
    let o = task.options;
    let mut parts = vec![if task.blocking { "sync" } else { "async" }.to_owned()];
    if let Some(schedule) = task.schedule {
        parts.push(format!("periodic: crontab({schedule})"));
    }
    if o.retries > 0 {
        parts.push(format!("retries={}", o.retries));
    }
    if !o.retry_delay.is_zero() {
        parts.push(format!("retry_delay={:?}", o.retry_delay));
    }
    if o.retry_backoff > 0.0 {
        parts.push(format!("retry_backoff={}", o.retry_backoff));
    }
    if o.priority != 0 {
        parts.push(format!("priority={}", o.priority));
    }
    if let Some(e) = o.expires {
        parts.push(format!("expires={e:?}"));
    }
    if let Some(t) = o.timeout {
        parts.push(format!("timeout={t:?}"));
    }
    format!(" ({})", parts.join(", "))
}
