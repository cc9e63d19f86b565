//! Tracing setup: diagnostics go to stderr (stdout is for results only), text or
//! JSON, with `-v`/`-vv` or `RUST_LOG` choosing the level. Colour only on a terminal
//! and never when NO_COLOR is set.

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

use crate::settings::LogStyle;

/// Whether colour may be used on stderr.
pub fn colour_allowed() -> bool {
    std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()) && std::io::stderr().is_terminal()
}

/// The log format chosen at start (text until [`init`] runs).
static STYLE: std::sync::OnceLock<LogStyle> = std::sync::OnceLock::new();

/// Whether stderr is text or JSON lines: what is printed there outside tracing
/// (the failed rows at the end of a run) follows it.
pub fn style() -> LogStyle {
    STYLE.get().copied().unwrap_or(LogStyle::Text)
}

/// Install the global subscriber. `quiet` keeps warnings and errors only.
pub fn init(verbose: u8, quiet: bool, format: LogStyle) {
    let _ = STYLE.set(format);
    let default = match (quiet, verbose) {
        (true, _) => "warn",
        (false, 0) => "info",
        (false, 1) => "info,genupdate=debug",
        (false, _) => "debug,genupdate=trace",
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false);
    // A second init (tests calling run twice) is harmless: keep the first subscriber.
    let _ = match format {
        LogStyle::Json => builder.json().try_init(),
        LogStyle::Text => builder.with_ansi(colour_allowed()).try_init(),
    };
}
