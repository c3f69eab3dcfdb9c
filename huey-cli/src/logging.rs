//! The log set-up of `-l`, `-v`, `-q` and `-S`: a tracing-subscriber on stderr (and the file).

use huey_core::HueyError;

use crate::cli::Cli;

/// Installs the subscriber unless one is installed already.
pub(crate) fn init_logging(cli: &Cli) -> Result<(), HueyError> {
    use tracing_subscriber::EnvFilter;
    use tracing_subscriber::fmt::writer::{BoxMakeWriter, MakeWriterExt};

    let level = if cli.verbose {
        "debug"
    } else if cli.quiet {
        "warn"
    } else {
        "info"
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(level));
    let writer = match &cli.logfile {
        Some(path) => {
            let file = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .map_err(|e| {
                    HueyError::Configuration(format!(
                        "cannot open log file {}: {e}",
                        path.display()
                    ))
                })?;
            BoxMakeWriter::new(std::io::stderr.and(std::sync::Mutex::new(file)))
        }
        None => BoxMakeWriter::new(std::io::stderr),
    };
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer);
    // Another subscriber may already be installed (a test, or the application's own): keep it.
    let _ = if cli.simple {
        builder
            .with_target(false)
            .with_level(false)
            .with_timer(tracing_subscriber::fmt::time::ChronoLocal::new(
                "%H:%M:%S".into(),
            ))
            .try_init()
    } else {
        builder.with_thread_names(true).try_init()
    };
    Ok(())
}
