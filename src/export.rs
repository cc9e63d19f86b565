//! `genupdate export`: the current values of users, as a CSV that `apply` reads back.
//!
//! The org is read with the whole-org listing (500 users per page, `state=any`,
//! deleted users dropped) and written row by row as the pages arrive: memory holds
//! one page, plus an id -> email map of the org when managers are exported by email
//! (a first pass without expand builds it; about a hundred bytes per user). Each
//! cell is what `apply` would read back as the same value ([`cell`], a pure
//! function): empty for no value (apply keeps it), formula characters neutralised
//! as in the reports, padded or invisible text and the literal clear marker as
//! `#TEXT:` escapes. A value the grammar cannot pin down (two contact entries of one
//! type: apply would refuse the cell) is left empty and the user named in a warning.
//! `--keys FILE` exports only the users a CSV names: the scan is filtered by its
//! keys (one scan costs org/500 requests, fewer than searching a large key file).

use std::collections::{HashMap, HashSet};
use std::io::Write;
use std::time::Duration;

use crate::apply::Env;
use crate::cli::ExportArgs;
use crate::client::{ApiError, Client, ClientConfig};
use crate::exit::Exit;
use crate::input::escape::encode_value;
use crate::input::{Column, FileFormat, Key, ProfileField, ReadOptions};
use crate::model::User;
use crate::plan::{contact_value, fmt_prof};
use crate::resolve::{LIST_PAGE, key_of};

/// Why one cell is left empty.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Unrepresentable {
    /// The user holds this many entries of the column's media type and type.
    Ambiguous(usize),
}

/// The default columns: every plain profile column but the key.
pub fn default_columns(key: Key) -> Vec<Column> {
    ProfileField::ALL
        .into_iter()
        .map(Column::Profile)
        .filter(|c| *c != key.column())
        .collect()
}

/// The cell of `column` for `user`, in apply's grammar. `emails` maps manager ids
/// to emails when managers are exported by email; `routing` is the skill or
/// language id of a routing column.
pub fn cell(
    user: &User,
    column: &Column,
    emails: Option<&HashMap<String, String>>,
    routing: Option<&str>,
) -> Result<String, Unrepresentable> {
    let text = |v: Option<&str>| v.map(encode_value).unwrap_or_default();
    let employer = user.employer_info.as_ref();
    Ok(match column {
        Column::Id => user.id.clone(),
        Column::Profile(f) => match f {
            ProfileField::Name => text(user.name.as_deref()),
            ProfileField::Email => text(user.email.as_deref()),
            ProfileField::Title => text(user.title.as_deref()),
            ProfileField::Department => text(user.department.as_deref()),
            ProfileField::Username => text(user.username.as_deref()),
            ProfileField::PreferredName => text(user.preferred_name.as_deref()),
            ProfileField::Manager => match &user.manager {
                None => String::new(),
                Some(m) => {
                    let id = m.id.to_ascii_lowercase();
                    match emails.and_then(|e| e.get(&id)) {
                        Some(email) => encode_value(email),
                        None => id,
                    }
                }
            },
            ProfileField::State => user.state.clone().unwrap_or_default(),
            ProfileField::AcdAutoAnswer => user
                .acd_auto_answer
                .map(|b| b.to_string())
                .unwrap_or_default(),
            ProfileField::OfficialName => text(employer.and_then(|e| e.official_name.as_deref())),
            ProfileField::EmployeeId => text(employer.and_then(|e| e.employee_id.as_deref())),
            ProfileField::EmployeeType => text(employer.and_then(|e| e.employee_type.as_deref())),
            ProfileField::DateHire => text(employer.and_then(|e| e.date_hire.as_deref())),
        },
        Column::Contact(media, kind) => {
            let entries: Vec<_> = user
                .addresses
                .iter()
                .filter(|c| crate::plan::contact_is(c, *media, *kind))
                .collect();
            match entries.as_slice() {
                [] => String::new(),
                [one] => text(contact_value(one, *media).as_deref()),
                many => return Err(Unrepresentable::Ambiguous(many.len())),
            }
        }
        Column::Skill(_) | Column::Language(_) => {
            let list = match column {
                Column::Skill(_) => user.skills.as_deref(),
                _ => user.languages.as_deref(),
            };
            let p = routing.and_then(|id| list?.iter().find(|s| s.id == id).map(|s| s.proficiency));
            fmt_prof(p)
        }
        // Memberships are not part of the user document: the export fills these
        // cells from its own membership reads (crate::members::export).
        Column::Member(..) => String::new(),
    })
}

/// `genupdate export` from the command line.
pub fn export_command(args: &ExportArgs, quiet: bool) -> Exit {
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("genupdate: cannot start the async runtime: {e}");
            return Exit::Aborted;
        }
    };
    match rt.block_on(export(args, &Env::from_process(), quiet)) {
        Ok(()) => Exit::Success,
        Err((exit, msg)) => {
            eprintln!("genupdate: export: {msg}");
            exit
        }
    }
}

/// Run one export to completion.
pub async fn export(args: &ExportArgs, env: &Env, quiet: bool) -> Result<(), (Exit, String)> {
    let usage = |m: String| (Exit::Usage, m);
    let key = args.key;
    let mut columns = match &args.columns {
        None => default_columns(key),
        Some(list) => list
            .split(',')
            .map(str::trim)
            .filter(|n| !n.is_empty())
            .map(|n| crate::input::column(n).map_err(|e| format!("--columns: {e}")))
            .collect::<Result<Vec<_>, _>>()
            .map_err(usage)?,
    };
    columns.retain(|c| *c != key.column() && *c != Column::Id);
    if let Some(c) = columns
        .iter()
        .find(|c| matches!(c, Column::Member(_, op) if *op != crate::input::ListOp::Replace))
    {
        return Err(usage(format!(
            "--columns: {} is a change column; export writes the current memberships in the \
             replace column ({})",
            column_name(c),
            match c {
                Column::Member(f, _) => f.header(),
                _ => "",
            }
        )));
    }
    // The export's format: --delimiter, else the --keys file's; a BOM with --bom or
    // when the --keys file has one.
    let mut format = FileFormat {
        delimiter: args.delimiter.unwrap_or_default(),
        bom: args.bom,
    };
    let wanted = match &args.keys {
        None => None,
        Some(path) => {
            let options = ReadOptions {
                key,
                delimiter: args.delimiter,
                ..ReadOptions::default()
            };
            let (header, rows) = crate::resolve::collect(path, &options).map_err(usage)?;
            format.delimiter = header.format.delimiter;
            format.bom |= header.format.bom;
            Some(rows.into_iter().map(|r| r.key).collect::<HashSet<String>>())
        }
    };
    let target = crate::settings::target(
        args.sandbox,
        args.region.as_deref(),
        args.insecure_allow_http_to_remote_host,
        args.profile.as_deref(),
    )
    .map_err(usage)?;
    let ca_roots = crate::settings::ca_roots(args.ca_file.as_deref()).map_err(usage)?;
    let env = env.with_profile_secret(&target);
    let (endpoints, credentials, sandbox) = crate::apply::connect_target(&target, &env)
        .await
        .map_err(usage)?;
    let mut cfg = ClientConfig::new(endpoints, credentials);
    cfg.extra_roots = ca_roots;
    cfg.rate_per_minute = args.rate.map(f64::from);
    cfg.request_timeout = Duration::from_secs(args.timeout.max(1));
    let client = Client::connect(cfg)
        .await
        .map_err(|e| (Exit::Aborted, e.to_string()))?;
    let result = run(&client, args, format, key, &columns, wanted.as_ref(), quiet).await;
    if let Some(s) = sandbox {
        s.shutdown().await;
    }
    result
}

async fn run(
    client: &Client,
    args: &ExportArgs,
    format: FileFormat,
    key: Key,
    columns: &[Column],
    wanted: Option<&HashSet<String>>,
    quiet: bool,
) -> Result<(), (Exit, String)> {
    let api = |e: ApiError| (Exit::Aborted, format!("reading users failed: {e}"));
    let io = |e: std::io::Error| (Exit::Aborted, format!("cannot write the export: {e}"));
    // Skill and language names, resolved once.
    let mut routing: Vec<Option<String>> = vec![None; columns.len()];
    for (i, c) in columns.iter().enumerate() {
        let (name, found) = match c {
            Column::Skill(n) => (n, client.find_skills(n).await.map_err(api)?),
            Column::Language(n) => (n, client.find_languages(n).await.map_err(api)?),
            _ => continue,
        };
        match found.iter().find(|e| e.name.eq_ignore_ascii_case(name)) {
            Some(e) => routing[i] = Some(e.id.clone()),
            None => {
                return Err((
                    Exit::InvalidInput,
                    format!("no skill or language named '{name}'"),
                ));
            }
        }
    }
    let mut expand = vec!["employerInfo"];
    if columns.iter().any(|c| matches!(c, Column::Skill(_))) {
        expand.push("skills");
    }
    if columns.iter().any(|c| matches!(c, Column::Language(_))) {
        expand.push("languages");
    }
    let wants_locations = columns
        .iter()
        .any(|c| matches!(c, Column::Member(crate::input::Family::Locations, _)));
    if wants_locations {
        expand.push("locations");
    }
    let manager_by_email =
        key == Key::Email && columns.contains(&Column::Profile(ProfileField::Manager));
    let emails = if manager_by_email {
        let mut map = HashMap::new();
        scan(client, &[], |u| {
            if let Some(e) = &u.email {
                map.insert(u.id.to_ascii_lowercase(), e.clone());
            }
            Ok(())
        })
        .await
        .map_err(|e| match e {
            ScanError::Api(e) => api(e),
            ScanError::Io(e) => io(e),
        })?;
        Some(map)
    } else {
        None
    };

    // Memberships, read per queue and group (opt-in: they cost reads).
    let families: Vec<crate::input::Family> = columns
        .iter()
        .filter_map(|c| match c {
            Column::Member(f, _) => Some(*f),
            _ => None,
        })
        .collect();
    let memberships = if families.is_empty() {
        crate::members::export::ByUser::new()
    } else {
        crate::members::export::memberships_by_user(client, &families)
            .await
            .map_err(|e| (Exit::Aborted, format!("reading memberships failed: {e}")))?
    };

    let location_names = if wants_locations {
        crate::members::export::location_names(client)
            .await
            .map_err(|e| {
                (
                    Exit::Aborted,
                    format!("reading the org's locations failed: {e}"),
                )
            })?
    } else {
        Default::default()
    };

    let mut out: Box<dyn Write> = match &args.output {
        Some(path) => Box::new(std::fs::File::create(path).map_err(|e| {
            (
                Exit::Usage,
                format!("cannot create {}: {e}", path.display()),
            )
        })?),
        None => Box::new(std::io::stdout().lock()),
    };
    out.write_all(format.preamble()).map_err(io)?;
    let mut w = format
        .writer()
        .terminator(csv::Terminator::CRLF)
        .from_writer(std::io::BufWriter::new(out));
    let mut header = vec![key.header().to_string()];
    header.extend(columns.iter().map(column_name));
    w.write_record(&header).map_err(|e| io(e.into()))?;
    let (mut rows, mut warned, mut keyless) = (0u64, 0u64, 0u64);
    let mut found: HashSet<String> = HashSet::new();
    let result = scan(client, &expand, |mut user| {
        let Some(k) = key_of(&user, key) else {
            keyless += 1;
            return Ok(());
        };
        if let Some(wanted) = wanted {
            if !wanted.contains(&k) {
                return Ok(());
            }
            found.insert(k);
        }
        if user.employer_info.is_none() {
            // Best-effort expand: an absent employerInfo is unknown, not empty.
            user.employer_info = Some(Default::default());
            if columns.iter().any(is_employer) {
                tracing::warn!(
                    "user {} came back without employerInfo: its employerInfo cells are empty \
                     (apply keeps the current values)",
                    user.id
                );
            }
        }
        let mut record = vec![cell(&user, &key.column(), None, None).unwrap_or_default()];
        for (i, c) in columns.iter().enumerate() {
            if let Column::Member(f, _) = c {
                if let Some(v) = crate::members::export::user_cell(*f, &user, &location_names) {
                    record.push(v);
                    continue;
                }
                let mine = memberships
                    .get(f)
                    .and_then(|m| m.get(&user.id.to_ascii_lowercase()));
                record.push(crate::members::export::cell(mine));
                continue;
            }
            match cell(&user, c, emails.as_ref(), routing[i].as_deref()) {
                Ok(v) => record.push(v),
                Err(Unrepresentable::Ambiguous(n)) => {
                    warned += 1;
                    eprintln!(
                        "genupdate: export: user {} holds {n} {} entries; the cell is left \
                         empty (apply leaves it alone)",
                        user.id,
                        column_name(c)
                    );
                    record.push(String::new());
                }
            }
        }
        rows += 1;
        w.write_record(&record).map_err(std::io::Error::from)
    })
    .await;
    result.map_err(|e| match e {
        ScanError::Api(e) => api(e),
        ScanError::Io(e) => io(e),
    })?;
    w.flush().map_err(io)?;
    if let Some(wanted) = wanted
        && found.len() < wanted.len()
    {
        eprintln!(
            "genupdate: export: {} key(s) of --keys match no user that is not deleted",
            wanted.len() - found.len()
        );
    }
    if !quiet {
        eprintln!(
            "genupdate: exported {rows} user(s){}{}",
            if warned > 0 {
                format!(", {warned} cell(s) left empty (see the warnings)")
            } else {
                String::new()
            },
            if keyless > 0 {
                format!(", {keyless} user(s) without a {} skipped", key.header())
            } else {
                String::new()
            }
        );
    }
    Ok(())
}

fn is_employer(c: &Column) -> bool {
    matches!(
        c,
        Column::Profile(
            ProfileField::OfficialName
                | ProfileField::EmployeeId
                | ProfileField::EmployeeType
                | ProfileField::DateHire
        )
    )
}

/// The header name of a column.
pub use crate::input::column_name;

enum ScanError {
    Api(ApiError),
    Io(std::io::Error),
}

/// Every user that is not deleted, page by page, handed to `each`.
async fn scan(
    client: &Client,
    expand: &[&str],
    mut each: impl FnMut(User) -> std::io::Result<()>,
) -> Result<(), ScanError> {
    let mut size = LIST_PAGE;
    let mut offset = 0u64;
    loop {
        let page = client
            .list_users_page(&mut size, offset, expand)
            .await
            .map_err(ScanError::Api)?;
        let n = page.entities as u64;
        for user in page.users {
            if !user.is_deleted() {
                each(user).map_err(ScanError::Io)?;
            }
        }
        offset += n;
        if n == 0 || offset >= page.total {
            return Ok(());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::{ContactType, MediaType};

    fn user(v: serde_json::Value) -> User {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn awkward_values_are_written_so_apply_reads_them_back() {
        let u = user(serde_json::json!({
            "id": "u1", "version": 1, "title": "Agent ", "department": "=SUM(A1)",
            "name": "#CLEAR", "acdAutoAnswer": false,
            "manager": {"id": "M1"},
            "addresses": [
                {"mediaType": "PHONE", "type": "WORK", "address": "+13175550142"},
                {"mediaType": "EMAIL", "type": "WORK", "address": "a@x.com"},
                {"mediaType": "EMAIL", "type": "WORK", "address": "b@x.com"}
            ]
        }));
        let c = |col: Column| cell(&u, &col, None, None);
        assert_eq!(
            c(Column::Profile(ProfileField::Title)).unwrap(),
            "#TEXT:Agent\\s"
        );
        assert_eq!(
            c(Column::Profile(ProfileField::Department)).unwrap(),
            "'=SUM(A1)"
        );
        assert_eq!(
            c(Column::Profile(ProfileField::Name)).unwrap(),
            "#TEXT:#CLEAR"
        );
        assert_eq!(
            c(Column::Profile(ProfileField::AcdAutoAnswer)).unwrap(),
            "false"
        );
        assert_eq!(c(Column::Profile(ProfileField::PreferredName)).unwrap(), "");
        assert_eq!(c(Column::Profile(ProfileField::Manager)).unwrap(), "m1");
        let emails: HashMap<String, String> = [("m1".to_string(), "boss@x.com".to_string())].into();
        let m = cell(
            &u,
            &Column::Profile(ProfileField::Manager),
            Some(&emails),
            None,
        );
        assert_eq!(m.unwrap(), "boss@x.com");
        assert_eq!(
            c(Column::Contact(MediaType::Phone, ContactType::Work)).unwrap(),
            "'+13175550142"
        );
        assert_eq!(
            c(Column::Contact(MediaType::Email, ContactType::Work)),
            Err(Unrepresentable::Ambiguous(2))
        );
    }

    #[test]
    fn the_default_columns_are_the_profile_columns_but_the_key() {
        let cols = default_columns(Key::Email);
        assert_eq!(cols.len(), ProfileField::ALL.len() - 1);
        assert!(!cols.contains(&Column::Profile(ProfileField::Email)));
        assert_eq!(default_columns(Key::Id).len(), ProfileField::ALL.len());
    }
}
