//! `genupdate sandbox`: start a [`Sandbox`] from [`SandboxArgs`], print where it
//! listens (and the environment to export) on stdout, and serve until Ctrl-C or
//! SIGTERM. The result is this crate's own [`ServeError`]; the CLI maps it to its
//! exit code.

use std::fmt;

use crate::{DEFAULT_CLIENT_SECRET, Sandbox, SandboxArgs};

/// Why [`serve`] could not run.
#[derive(Debug)]
pub enum ServeError {
    /// The port could not be bound (in use, not permitted).
    Bind { port: u16, source: std::io::Error },
}

impl fmt::Display for ServeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ServeError::Bind { port, source } => {
                write!(f, "cannot listen on 127.0.0.1:{port}: {source}")
            }
        }
    }
}

impl std::error::Error for ServeError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ServeError::Bind { source, .. } => Some(source),
        }
    }
}

/// `genupdate sandbox`: serve until Ctrl-C or SIGTERM. The banner goes to stdout;
/// the caller maps an `Err` to its exit code (a usage error: the port).
pub async fn serve(args: SandboxArgs) -> Result<(), ServeError> {
    let cfg = args.to_config();
    let port = cfg.port;
    let sandbox = match Sandbox::start(cfg.clone()).await {
        Ok(s) => s,
        Err(source) => return Err(ServeError::Bind { port, source }),
    };
    // Listen for SIGTERM before saying where the sandbox is: whoever reads the URL
    // may stop it at once.
    let stop = Stop::listen();
    let url = sandbox.url();
    let mut banner = format!("genupdate sandbox listening on {url}\n");
    banner += &format!("  client id:     {}\n", cfg.client_id);
    match args.client_secret {
        None => banner += &format!("  client secret: {DEFAULT_CLIENT_SECRET}\n"),
        Some(_) => banner += "  client secret: (the value given with --client-secret)\n",
    }
    let limit = if cfg.rate_limit == 0 {
        "off".to_string()
    } else {
        format!(
            "{} per {} s per token",
            cfg.rate_limit,
            cfg.rate_window.as_secs()
        )
    };
    banner += &format!(
        "  users: {} (seed {}), rate limit: {limit}, token lifetime: {} s\n",
        cfg.users,
        cfg.seed,
        cfg.token_ttl.as_secs()
    );
    let q = &cfg.quirks;
    banner += &format!(
        "  quirks: {:.0}% restricted division, {:.0}% deleted, expand misses {:.0}%, 429 limit omitted {:.0}%\n",
        q.restricted_share * 100.0,
        q.deleted_share * 100.0,
        q.expand_miss_share * 100.0,
        q.omit_limit_share * 100.0
    );
    banner += &format!("  counters: GET {url}/sandbox/stats\n");
    banner += &format!("export GENESYSCLOUD_REGION={url}\n");
    banner += &format!("export GENESYSCLOUD_OAUTHCLIENT_ID={}\n", cfg.client_id);
    if args.client_secret.is_none() {
        banner += &format!("export GENESYSCLOUD_OAUTHCLIENT_SECRET={DEFAULT_CLIENT_SECRET}\n");
    }
    // A closed stdout (`| head -1`) must not stop the server.
    {
        use std::io::Write;
        let mut out = std::io::stdout().lock();
        let _ = out.write_all(banner.as_bytes()).and_then(|_| out.flush());
    }
    stop.wait().await;
    let stats = sandbox.stats();
    eprintln!(
        "genupdate sandbox: stopping after {} requests ({} 429s, {} tokens issued)",
        stats.requests, stats.too_many_requests, stats.tokens_issued
    );
    sandbox.shutdown().await;
    Ok(())
}

/// SIGTERM (registered when made) or Ctrl-C.
struct Stop {
    #[cfg(unix)]
    term: Option<tokio::signal::unix::Signal>,
}

impl Stop {
    fn listen() -> Self {
        Stop {
            #[cfg(unix)]
            term: tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok(),
        }
    }

    async fn wait(self) {
        #[cfg(unix)]
        if let Some(mut term) = self.term {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
            return;
        }
        let _ = tokio::signal::ctrl_c().await;
    }
}
