//! The `genupdate` binary: parse the command line, run, map the outcome to an exit code.

use clap::Parser;

fn main() -> std::process::ExitCode {
    match genupdate::cli::Cli::try_parse() {
        Ok(cli) => genupdate::run(cli).into(),
        // A usage error still prints the JSON summary when --output json asked for it.
        Err(e) => genupdate::usage::refused(e, std::env::args_os()).into(),
    }
}
