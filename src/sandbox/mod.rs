//! The built-in Genesys Cloud look-alike server (placeholder: filled in by the sandbox issue).

/// Flags of `genupdate sandbox`.
#[derive(Debug, clap::Args)]
pub struct SandboxArgs {
    /// Port to listen on (127.0.0.1); 0 picks a free one.
    #[arg(long, default_value_t = 0)]
    pub port: u16,
}
