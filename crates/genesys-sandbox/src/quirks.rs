//! The behaviour a real org shows and a naive test server misses, as switches.
//!
//! [`Quirks::realistic`] (the default of every [`crate::SandboxConfig`]
//! constructor and of `genupdate sandbox`) turns on what ../shared/genesys-api.md
//! calls "Behaviour a real org shows": division-scoped 403s, deleted users,
//! contacts in every real shape, best-effort expand on list reads, 429 bodies with
//! and without `limit`, and the documented `username` rule. [`Quirks::none`] turns
//! everything off, for tests that are about something else.

use std::time::Duration;

/// The unit of the user-endpoint limit's key in 429 bodies and the limits endpoint.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LimitUnit {
    /// `user.rate.per.second`, value = limit / window seconds.
    PerSecond,
    /// `user.rate.per.minute`, value = limit × 60 / window seconds.
    PerMinute,
}

/// Every quirk the sandbox can model. Build one from [`Quirks::realistic`] or
/// [`Quirks::none`] with struct update syntax.
#[derive(Clone, Debug, PartialEq)]
pub struct Quirks {
    /// Share of seeded users placed in the restricted division, besides the fixed
    /// user [`crate::RESTRICTED_USER_INDEX`] (when the share is above 0). Every write
    /// to them answers 403; reads are fine.
    pub restricted_share: f64,
    /// The `code` of those 403s. Genesys documents `missing.any.permissions` for
    /// this PATCH; the sandbox answers `missing.division.permission` by default so
    /// clients cannot rely on one code.
    pub forbidden_code: String,
    /// Share of seeded users whose state is `deleted`, besides the fixed user
    /// [`crate::DELETED_USER_INDEX`] (when the share is above 0).
    pub deleted_share: f64,
    /// Seeded contacts take every real shape (number, extension only, number plus
    /// extension, several phones, a Teams number, SMS, extra emails). Off: one WORK
    /// and sometimes one MOBILE number.
    pub contact_shapes: bool,
    /// The server's contact rules: phone numbers normalised to E.164 (400 when
    /// they cannot be), `display` derived by the server, a number with an extension
    /// shown without `address`, an EMAIL PRIMARY entry that differs from `email`
    /// refused. Off: entries are stored as sent (`display` filled in when missing).
    pub contact_rules: bool,
    /// Share of users in a list read (paged or `id=`) that come back without the
    /// `skills`, `languages`, `employerInfo`, `locations` and `groups` they were
    /// asked to expand.
    pub expand_miss_share: f64,
    /// Share of limit-window 429s sent without the `limit` object.
    pub omit_limit_share: f64,
    /// Unit of the user-endpoint limit key.
    pub user_limit_unit: LimitUnit,
    /// Report the user-endpoint limit under `org.app.user.rate.per.day`, a key a
    /// client does not know (value in requests per day).
    pub unknown_limit_key: bool,
    /// Top-level UpdateUser fields the PATCH accepts but does not apply.
    pub ignore_fields: Vec<String>,
    /// When a PATCH's `addresses` omits an EMAIL entry the user holds, keep it.
    pub keep_omitted_email: bool,
    /// Whether a user added to a queue (`POST .../members`) starts joined
    /// (UNVERIFIED; default true).
    pub queue_add_joined: bool,
    /// How long an accepted join change (`PATCH /routing/queues/{id}/members`,
    /// `PATCH /users/{id}/queues`, both "processed asynchronously") takes to show.
    pub join_delay: Duration,
    /// Most user ids one division move (`POST /authorization/divisions/{id}/objects/USER`)
    /// takes: undocumented, so the realistic sandbox takes what Terraform sends, 1.
    pub division_move_max: usize,
}

impl Quirks {
    /// Everything a real org shows, with the documented defaults.
    pub fn realistic() -> Self {
        Quirks {
            restricted_share: 0.05,
            forbidden_code: "missing.division.permission".into(),
            deleted_share: 0.02,
            contact_shapes: true,
            contact_rules: true,
            expand_miss_share: 0.1,
            omit_limit_share: 0.5,
            user_limit_unit: LimitUnit::PerMinute,
            unknown_limit_key: false,
            ignore_fields: vec!["username".into()],
            keep_omitted_email: false,
            queue_add_joined: true,
            join_delay: Duration::from_millis(300),
            division_move_max: 1,
        }
    }

    /// No quirk at all: every user writable, active or inactive, fully expanded,
    /// with simple contacts; every 429 carries its `limit`; every field applies.
    pub fn none() -> Self {
        Quirks {
            restricted_share: 0.0,
            forbidden_code: "missing.division.permission".into(),
            deleted_share: 0.0,
            contact_shapes: false,
            contact_rules: false,
            expand_miss_share: 0.0,
            omit_limit_share: 0.0,
            user_limit_unit: LimitUnit::PerMinute,
            unknown_limit_key: false,
            ignore_fields: Vec::new(),
            keep_omitted_email: false,
            queue_add_joined: true,
            join_delay: Duration::ZERO,
            division_move_max: 1000,
        }
    }
}

impl Default for Quirks {
    fn default() -> Self {
        Quirks::realistic()
    }
}
