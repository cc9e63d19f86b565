//! The listening side: shared state, the router, and an accept loop that serves each
//! connection with hyper's HTTP/1 builder next to a per-connection kill switch.
//!
//! Dropping a connection with no response is a fault the sandbox must inject (as a
//! proxy or a crashed node would). Handlers cannot close their own socket through
//! axum, so every request carries a [`Kill`] handle in its extensions; triggering it
//! makes the connection task stop polling the hyper connection and drop it, which
//! closes the TCP stream without a single response byte.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{Method, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, patch, post};
use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::{Notify, watch};
use tower::ServiceExt;

use super::config::{Faults, SandboxConfig};
use super::gate::Gate;
use super::state::Store;
use super::stats::SandboxStats;
use super::wire::ApiError;
use super::{
    front, routes_auth, routes_authz, routes_divisions, routes_groups, routes_locations,
    routes_org, routes_queues, routes_routing, routes_search, routes_user_queues, routes_users,
};

/// Everything the handlers share. Each lock is held briefly and never across an await.
pub struct Shared {
    pub cfg: SandboxConfig,
    pub faults: Mutex<Faults>,
    pub store: Mutex<Store>,
    pub gate: Mutex<Gate>,
    pub stats: Mutex<SandboxStats>,
    pub in_flight: AtomicU64,
    pub peak_in_flight: AtomicU64,
}

/// Lock a mutex, ignoring poisoning (a panicked handler leaves consistent data:
/// every mutation is applied whole or not at all).
pub fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Shared {
    pub fn new(cfg: SandboxConfig) -> Shared {
        Shared {
            faults: Mutex::new(cfg.faults.clone()),
            store: Mutex::new(Store::new(cfg.seed, cfg.users, cfg.quirks.clone())),
            gate: Mutex::new(Gate::new(&cfg)),
            stats: Mutex::new(SandboxStats::default()),
            in_flight: AtomicU64::new(0),
            peak_in_flight: AtomicU64::new(0),
            cfg,
        }
    }

    pub fn faults(&self) -> Faults {
        lock(&self.faults).clone()
    }

    pub fn stats(&self) -> SandboxStats {
        let mut s = lock(&self.stats).clone();
        s.peak_in_flight = self.peak_in_flight.load(Ordering::Relaxed);
        s
    }

    pub fn reset_stats(&self) {
        *lock(&self.stats) = SandboxStats::default();
        self.peak_in_flight
            .store(self.in_flight.load(Ordering::Relaxed), Ordering::Relaxed);
    }
}

/// The per-connection kill switch, found in every request's extensions.
#[derive(Clone)]
pub struct Kill(Arc<Notify>);

impl Kill {
    /// Close this request's connection with no response. Never returns: the
    /// connection task drops the request future when it sees the notification.
    pub async fn now(&self) -> Response {
        self.0.notify_one();
        std::future::pending().await
    }
}

pub fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/oauth/token", post(routes_auth::token))
        .route("/api/v2/users", get(routes_users::list))
        .route("/api/v2/users/bulk", patch(routes_users::patch_bulk))
        .route("/api/v2/users/search", post(routes_search::search))
        .route(
            "/api/v2/users/{id}",
            get(routes_users::get_one).patch(routes_users::patch_one),
        )
        .route(
            "/api/v2/users/{id}/routingskills",
            get(routes_routing::user_skills),
        )
        .route(
            "/api/v2/users/{id}/routingskills/bulk",
            patch(routes_routing::patch_user_skills).put(routes_routing::put_user_skills),
        )
        .route(
            "/api/v2/users/{id}/routingskills/{skill_id}",
            axum::routing::delete(routes_routing::delete_user_skill),
        )
        .route(
            "/api/v2/users/{id}/routinglanguages",
            get(routes_routing::user_languages),
        )
        .route(
            "/api/v2/users/{id}/routinglanguages/bulk",
            patch(routes_routing::patch_user_languages),
        )
        .route(
            "/api/v2/users/{id}/routinglanguages/{language_id}",
            axum::routing::delete(routes_routing::delete_user_language),
        )
        .route(
            "/api/v2/users/{id}/queues",
            get(routes_user_queues::user_queues).patch(routes_user_queues::patch_user_queues),
        )
        .route("/api/v2/routing/queues", get(routes_queues::list))
        .route(
            "/api/v2/routing/queues/{queue_id}/members",
            get(routes_queues::members)
                .post(routes_queues::post_members)
                .patch(routes_queues::patch_members),
        )
        .route(
            "/api/v2/routing/queues/{queue_id}/members/{member_id}",
            axum::routing::delete(routes_queues::delete_member),
        )
        .route("/api/v2/groups", get(routes_groups::list))
        .route("/api/v2/groups/search", post(routes_groups::search))
        .route("/api/v2/groups/{id}", get(routes_groups::get_one))
        .route(
            "/api/v2/groups/{id}/individuals",
            get(routes_groups::individuals),
        )
        .route(
            "/api/v2/groups/{id}/members",
            get(routes_groups::members)
                .post(routes_groups::add_members)
                .delete(routes_groups::remove_members),
        )
        .route("/api/v2/authorization/roles", get(routes_authz::roles))
        .route(
            "/api/v2/authorization/subjects/{id}",
            get(routes_authz::get_subject),
        )
        .route(
            "/api/v2/authorization/subjects/{id}/bulkadd",
            post(routes_authz::bulkadd),
        )
        .route(
            "/api/v2/authorization/subjects/{id}/bulkremove",
            post(routes_authz::bulkremove),
        )
        .route(
            "/api/v2/authorization/subjects/{id}/bulkreplace",
            post(routes_authz::bulkreplace),
        )
        .route(
            "/api/v2/authorization/subjects/{id}/divisions/{division_id}/roles/{role_id}",
            axum::routing::delete(routes_authz::delete_grant),
        )
        .route(
            "/api/v2/authorization/divisions",
            get(routes_divisions::list),
        )
        .route(
            "/api/v2/authorization/divisions/home",
            get(routes_divisions::home),
        )
        .route(
            "/api/v2/authorization/divisions/{division_id}/objects/{object_type}",
            post(routes_divisions::move_objects),
        )
        .route("/api/v2/locations", get(routes_locations::list))
        .route("/api/v2/locations/search", post(routes_locations::search))
        .route("/api/v2/routing/skills", get(routes_routing::skills))
        .route("/api/v2/routing/languages", get(routes_routing::languages))
        .route(
            "/api/v2/organizations/limits/namespaces/{namespace}",
            get(routes_routing::limits),
        )
        .route("/api/v2/organizations/me", get(routes_org::me))
        .route("/sandbox/stats", get(inspect_stats))
        .route("/sandbox/reset", post(inspect_reset))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(axum::middleware::from_fn_with_state(
            shared.clone(),
            front::front,
        ))
        .with_state(shared)
}

async fn not_found(uri: Uri) -> ApiError {
    ApiError::not_found(format!("No resource found at {}", uri.path()))
}

async fn method_not_allowed(method: Method, uri: Uri) -> ApiError {
    ApiError::new(
        axum::http::StatusCode::METHOD_NOT_ALLOWED,
        "method.not.allowed",
        format!("{method} is not supported on {}", uri.path()),
    )
}

async fn inspect_stats(State(sh): State<Arc<Shared>>) -> Response {
    axum::Json(sh.stats()).into_response()
}

async fn inspect_reset(State(sh): State<Arc<Shared>>) -> Response {
    sh.reset_stats();
    axum::http::StatusCode::NO_CONTENT.into_response()
}

/// Accept connections until `shutdown` turns true; each connection is its own task.
pub async fn accept_loop(listener: TcpListener, app: Router, mut shutdown: watch::Receiver<bool>) {
    loop {
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                // Out of file descriptors and the like: keep serving the others.
                Err(_) => {
                    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
                    continue;
                }
            },
            _ = shutdown.changed() => return,
        };
        let _ = stream.set_nodelay(true);
        let app = app.clone();
        let mut shutdown = shutdown.clone();
        tokio::spawn(async move {
            let kill = Kill(Arc::new(Notify::new()));
            let notified = kill.0.clone();
            let svc = tower::service_fn(move |mut req: Request<hyper::body::Incoming>| {
                req.extensions_mut().insert(kill.clone());
                app.clone().oneshot(req.map(axum::body::Body::new))
            });
            let conn = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), TowerToHyperService::new(svc));
            tokio::select! {
                _ = conn => {}
                // Dropping `conn` closes the socket; nothing more is written.
                _ = notified.notified() => {}
                _ = shutdown.changed() => {}
            }
        });
    }
}
