//! genupdate: bulk-update Genesys Cloud users from a CSV.
//!
//! The binary is a thin wrapper around [`run`]; tests drive the same code in process.
//! Module map: [`cli`] (flags) → [`config`] (resolved configuration) → [`input`]
//! (CSV grammar and validation) → `plan` (pure diff of a row against a user) →
//! [`client`] (token, retries, the shared pace, one method per endpoint) →
//! `runner` (the only place with concurrency) → `report` (per-row results).
//! `sandbox` (the `genesys-sandbox` crate, behind the default `sandbox` feature) is
//! the built-in Genesys look-alike everything is tested against; it shares no types
//! with this crate.

pub mod apply;
pub mod breaker;
pub mod cli;
pub mod client;
pub mod columns;
pub mod config;
pub mod confirm;
pub mod execute;
pub mod exit;
pub mod export;
pub mod guard;
pub mod input;
pub mod journal;
pub mod lock;
pub mod logging;
pub mod members;
pub mod model;
pub mod outcome;
pub mod outputs;
pub mod phone;
pub mod plan;
pub mod prepass;
pub mod profile;
pub mod report;
pub mod resolve;
pub mod routing;
pub mod runner;
pub mod secret;
pub mod settings;
pub mod stop;
#[cfg(feature = "sandbox")]
pub use genesys_sandbox as sandbox;
pub mod summary;
pub mod trust;
pub mod undo;
pub mod usage;

use cli::{Cli, Command};
use exit::Exit;

/// Run one command to completion and say how it ended.
pub fn run(cli: Cli) -> Exit {
    logging::init(cli.verbose, cli.quiet, cli.log_format.into());
    match cli.command {
        Command::Validate(args) => match settings::ValidateSettings::resolve(&args) {
            Ok(settings) => input::validate_command(&settings, cli.quiet),
            Err(e) => {
                eprintln!("genupdate: {e}");
                Exit::Usage
            }
        },
        Command::Apply(args) => apply::apply_command(&args, cli.quiet, cli.log_format.into()),
        Command::Export(args) => export::export_command(&args, cli.quiet),
        Command::Recover(args) => recover(&args, cli.quiet),
        Command::Columns => columns::columns_command(),
        #[cfg(feature = "sandbox")]
        Command::Sandbox(args) => match tokio::runtime::Runtime::new() {
            Ok(rt) => match rt.block_on(sandbox::serve(*args)) {
                Ok(()) => Exit::Success,
                Err(e) => {
                    eprintln!("genupdate: sandbox: {e}");
                    Exit::Usage
                }
            },
            Err(e) => {
                eprintln!("genupdate: cannot start the async runtime: {e}");
                Exit::Aborted
            }
        },
    }
}

/// `genupdate recover JOURNAL --undo FILE`.
fn recover(args: &cli::RecoverArgs, quiet: bool) -> Exit {
    let merged = journal::read(&args.journal).and_then(|(runs, entries)| {
        let key = runs
            .first()
            .map(|r| r.key.clone())
            .unwrap_or_else(|| "id".into());
        undo::write_merged(&args.undo, &entries, &key, None).map(|n| (n, entries.len()))
    });
    match merged {
        Ok((users, entries)) => {
            if !quiet {
                eprintln!(
                    "genupdate: {} holds {users} user(s) from {entries} journal entries; apply it with `genupdate apply {}`",
                    args.undo.display(),
                    args.undo.display()
                );
            }
            Exit::Success
        }
        Err(e) => {
            eprintln!("genupdate: recover: {e}");
            Exit::Usage
        }
    }
}
