//! The log set-up of `-l`, `-v`, `-q` and `-S`: a tracing-subscriber on stderr (and the file).

use std::io::IsTerminal;

use huey_core::HueyError;

use crate::cli::Cli;

/// Installs the subscriber unless one is installed already.
pub(crate) fn init_logging(cli: &Cli) -> Result<(), HueyError> {
    use tracing_subscriber::filter::{LevelFilter, Targets};
    use tracing_subscriber::fmt::writer::{BoxMakeWriter, MakeWriterExt};
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;

    let level = if cli.verbose {
        LevelFilter::DEBUG
    } else if cli.quiet {
        LevelFilter::WARN
    } else {
        LevelFilter::INFO
    };
    // RUST_LOG takes `level` and `target=level` directives (`warn,huey_core=debug`). A target
    // filter needs no regex engine, whose code and start-up cost a consumer would otherwise
    // carry for its whole life.
    let filter = std::env::var("RUST_LOG")
        .ok()
        .and_then(|directives| directives.parse::<Targets>().ok())
        .unwrap_or_else(|| Targets::new().with_default(level));
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
    // Colour only for a person at a terminal: not in simple lines, a log file or a pipe.
    let ansi = !cli.simple && cli.logfile.is_none() && std::io::stderr().is_terminal();
    // The formatter passes everything (its own default stops at INFO, which made -v and
    // RUST_LOG=debug show nothing more); the target filter decides.
    let builder = tracing_subscriber::fmt()
        .with_max_level(LevelFilter::TRACE)
        .with_writer(writer)
        .with_ansi(ansi);
    // Another subscriber may already be installed (a test, or the application's own): keep it.
    let _ = if cli.simple {
        builder
            .with_target(false)
            .with_level(false)
            .with_timer(LocalClock)
            .finish()
            .with(filter)
            .try_init()
    } else {
        builder
            .with_thread_names(true)
            .finish()
            .with(filter)
            .try_init()
    };
    Ok(())
}

/// The time of day in the system's time zone, `HH:MM:SS`, as Huey's simple lines show it.
/// Written against jiff, which the queue already carries for its time zones, rather than
/// tracing-subscriber's chrono timer, which would bring a second time-zone database reader
/// and a strftime engine into every consumer for eight characters.
struct LocalClock;

impl tracing_subscriber::fmt::time::FormatTime for LocalClock {
    fn format_time(&self, w: &mut tracing_subscriber::fmt::format::Writer<'_>) -> std::fmt::Result {
        let now = jiff::ZonedDateTime::now();
        write!(
            w,
            "{:02}:{:02}:{:02}",
            now.hour(),
            now.minute(),
            now.second()
        )
    }
}
