use clap::Parser;

fn main() -> std::process::ExitCode {
    let _cli = genupdate::cli::Cli::parse();
    genupdate::exit::Exit::Success.into()
}
