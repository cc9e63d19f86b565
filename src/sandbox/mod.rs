//! The built-in Genesys Cloud look-alike: one loopback port serving the login host
//! (`POST /oauth/token`) and the API host (`/api/v2/...`) with Genesys' shapes,
//! status codes, error bodies, rate limits and, on demand, its failures.
//!
//! Everything else in genupdate is tested against it, so fidelity to
//! ../shared/genesys-api.md is the point; where that page is silent the sandbox
//! takes the stricter reading (a client that works here also works there).
//!
//! Map: [`config`] (flags and [`SandboxConfig`]) · `server` (accept loop, kill
//! switch, router) · `front` (latency, auth, limits, faults, counters) · `gate`
//! (tokens and windows) · `limits` (pure sliding windows) · `faults` · `stats` ·
//! `state` and `seed` (the lazily generated org) · `update` (UpdateUser) ·
//! `routes_*` (the endpoints) · `query` and `wire` (Genesys query strings and bodies).

mod config;
mod faults;
mod front;
mod gate;
mod limits;
mod query;
mod routes_auth;
mod routes_routing;
mod routes_users;
mod seed;
mod server;
mod state;
mod stats;
mod update;
mod wire;

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

pub use config::{
    DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, DEFAULT_SEED, DEFAULT_USERS, Faults, SandboxArgs,
    SandboxConfig,
};
pub use stats::SandboxStats;

use crate::exit::Exit;
use query::Expand;
use server::{Shared, lock};

/// A running sandbox. Dropping it stops the server too; [`Sandbox::shutdown`] also
/// waits for the accept loop to end.
pub struct Sandbox {
    addr: SocketAddr,
    shared: Arc<Shared>,
    shutdown: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl Sandbox {
    /// Bind 127.0.0.1:`cfg.port` (0 = a free port) and serve in a tokio task.
    pub async fn start(cfg: SandboxConfig) -> std::io::Result<Sandbox> {
        let listener = TcpListener::bind(("127.0.0.1", cfg.port)).await?;
        let addr = listener.local_addr()?;
        let users = cfg.users;
        let shared = Arc::new(if users > 200_000 {
            // Generating the id index for very large orgs takes a moment: off the reactor.
            tokio::task::spawn_blocking(move || Shared::new(cfg))
                .await
                .map_err(std::io::Error::other)?
        } else {
            Shared::new(cfg)
        });
        let (shutdown, rx) = watch::channel(false);
        let app = server::router(shared.clone());
        let task = tokio::spawn(server::accept_loop(listener, app, rx));
        Ok(Sandbox {
            addr,
            shared,
            shutdown,
            task,
        })
    }

    /// `http://127.0.0.1:PORT`, no trailing slash: the value for GENESYSCLOUD_REGION.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn stats(&self) -> SandboxStats {
        self.shared.stats()
    }

    pub fn reset_stats(&self) {
        self.shared.reset_stats();
    }

    /// Replace the fault settings; requests arriving from now on use them.
    pub fn set_faults(&self, f: Faults) {
        *lock(&self.shared.faults) = f;
    }

    /// The user as it is now, with skills, languages and employerInfo (as every
    /// `expand` would give it).
    pub fn user(&self, id: &str) -> Option<crate::model::User> {
        let store = lock(&self.shared.store);
        let i = store.lookup(id)?;
        Some(store.render(i, Expand::ALL))
    }

    /// Every user id, in seeded order.
    pub fn user_ids(&self) -> Vec<String> {
        let store = lock(&self.shared.store);
        (0..store.len()).map(|i| store.id_string(i)).collect()
    }

    /// The id of the skill with exactly this name (case-insensitive).
    pub fn skill_id(&self, name: &str) -> Option<String> {
        self.entity_id(state::Kind::Skill, name)
    }

    /// The id of the language with exactly this name (case-insensitive).
    pub fn language_id(&self, name: &str) -> Option<String> {
        self.entity_id(state::Kind::Language, name)
    }

    fn entity_id(&self, kind: state::Kind, name: &str) -> Option<String> {
        let store = lock(&self.shared.store);
        store
            .entities(kind)
            .iter()
            .find(|e| e.name.eq_ignore_ascii_case(name))
            .map(|e| e.id.clone())
    }

    /// Every access token issued so far (for tests that look for leaked secrets).
    pub fn issued_tokens(&self) -> Vec<String> {
        lock(&self.shared.gate).issued()
    }

    /// Stop accepting, close every connection and wait for the server task.
    pub async fn shutdown(self) {
        let _ = self.shutdown.send(true);
        let _ = self.task.await;
    }
}

/// `genupdate sandbox`: serve until Ctrl-C or SIGTERM.
pub async fn serve(args: SandboxArgs) -> Exit {
    let cfg = args.to_config();
    let port = cfg.port;
    let sandbox = match Sandbox::start(cfg.clone()).await {
        Ok(s) => s,
        Err(e) => {
            eprintln!("genupdate: sandbox: cannot listen on 127.0.0.1:{port}: {e}");
            return Exit::Usage;
        }
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
    Exit::Success
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
