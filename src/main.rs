//! The `genupdate` binary: parse the command line, run, map the outcome to an exit code.

use clap::Parser;

fn main() -> std::process::ExitCode {
    let cli = genupdate::cli::Cli::parse();
    genupdate::run(cli).into()
}
