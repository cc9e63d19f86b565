//! Before any write: which user each row means, and how the users are read.
//!
//! A file keyed by email, username or employee id, or whose `manager` cells hold
//! emails, is resolved once, up front and in bulk: by `POST /api/v2/users/search`
//! (100 values per `EXACT` query) for a small share of the org, or by one scan of
//! the whole org (`GET /api/v2/users?pageSize=500&state=any`) when the file names
//! more than a fifth of it, because then the scan is cheaper than both the search
//! and reading the users 100 ids at a time: the scan's users are kept (only those
//! the file names) and the runner reads nothing more. Every decision is a pure
//! function of what was read ([`choose`], [`decide`]), tested below; the async part
//! only fetches.
//!
//! Rules: deleted users never match, inactive users do; emails and usernames match
//! in any case, employee ids exactly after trimming; a key matching no user is
//! `not_found`, several users `ambiguous` (naming them), and two rows that resolve
//! to the same user both fail `duplicate_user`, naming the other line. Those rows
//! fail before any write; the others go on.

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;

use crate::client::{ApiError, Client};
use crate::input::{Cell, Column, Header, Key, ProfileField, ReadOptions, Row, Value};
use crate::model::User;
use crate::report::Reason;

/// The org's users per request of the whole-org listing.
pub const LIST_PAGE: u32 = 500;
/// Values per `EXACT` search query (and its page size).
pub const SEARCH_VALUES: usize = 100;
/// Users per bulk read by id.
const IDS_PER_READ: u64 = 100;

/// How the users a file names are read.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Strategy {
    /// 100 ids per `GET /api/v2/users?id=...` (and a search for other keys).
    ById,
    /// The whole org, 500 users per page, once.
    Scan,
}

impl Strategy {
    pub fn as_str(self) -> &'static str {
        match self {
            Strategy::ById => "by_id",
            Strategy::Scan => "scan",
        }
    }
}

/// The reading strategy for `rows` rows in an org of `org_users` users (unknown:
/// by id). The scan costs `org/500` requests, by id `rows/100` (and a search of
/// `rows/100` more for other keys): the scan wins when the file names more than a
/// fifth of the org.
pub fn choose(rows: u64, org_users: Option<u64>) -> Strategy {
    match org_users {
        Some(org) if rows.saturating_mul(5) > org => Strategy::Scan,
        _ => Strategy::ById,
    }
}

/// Whether the org's size is worth a request: a file of at most one bulk read is
/// read by id whatever the org's size.
pub fn worth_probing(rows: u64) -> bool {
    rows > IDS_PER_READ
}

/// Why a row cannot go on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Failure {
    pub reason: Reason,
    pub message: String,
}

/// A row's user, and its manager's id when the row gave an email.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Resolved {
    pub id: String,
    pub manager: Option<String>,
}

/// What the collecting pass keeps of one row.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RowKeys {
    pub line: u64,
    /// Normalised key (the id for `--key id`).
    pub key: String,
    /// The `manager` cell when it holds an email (lower-cased).
    pub manager_email: Option<String>,
}

/// Normalised key -> ids of the (not deleted) users holding it.
pub type Matches = HashMap<String, Vec<String>>;

/// The normalised key `user` holds for `key`, if any.
pub fn key_of(user: &User, key: Key) -> Option<String> {
    let raw = match key {
        Key::Id => Some(user.id.as_str()),
        Key::Email => user.email.as_deref(),
        Key::Username => user.username.as_deref(),
        Key::EmployeeId => user
            .employer_info
            .as_ref()
            .and_then(|e| e.employee_id.as_deref()),
    }?;
    let k = key.normalise(raw);
    (!k.is_empty()).then_some(k)
}

/// Record `user` in `matches` under its `key` when `wanted` holds that key.
/// Deleted users never match.
pub fn offer(matches: &mut Matches, wanted: &HashSet<String>, user: &User, key: Key) -> bool {
    if user.is_deleted() {
        return false;
    }
    match key_of(user, key) {
        Some(k) if wanted.contains(&k) => {
            let ids = matches.entry(k).or_default();
            let id = user.id.to_ascii_lowercase();
            if !ids.contains(&id) {
                ids.push(id);
            }
            true
        }
        _ => false,
    }
}

fn one(what: &str, value: &str, found: Option<&Vec<String>>, key: Key) -> Result<String, Failure> {
    match found.map(Vec::as_slice) {
        Some([id]) => Ok(id.clone()),
        Some(ids) if ids.len() > 1 => {
            let mut ids = ids.to_vec();
            ids.sort();
            Err(Failure {
                reason: Reason::Ambiguous,
                message: format!(
                    "{what} {value:?} matches {} users ({}); genupdate will not guess: \
                     make the {} unique in Genesys or key this row by id",
                    ids.len(),
                    ids.join(", "),
                    key.header()
                ),
            })
        }
        _ => Err(Failure {
            reason: Reason::NotFound,
            message: format!(
                "{what} {value:?} matches no user in this org (deleted users never match)"
            ),
        }),
    }
}

/// Each row's user (and manager) from what was found, or why the row fails. Rows
/// resolving to one user all fail `duplicate_user`, naming the other lines.
pub fn decide(
    rows: &[RowKeys],
    key: Key,
    keys: &Matches,
    managers: &Matches,
) -> HashMap<u64, Result<Resolved, Failure>> {
    let mut out = HashMap::with_capacity(rows.len());
    let mut by_user: HashMap<String, Vec<u64>> = HashMap::new();
    for r in rows {
        let id = if key == Key::Id {
            Ok(r.key.clone())
        } else {
            one(key.header(), &r.key, keys.get(&r.key), key)
        };
        let resolved = id.and_then(|id| {
            let manager = match &r.manager_email {
                Some(email) => Some(
                    one("manager", email, managers.get(email), Key::Email).map_err(|f| {
                        Failure {
                            reason: f.reason,
                            message: format!("{} (the manager is not set from it)", f.message),
                        }
                    })?,
                ),
                None => None,
            };
            Ok(Resolved { id, manager })
        });
        if let Ok(res) = &resolved {
            by_user.entry(res.id.clone()).or_default().push(r.line);
        }
        out.insert(r.line, resolved);
    }
    for (id, lines) in by_user.into_iter().filter(|(_, l)| l.len() > 1) {
        for &line in &lines {
            let others: Vec<String> = lines
                .iter()
                .filter(|&&l| l != line)
                .map(u64::to_string)
                .collect();
            out.insert(
                line,
                Err(Failure {
                    reason: Reason::DuplicateUser,
                    message: format!(
                        "line {} also resolves to user {id}; each user may appear on one \
                         row only, so neither row is applied",
                        others.join(", line ")
                    ),
                }),
            );
        }
    }
    out
}

/// The outcome of the up-front phase, shared with the runner.
#[derive(Debug, Default)]
pub struct Resolution {
    /// Per line; `None` when nothing needed resolving (plain ids, no manager emails).
    pub rows: Option<HashMap<u64, Result<Resolved, Failure>>>,
    /// The users the file names, as the scan read them (`Some` after a scan).
    pub preloaded: Option<Mutex<HashMap<String, User>>>,
    /// Index of the `manager` column.
    pub manager_column: Option<usize>,
}

impl Resolution {
    /// Put the resolved id (and manager id) into `row`, or say why it fails.
    pub fn apply(&self, row: &mut Row) -> Result<(), Failure> {
        let Some(rows) = &self.rows else {
            return Ok(());
        };
        match rows.get(&row.line) {
            Some(Ok(res)) => {
                row.id = res.id.clone();
                if let (Some(m), Some(i)) = (&res.manager, self.manager_column)
                    && let Some(cell) = row.cells.get_mut(i)
                {
                    *cell = Cell::Set(Value::Text(m.clone()));
                }
                Ok(())
            }
            Some(Err(f)) => Err(f.clone()),
            None => Err(Failure {
                reason: Reason::Aborted,
                message: "the input file changed during the run: this row was not resolved".into(),
            }),
        }
    }

    /// The scanned user `id`, taken (each is used once).
    pub fn take(&self, id: &str) -> Option<User> {
        let pre = self.preloaded.as_ref()?;
        pre.lock().ok()?.remove(id)
    }

    pub fn scanned(&self) -> bool {
        self.preloaded.is_some()
    }
}

/// What the plan and summary say about reading.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReadPlan {
    pub strategy: Strategy,
    /// The org's size, when it was read (the first page's `total`).
    pub org_users: Option<u64>,
    /// Requests this phase sent (probe, search, scan).
    pub requests: u64,
}

/// Whether `cell` is a manager email to resolve.
fn manager_email(cell: &Cell) -> Option<String> {
    match cell {
        Cell::Set(Value::Text(s)) if s.contains('@') => Some(s.to_lowercase()),
        _ => None,
    }
}

/// Read the file's keys (a second streaming pass; memory: one entry per row).
pub fn collect(
    path: &std::path::Path,
    options: &ReadOptions,
) -> Result<(Header, Vec<RowKeys>), String> {
    let (header, rows) =
        crate::input::open_with_options(path, options).map_err(|e| e.to_string())?;
    let manager = manager_index(&header);
    let mut out = Vec::new();
    for row in rows {
        let row = row.map_err(|p| {
            p.first()
                .map(|p| {
                    format!(
                        "the input file changed: {}",
                        p.render(&path.display().to_string())
                    )
                })
                .unwrap_or_else(|| "the input file changed".into())
        })?;
        out.push(RowKeys {
            line: row.line,
            key: row.key,
            manager_email: manager
                .and_then(|i| row.cells.get(i))
                .and_then(manager_email),
        });
    }
    Ok((header, out))
}

pub fn manager_index(header: &Header) -> Option<usize> {
    header
        .columns
        .iter()
        .position(|c| *c == Column::Profile(ProfileField::Manager))
}

/// Why the up-front phase could not finish.
#[derive(Debug, thiserror::Error)]
pub enum PrepareError {
    #[error("{0}")]
    Api(#[from] ApiError),
    #[error("{0}")]
    Input(String),
}

/// The whole up-front phase: choose the strategy, resolve keys and manager emails,
/// and (for a scan) keep the users the file names.
pub async fn prepare(
    client: &Client,
    path: &std::path::Path,
    options: &ReadOptions,
    header: &Header,
    row_count: u64,
    expand: &[&str],
) -> Result<(Resolution, ReadPlan), PrepareError> {
    let before = client.stats().requests;
    let key = options.key;
    let manager_column = manager_index(header);
    // The org's size, from the first page of the scan (kept if the scan is chosen).
    let mut page_size = LIST_PAGE;
    let mut first = None;
    if worth_probing(row_count) {
        // The probe only chooses a strategy: when it cannot be read now (a long
        // Retry-After, a 5xx), read by id, which is never wrong, only dearer.
        match client.list_users_page(&mut page_size, 0, expand).await {
            Ok(page) => first = Some(page),
            Err(
                e @ (crate::client::ApiError::Fatal(_) | crate::client::ApiError::Cancelled { .. }),
            ) => {
                return Err(e.into());
            }
            Err(e) => tracing::warn!("cannot read the org's size ({e}); reading users by id"),
        }
    }
    let org_users = first.as_ref().map(|p| p.total);
    let strategy = choose(row_count, org_users);
    let needs_pass = key != Key::Id || manager_column.is_some() || strategy == Strategy::Scan;
    if !needs_pass {
        let plan = ReadPlan {
            strategy,
            org_users,
            requests: client.stats().requests - before,
        };
        return Ok((Resolution::default(), plan));
    }
    let (p, o) = (path.to_path_buf(), *options);
    let rows = match tokio::task::spawn_blocking(move || collect(&p, &o)).await {
        Ok(Ok((_, rows))) => rows,
        Ok(Err(msg)) => return Err(PrepareError::Input(msg)),
        Err(e) => return Err(PrepareError::Input(e.to_string())),
    };
    let wanted: HashSet<String> = rows.iter().map(|r| r.key.clone()).collect();
    let emails: HashSet<String> = rows
        .iter()
        .filter_map(|r| r.manager_email.clone())
        .collect();
    let mut keys = Matches::new();
    let mut managers = Matches::new();
    let mut preloaded = None;
    if strategy == Strategy::Scan {
        let mut kept = HashMap::new();
        let mut lacking_employer = false;
        let first = first.take().unwrap_or_default();
        let total = first.total;
        let mut take = |users: Vec<User>| {
            for user in users {
                if user.is_deleted() {
                    continue;
                }
                if key == Key::EmployeeId && user.employer_info.is_none() {
                    lacking_employer = true;
                }
                offer(&mut managers, &emails, &user, Key::Email);
                let named = if key == Key::Id {
                    wanted.contains(&user.id.to_ascii_lowercase())
                } else {
                    offer(&mut keys, &wanted, &user, key)
                };
                if named {
                    kept.insert(user.id.to_ascii_lowercase(), user);
                }
            }
        };
        let got = first.entities as u64;
        take(first.users);
        if got > 0 && got < total {
            // The other pages, a few in flight: order does not matter to resolution,
            // and the scan's time is its pages' latency, not the pace, otherwise.
            let size = u64::from(page_size);
            let expand: Vec<String> = expand.iter().map(|e| e.to_string()).collect();
            let mut offsets = (1..).map(|k| k * size).take_while(|o| *o < total);
            let mut set = tokio::task::JoinSet::new();
            let spawn = |set: &mut tokio::task::JoinSet<_>, offset: u64| {
                let (client, expand) = (client.clone(), expand.clone());
                set.spawn(async move { fetch_range(&client, offset, size, total, &expand).await });
            };
            for offset in offsets.by_ref().take(SCAN_IN_FLIGHT) {
                spawn(&mut set, offset);
            }
            while let Some(joined) = set.join_next().await {
                let users = joined.map_err(|e| PrepareError::Input(e.to_string()))??;
                take(users);
                if let Some(offset) = offsets.next() {
                    spawn(&mut set, offset);
                }
            }
        }
        if lacking_employer {
            // employerInfo is best effort in listings: keys no scanned user held are
            // searched for, in case their user came back without it.
            let missing: Vec<String> = wanted
                .iter()
                .filter(|k| !keys.contains_key(*k))
                .cloned()
                .collect();
            search(client, key, &missing, &mut keys).await?;
        }
        preloaded = Some(Mutex::new(kept));
    } else {
        if key != Key::Id {
            let all: Vec<String> = wanted.into_iter().collect();
            search(client, key, &all, &mut keys).await?;
        }
        let all: Vec<String> = emails.into_iter().collect();
        search(client, Key::Email, &all, &mut managers).await?;
    }
    let decided = decide(&rows, key, &keys, &managers);
    let resolution = Resolution {
        rows: Some(decided),
        preloaded,
        manager_column,
    };
    let plan = ReadPlan {
        strategy,
        org_users,
        requests: client.stats().requests - before,
    };
    Ok((resolution, plan))
}

/// Pages of the whole-org listing in flight at once during a scan.
const SCAN_IN_FLIGHT: usize = 4;

/// Users `start..start+size` of the listing (fewer at its end), in one request, or
/// several if a 400 halves the page size.
async fn fetch_range(
    client: &Client,
    start: u64,
    size: u64,
    total: u64,
    expand: &[String],
) -> Result<Vec<User>, ApiError> {
    let expand: Vec<&str> = expand.iter().map(String::as_str).collect();
    let end = (start + size).min(total);
    let mut local = u32::try_from(size).unwrap_or(LIST_PAGE);
    let mut offset = start;
    let mut out = Vec::new();
    while offset < end {
        let page = client.list_users_page(&mut local, offset, &expand).await?;
        let n = page.entities as u64;
        out.extend(page.users);
        if n == 0 {
            break;
        }
        offset += n;
    }
    Ok(out)
}

/// Search `values` of `key`, 100 per `EXACT` query, every page; the answers are
/// compared on this side too (the server's notion of exact is not ours).
pub async fn search(
    client: &Client,
    key: Key,
    values: &[String],
    out: &mut Matches,
) -> Result<(), ApiError> {
    let wanted: HashSet<String> = values.iter().cloned().collect();
    let mut size = SEARCH_VALUES as u32;
    for chunk in values.chunks(SEARCH_VALUES) {
        let mut number = 1;
        loop {
            let asked = size;
            // The answer is compared on this side, so it must carry the field.
            let expand: &[&str] = if key == Key::EmployeeId {
                &["employerInfo"]
            } else {
                &[]
            };
            let page = client
                .search_users(key.search_field(), chunk, &mut size, number, expand)
                .await?;
            if size != asked {
                number = 1; // the page size changed: start the chunk again
                continue;
            }
            for user in &page.users {
                offer(out, &wanted, user, key);
            }
            if page.entities == 0 || number >= page.page_count {
                break;
            }
            number += 1;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(id: &str, email: &str, employee: Option<&str>, state: &str) -> User {
        serde_json::from_value(serde_json::json!({
            "id": id, "email": email, "username": email, "state": state, "version": 1,
            "employerInfo": employee.map(|e| serde_json::json!({"employeeId": e})),
        }))
        .unwrap()
    }

    fn rk(line: u64, key: &str, manager: Option<&str>) -> RowKeys {
        RowKeys {
            line,
            key: key.into(),
            manager_email: manager.map(str::to_string),
        }
    }

    #[test]
    fn the_scan_wins_when_the_file_names_more_than_a_fifth_of_the_org() {
        assert_eq!(choose(20_000, Some(20_000)), Strategy::Scan);
        assert_eq!(choose(4_001, Some(20_000)), Strategy::Scan);
        assert_eq!(choose(4_000, Some(20_000)), Strategy::ById);
        assert_eq!(choose(50, Some(100)), Strategy::Scan);
        assert_eq!(choose(1_000_000, None), Strategy::ById);
        assert!(!worth_probing(100) && worth_probing(101));
    }

    #[test]
    fn emails_match_in_any_case_employee_ids_exactly_after_trimming() {
        assert_eq!(
            Key::Email.normalise(" Jo.Doe@Example.COM "),
            "jo.doe@example.com"
        );
        assert_eq!(Key::EmployeeId.normalise(" E01 "), "E01");
        let u = user("A", "Jo.Doe@Example.com", Some(" e01"), "inactive");
        assert_eq!(
            key_of(&u, Key::Email).as_deref(),
            Some("jo.doe@example.com")
        );
        assert_eq!(key_of(&u, Key::EmployeeId).as_deref(), Some("e01"));
        let wanted: HashSet<String> = ["E01".to_string()].into();
        let mut m = Matches::new();
        assert!(
            !offer(&mut m, &wanted, &u, Key::EmployeeId),
            "employee ids keep their case"
        );
    }

    #[test]
    fn deleted_users_never_match_inactive_ones_do() {
        let wanted: HashSet<String> = ["a@x.com".to_string()].into();
        let mut m = Matches::new();
        assert!(!offer(
            &mut m,
            &wanted,
            &user("D", "a@x.com", None, "deleted"),
            Key::Email
        ));
        assert!(offer(
            &mut m,
            &wanted,
            &user("I", "A@x.com", None, "inactive"),
            Key::Email
        ));
        assert_eq!(m["a@x.com"], vec!["i".to_string()]);
    }

    #[test]
    fn missing_ambiguous_and_duplicate_rows_fail_and_the_others_resolve() {
        let keys: Matches = [
            ("a@x.com".to_string(), vec!["1".to_string()]),
            (
                "b@x.com".to_string(),
                vec!["2".to_string(), "3".to_string()],
            ),
            ("c@x.com".to_string(), vec!["4".to_string()]),
            ("m@x.com".to_string(), vec!["9".to_string()]),
        ]
        .into();
        let managers: Matches = [("m@x.com".to_string(), vec!["9".to_string()])].into();
        let rows = [
            rk(2, "a@x.com", Some("m@x.com")),
            rk(3, "b@x.com", None),
            rk(4, "nobody@x.com", None),
            rk(5, "c@x.com", None),
            rk(6, "c@x.com", None),
            rk(7, "m@x.com", Some("ghost@x.com")),
        ];
        let d = decide(&rows, Key::Email, &keys, &managers);
        assert_eq!(
            d[&2],
            Ok(Resolved {
                id: "1".into(),
                manager: Some("9".into())
            })
        );
        let reason = |l: u64| d[&l].as_ref().unwrap_err().reason;
        assert_eq!(reason(3), Reason::Ambiguous);
        assert!(d[&3].as_ref().unwrap_err().message.contains("2, 3"));
        assert_eq!(reason(4), Reason::NotFound);
        assert_eq!(reason(5), Reason::DuplicateUser);
        assert!(d[&5].as_ref().unwrap_err().message.contains("line 6"));
        assert!(d[&6].as_ref().unwrap_err().message.contains("line 5"));
        assert_eq!(reason(7), Reason::NotFound);
        assert!(d[&7].as_ref().unwrap_err().message.contains("manager"));
    }

    #[test]
    fn plain_ids_resolve_to_themselves() {
        let d = decide(
            &[rk(2, "abc", None)],
            Key::Id,
            &Matches::new(),
            &Matches::new(),
        );
        assert_eq!(d[&2].as_ref().unwrap().id, "abc");
    }
}
