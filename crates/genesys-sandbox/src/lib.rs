//! genesys-sandbox: a Genesys Cloud Platform API look-alike on one loopback port,
//! serving the login host (`POST /oauth/token`) and the API host (`/api/v2/...`)
//! with Genesys' shapes, status codes, error bodies, rate limits and, on demand,
//! its failures.
//!
//! It shares nothing with the client it tests (no genupdate types, no reqwest):
//! users are JSON documents written from the API docs and the golden payloads in
//! `fixtures/genesys/` (contract tests in `tests/contract.rs` pin it to them). A
//! test server built from the client's own types would agree with every mistake
//! the client makes; this one is a witness, not a mirror.
//!
//! # Quirks (on by default, [`Quirks::none`] turns them off)
//!
//! Each models a fact of ../shared/genesys-api.md ("Behaviour a real org shows") or
//! of the SDK pages cited in `fixtures/genesys/README.md`:
//!
//! - **Division-scoped permissions** (`restricted_share`, 0.05, plus user
//!   [`RESTRICTED_USER_INDEX`]): users of the "Restricted Ops" division read fine,
//!   but every write (user PATCH, bulk acdAutoAnswer, routingskills and
//!   routinglanguages PATCH/PUT/DELETE) answers 403 with the Genesys error body,
//!   code `forbidden_code` (`missing.division.permission`; Genesys documents
//!   `missing.any.permissions` for this PATCH, so clients must not depend on it),
//!   a message naming the permission and the division, and `ININ-Correlation-Id`.
//! - **Deleted users** (`deleted_share`, 0.02, plus user [`DELETED_USER_INDEX`]):
//!   `GET /api/v2/users` takes `state=active|inactive|deleted|any` (default
//!   active, so deleted and inactive users are left out); `GET /api/v2/users/{id}`
//!   takes `state=active|deleted` (default active, which also finds inactive
//!   users) and answers 404 for a deleted user unless `state=deleted`. Deleted
//!   users are shown as `user-deleted.json` shows one (id, email, state, version,
//!   selfUri). A PATCH with `state` restores a deleted user ("can be used to
//!   restore a deleted user"); a PATCH without `state` answers 404, as do the
//!   per-user skill and language endpoints.
//! - **Contacts in every real shape** (`contact_shapes`): seeded users hold a
//!   number, an extension only, a number plus extension, several phone types, a
//!   Teams number (PHONE OTHER, `integration: "microsoftteams"`), SMS MOBILE and
//!   WORK/HOME emails (layout `i % 8`, see `seed_contacts`).
//! - **Contact rules** (`contact_rules`): numbers are stored in E.164 with a
//!   server-derived `display` (`Contact.display` is read-only, "formatted version of
//!   the address property"); a number with an extension is shown as `extension` +
//!   `display` with no `address` (Terraform's case 3, the fixture's WORK3); a
//!   PATCH's `addresses` replaces the list whole, phone numbers are normalised to
//!   E.164 or refused with 400 naming the value, unknown entry fields are kept, and
//!   an EMAIL PRIMARY entry that differs from `email` is a 400 (SDK 269). Without
//!   the rules, entries are stored as sent.
//! - **Best-effort expand** (`expand_miss_share`, 0.1): in list reads (paged and
//!   `id=`) each user that was asked to be expanded may come back without its
//!   `skills`, `languages`, `employerInfo`, `locations` and `groups` keys it asked
//!   for ("resolved with a best effort
//!   approach and not guaranteed to be returned"). The single GET and
//!   `GET /api/v2/users/{id}/routingskills|routinglanguages` always answer fully.
//! - **429 bodies** (`omit_limit_share`, 0.5): the `limit` object is "not
//!   guaranteed to be included". The token window reports
//!   `client.credentials.token.rate.per.minute` (namespace `platform.api`), the
//!   user window `user.rate.per.minute` or `user.rate.per.second`
//!   (`user_limit_unit`) or, with `unknown_limit_key`, `org.app.user.rate.per.day`
//!   (namespace `directory`); each value is true in its key's unit. Every 429 has
//!   `Retry-After` (whole seconds) and `ININ-Correlation-Id`.
//! - **Ignored fields** (`ignore_fields`, default `["username"]`): accepted by the
//!   PATCH and not applied (SDK 269: username "is ignored; the username cannot be
//!   changed through this endpoint").
//! - **Kept emails** (`keep_omitted_email`, off): an EMAIL entry the PATCH's
//!   `addresses` leaves out is kept anyway (undocumented; for client tests that
//!   verify what they read back).
//!
//! - **Asynchronous queue joins** (`join_delay`, 300 ms; [`Quirks::none`]: 0):
//!   `PATCH /routing/queues/{id}/members` and `PATCH /users/{id}/queues` ("processed
//!   asynchronously") answer 202 and the change shows only once the delay has
//!   passed (reads before see the old state). [`Sandbox::apply_pending_joins`]
//!   applies them at once for tests.
//! - **Added members are joined** (`queue_add_joined`, true; UNVERIFIED).
//! - **One user per division move** (`division_move_max`, 1; [`Quirks::none`]:
//!   1000): the maximum is undocumented and Terraform sends one id per call, so
//!   more ids answer 400 `objects.limit.exceeded`.
//!
//! # Memberships (always on; `README.md` "The sandbox" lists the seeded org)
//!
//! Queues, groups, roles, divisions and locations as genesys-api-admin.md B–F
//! documents them, each with its trap:
//!
//! - Name lookups are not exact: `GET /routing/queues?name=` is a prefix (`*` at
//!   either end a wildcard), roles' and divisions' `name=` a substring, all
//!   ignoring case. Groups and locations have no `name` parameter (ignored: all
//!   come back); their `POST …/search` takes `EXACT` on `["name"]` (ignoring case,
//!   UNVERIFIED).
//! - Queue member pages have no `total`, `pageCount` or `lastUri`; `nextUri` only
//!   while more follow; `pageSize` ≤ 100. `GET /users/{id}/queues` shows joined
//!   queues only unless `joined=false` (then only unjoined ones).
//! - Queue member `POST` (add, or remove with `?delete=true`) takes ≤ 100 `[{id}]`
//!   (more: 400 `members.limit.exceeded`) and answers 204 with no body. Unknown or
//!   deleted users: 400 `invalid.member.ids` naming every one in the message and
//!   in `details[].entityId`, nothing applied (UNVERIFIED). Members through a
//!   group (`memberBy: "group"`, not joined until joined; UNVERIFIED) cannot be
//!   removed directly: 400 `queue.member.added.by.group` naming member and group
//!   (UNVERIFIED; Terraform checks this itself). `DELETE …/members/{id}`: 204, 404
//!   for a non-member.
//! - Group member writes take ≤ 50 ids (400 `members.limit.exceeded`) and answer
//!   202 `{}` (content UNVERIFIED); each one that changes something bumps the
//!   group's `version`; a `version` that is not current answers 409
//!   `general.conflict` ("Version mismatch", code UNVERIFIED); without `version`
//!   the write is accepted (optional in today's model).
//! - Grants: `bulkadd`, `bulkremove`, `bulkreplace` (replaces direct grants only)
//!   and the one-grant `DELETE` answer 204; an unknown role or division is a 404
//!   and fails the whole request (`bulkremove` included: the trap). `*` is all
//!   divisions, shown as a division `{id: "*", name: "All divisions"}`
//!   (UNVERIFIED). A one-grant `DELETE` of a grant not held answers 204
//!   (UNVERIFIED). `GET /subjects/{id}` shows inherited grants under the group's
//!   id; without `includeDuplicates=true` an inherited grant that repeats another
//!   is left out.
//! - A division move changes the user's `division` and bumps its `version`
//!   (UNVERIFIED), answering 204.
//! - Restricted Ops: member writes on `Restricted Queue` (`routing:queue:edit`),
//!   on `Restricted Group` (`directory:group:edit`), grant writes for a user in it
//!   or naming it (`authorization:grant:add`/`delete`), and moves into or out of
//!   it (`directory:user:edit`) answer 403 with `forbidden_code`.
//! - A user's `locations` are shown with `expand=locations` as
//!   `[{coordinates, notes, locationDefinition{id, selfUri}}]` (user-full.json),
//!   written by the user PATCH as `[{id, notes, …}]` (or as read back), replaced
//!   whole; an unknown location id is a 400 naming it. `expand=groups` shows
//!   `groups: [{id, selfUri}]`.
//!
//! Always on: the PATCH answers the full User without the expand-only parts (no
//! `skills`, `languages`, `employerInfo`); `version` must equal the current
//! version (409 `general.conflict`, or 400 for `Faults::conflict_400_share`).
//!
//! Map: `config` (flags and [`SandboxConfig`]) · `quirks` · `server` (accept loop,
//! kill switch, router) · `front` (latency, auth, limits, faults, counters) ·
//! `gate` (tokens and windows) · `limits` (pure sliding windows) · `faults` ·
//! `stats` · `state`, `seed` and `seed_contacts` (the lazily generated org) ·
//! `org`, `seed_org` and `org_inspect` (memberships, their seed, their in-process
//! API) ·
//! `update` (UpdateUser) and `contacts` (addresses) · `routes_*` (the endpoints:
//! users, search, routing, queues, groups, authz, divisions, locations) ·
//! `routes_org` (`/api/v2/organizations/me`, with [`Org`]) ·
//! `query` and `wire` (Genesys query strings and bodies) · `secret` · `serve`.

mod config;
mod contacts;
mod faults;
mod front;
mod gate;
mod limits;
mod org;
mod org_inspect;
mod query;
mod quirks;
mod routes_auth;
mod routes_authz;
mod routes_divisions;
mod routes_groups;
mod routes_locations;
mod routes_org;
mod routes_queues;
mod routes_routing;
mod routes_search;
mod routes_user_queues;
mod routes_users;
mod secret;
mod seed;
mod seed_contacts;
mod seed_org;
mod serve;
mod server;
mod state;
mod stats;
mod update;
mod wire;

use std::net::SocketAddr;
use std::sync::Arc;

use serde_json::Value;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

pub use config::{
    DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, DEFAULT_SEED, DEFAULT_USERS, Faults, SandboxArgs,
    SandboxConfig, parse_range, parse_share,
};
pub use quirks::{LimitUnit, Quirks};
pub use routes_org::{DEFAULT_ORG_NAME, Org};
pub use secret::Secret;
pub use serve::{ServeError, serve};
pub use stats::SandboxStats;

use query::Expand;
use server::{Shared, lock};

/// The seeded user that is always in the restricted division when
/// `Quirks::restricted_share` is above 0 (seed 1: the demo's `forbidden` row).
pub const RESTRICTED_USER_INDEX: usize = 12;
/// The seeded user that is always deleted when `Quirks::deleted_share` is above 0
/// (seed 1: the demo's `not_found` row).
pub const DELETED_USER_INDEX: usize = 13;

/// The seeded user whose `employerInfo.employeeId` is the same as the user's before
/// it (index 14): duplicate employee ids happen in real orgs.
pub const DUPLICATE_EMPLOYEE_ID_INDEX: usize = 15;

/// The seeded user whose email (and username) is the user's before it (index 16)
/// in upper case: the two differ only in case.
pub const CASE_TWIN_INDEX: usize = 17;

/// One role grant of a user, by names (see [`Sandbox::user_grants`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SubjectGrant {
    pub role: String,
    /// The division's name, or `*` for all divisions.
    pub division: String,
    /// The user's id for a direct grant, the group's for an inherited one.
    pub subject_id: String,
}

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
    /// `expand` would give it), deleted or not.
    pub fn user(&self, id: &str) -> Option<Value> {
        let store = lock(&self.shared.store);
        let i = store.lookup(id)?;
        Some(store.render(i, Expand::ALL))
    }

    /// Replace a user's document (what a GET without expand shows, plus
    /// `employerInfo`), to set up awkward users: two WORK phones, a title with a
    /// trailing space, a division of its own. `id` and `selfUri` are kept;
    /// `skills`, `languages`, `groups` and `primaryContactInfo` are ignored (the first two
    /// have their own endpoints, the last is derived); without `version` the
    /// current one stays. `Err` when the user does not exist or `doc` is not an
    /// object.
    pub fn put_user(&self, id: &str, doc: Value) -> Result<(), String> {
        let Value::Object(mut doc) = doc else {
            return Err("a user document must be a JSON object".into());
        };
        let mut store = lock(&self.shared.store);
        let i = store.lookup(id).ok_or_else(|| format!("no user {id}"))?;
        store.update(i, |rec| {
            for key in ["skills", "languages", "primaryContactInfo", "groups"] {
                doc.remove(key);
            }
            for key in ["id", "selfUri"] {
                if let Some(v) = rec.doc.get(key) {
                    doc.insert(key.into(), v.clone());
                }
            }
            if !doc.contains_key("version") {
                doc.insert("version".into(), rec.version().into());
            }
            rec.doc = doc;
        });
        Ok(())
    }

    /// Ids of the users in the restricted division (writes answer 403), in seeded order.
    pub fn restricted_user_ids(&self) -> Vec<String> {
        let store = lock(&self.shared.store);
        (0..store.len())
            .filter(|&i| store.is_restricted(i))
            .map(|i| store.id_string(i))
            .collect()
    }

    /// Ids of the deleted users, in seeded order.
    pub fn deleted_user_ids(&self) -> Vec<String> {
        let store = lock(&self.shared.store);
        store
            .matching(query::StateFilter::Deleted)
            .map(|i| store.id_string(i))
            .collect()
    }

    /// Ids of the users a write may change: active or inactive, not restricted.
    pub fn writable_user_ids(&self) -> Vec<String> {
        let store = lock(&self.shared.store);
        (0..store.len())
            .filter(|&i| store.state_of(i) != "deleted" && !store.is_restricted(i))
            .map(|i| store.id_string(i))
            .collect()
    }

    /// The name of a user's division ("Home" or "Restricted Ops").
    pub fn division_of(&self, id: &str) -> Option<String> {
        let store = lock(&self.shared.store);
        let i = store.lookup(id)?;
        Some(store.division_name(i))
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
