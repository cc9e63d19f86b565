//! The CSV grammar genupdate accepts, and its validation with line and column numbers.
//!
//! The types here are the contract between the reader and everything downstream:
//! a [`Header`] says what each column means, a [`Row`] carries one validated line as
//! typed [`Cell`]s. The reader streams: memory grows only with the set of ids seen.
//!
//! See the README ("CSV format") for the user-facing description.

mod cell;
mod delimiter;
pub mod escape;
mod ids;
pub mod lists;
mod quotes;
mod reader;
mod record;
mod schema;
mod text;
mod validate;

pub use delimiter::{BOM, Delimiter, DelimiterRows, FileFormat};
pub use lists::{Family, ListOp};
pub use reader::{RowReader, open, open_with_options};
pub use schema::canonical as column_name;
pub use validate::{
    ValidationSummary, validate_command, validate_path, validate_path_options, validate_path_with,
    validate_path_with_options,
};

use crate::phone::Country;

/// What the command line says about how to read the file's values. The default is
/// what the plain functions ([`validate_path`], [`open`]) use.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ReadOptions {
    /// The country of phone and SMS numbers written without a leading `+`
    /// (`--default-country`). None: such a number is a validation problem.
    pub default_country: Option<Country>,
    /// Which column names the user (`--key`).
    pub key: Key,
    /// The cell delimiter (`--delimiter`); `None`: guessed from the header line.
    pub delimiter: Option<Delimiter>,
}

/// The column that says which user a row is for (`--key`). Every other column is a
/// value to write; the key column itself is never written.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, clap::ValueEnum)]
pub enum Key {
    /// `id`: the Genesys user id (a UUID).
    #[default]
    Id,
    /// `email`: the primary email, matched in any case.
    Email,
    /// `username`: matched in any case.
    Username,
    /// `employerInfo.employeeId`: matched exactly, after trimming.
    #[value(name = "employeeId")]
    EmployeeId,
}

impl Key {
    /// The header column that holds the key.
    pub fn column(self) -> Column {
        match self {
            Key::Id => Column::Id,
            Key::Email => Column::Profile(ProfileField::Email),
            Key::Username => Column::Profile(ProfileField::Username),
            Key::EmployeeId => Column::Profile(ProfileField::EmployeeId),
        }
    }

    /// The header name of the key column.
    pub fn header(self) -> &'static str {
        match self {
            Key::Id => "id",
            Key::Email => "email",
            Key::Username => "username",
            Key::EmployeeId => "employerInfo.employeeId",
        }
    }

    /// The flag value, as `--key` takes it.
    pub fn flag(self) -> &'static str {
        match self {
            Key::Id => "id",
            Key::Email => "email",
            Key::Username => "username",
            Key::EmployeeId => "employeeId",
        }
    }

    /// The form two keys are compared in: ids and emails and usernames lower-cased
    /// (they match in any case), employee ids trimmed and otherwise exact.
    pub fn normalise(self, value: &str) -> String {
        match self {
            Key::Id | Key::Email | Key::Username => value.trim().to_lowercase(),
            Key::EmployeeId => value.trim().to_string(),
        }
    }

    /// The search field of `POST /api/v2/users/search`.
    pub fn search_field(self) -> &'static str {
        match self {
            Key::Id => "id",
            Key::Email => "email",
            Key::Username => "username",
            Key::EmployeeId => "employerInfo.employeeId",
        }
    }
}

/// The delimiter of a CSV text, guessed from its header line (`,` unless a `;` or
/// tab, and not a comma, splits it into known column names).
pub fn sniff_delimiter(head: &[u8]) -> Delimiter {
    delimiter::sniff(delimiter::first_line(head)).delimiter
}

/// What a column name means (as in a header), or why it means nothing.
pub fn column(name: &str) -> Result<Column, String> {
    schema::classify(name)
}

/// The cell value that clears a field, or removes a skill, language or contact.
/// Plain text in every spreadsheet, and not a value any Genesys field can hold.
pub const CLEAR_MARKER: &str = "#CLEAR";

/// Contact media types (`phone:`, `email:`, `sms:` column prefixes).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum MediaType {
    Phone,
    Email,
    Sms,
}

impl MediaType {
    pub const ALL: [MediaType; 3] = [MediaType::Phone, MediaType::Email, MediaType::Sms];

    /// The column prefix, e.g. `phone`.
    pub fn prefix(self) -> &'static str {
        match self {
            MediaType::Phone => "phone",
            MediaType::Email => "email",
            MediaType::Sms => "sms",
        }
    }

    /// The API's `mediaType`, e.g. `PHONE`.
    pub fn wire(self) -> &'static str {
        match self {
            MediaType::Phone => "PHONE",
            MediaType::Email => "EMAIL",
            MediaType::Sms => "SMS",
        }
    }
}

/// Genesys Contact types.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ContactType {
    Primary,
    Work,
    Work2,
    Work3,
    Work4,
    Home,
    Mobile,
    Main,
    Other,
}

impl ContactType {
    pub const ALL: [ContactType; 9] = [
        ContactType::Primary,
        ContactType::Work,
        ContactType::Work2,
        ContactType::Work3,
        ContactType::Work4,
        ContactType::Home,
        ContactType::Mobile,
        ContactType::Main,
        ContactType::Other,
    ];

    /// The API's `type`, e.g. `WORK2`; also the column suffix.
    pub fn wire(self) -> &'static str {
        match self {
            ContactType::Primary => "PRIMARY",
            ContactType::Work => "WORK",
            ContactType::Work2 => "WORK2",
            ContactType::Work3 => "WORK3",
            ContactType::Work4 => "WORK4",
            ContactType::Home => "HOME",
            ContactType::Mobile => "MOBILE",
            ContactType::Main => "MAIN",
            ContactType::Other => "OTHER",
        }
    }
}

/// The profile columns, named after the UpdateUser JSON fields.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ProfileField {
    Name,
    Email,
    Title,
    Department,
    Username,
    PreferredName,
    Manager,
    State,
    AcdAutoAnswer,
    OfficialName,
    EmployeeId,
    EmployeeType,
    DateHire,
}

impl ProfileField {
    pub const ALL: [ProfileField; 13] = [
        ProfileField::Name,
        ProfileField::Email,
        ProfileField::Title,
        ProfileField::Department,
        ProfileField::Username,
        ProfileField::PreferredName,
        ProfileField::Manager,
        ProfileField::State,
        ProfileField::AcdAutoAnswer,
        ProfileField::OfficialName,
        ProfileField::EmployeeId,
        ProfileField::EmployeeType,
        ProfileField::DateHire,
    ];

    /// The header name, e.g. `preferredName` or `employerInfo.dateHire`.
    pub fn header(self) -> &'static str {
        match self {
            ProfileField::Name => "name",
            ProfileField::Email => "email",
            ProfileField::Title => "title",
            ProfileField::Department => "department",
            ProfileField::Username => "username",
            ProfileField::PreferredName => "preferredName",
            ProfileField::Manager => "manager",
            ProfileField::State => "state",
            ProfileField::AcdAutoAnswer => "acdAutoAnswer",
            ProfileField::OfficialName => "employerInfo.officialName",
            ProfileField::EmployeeId => "employerInfo.employeeId",
            ProfileField::EmployeeType => "employerInfo.employeeType",
            ProfileField::DateHire => "employerInfo.dateHire",
        }
    }

    /// Whether the clear marker is allowed (a user always has a name, state, ...).
    pub fn clearable(self) -> bool {
        !matches!(
            self,
            ProfileField::Name
                | ProfileField::Email
                | ProfileField::Username
                | ProfileField::State
                | ProfileField::AcdAutoAnswer
        )
    }
}

/// What one header column means.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Column {
    Id,
    Profile(ProfileField),
    Contact(MediaType, ContactType),
    /// `skill:<name>`; the name as written in the header.
    Skill(String),
    /// `language:<name>`.
    Language(String),
    /// A membership list column (`queues`, `queues:add`, `groups:remove`, ...): names
    /// in the list-cell grammar of [`lists`], written by [`crate::members`].
    Member(Family, ListOp),
}

/// The validated header.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Header {
    /// The canonical name of each column (`title` for a header cell `Title`,
    /// `phone:WORK` for `Phone:work`), for error messages and for the files a run
    /// writes. Empty header cells after the last column are not columns.
    pub names: Vec<String>,
    /// One per header cell, same order.
    pub columns: Vec<Column>,
    /// Index of the key column (`id`, or the column `--key` names).
    pub id_index: usize,
    /// Which key the file is read with.
    pub key: Key,
    /// The input's delimiter and byte-order mark, for the files a run writes.
    pub format: FileFormat,
}

impl Header {
    /// The key column of undo files and journals: the key column's own name for
    /// `--key id`, else `id` (a run records the users it resolved by their ids, so
    /// its undo file applies with the default key whatever the input was keyed by).
    pub fn undo_key(&self) -> &str {
        if self.key == Key::Id {
            &self.names[self.id_index]
        } else {
            "id"
        }
    }
}

/// A validated cell value.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// Text, emails, user ids (manager), dates (`YYYY-MM-DD`), contact addresses.
    Text(String),
    /// `acdAutoAnswer`.
    Bool(bool),
    /// `state`.
    State(UserState),
    /// A skill or language proficiency, 0 to 5.
    Proficiency(f64),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UserState {
    Active,
    Inactive,
}

impl UserState {
    pub fn wire(self) -> &'static str {
        match self {
            UserState::Active => "active",
            UserState::Inactive => "inactive",
        }
    }
}

/// What a row says about one column.
#[derive(Clone, Debug, PartialEq)]
pub enum Cell {
    /// Empty cell: leave unchanged.
    Keep,
    /// The clear marker: clear the field, remove the skill, language or contact.
    Clear,
    Set(Value),
}

/// One validated data row.
#[derive(Clone, Debug, PartialEq)]
pub struct Row {
    /// Physical line in the file where the record starts (the header is line 1).
    pub line: u64,
    /// The user id (a UUID, lower-cased). For a file keyed by another column it is
    /// empty until the key is resolved, before the row reaches the runner.
    pub id: String,
    /// The key as written, normalised ([`Key::normalise`]); the id itself for `--key id`.
    pub key: String,
    /// One per header column, same order; the id column holds [`Cell::Keep`].
    pub cells: Vec<Cell>,
    /// The cells exactly as they were in the file, to write failed rows back.
    pub raw: Vec<String>,
}

/// One validation problem, reported as `FILE:LINE:COLUMN: message`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    /// Physical line (the header is line 1).
    pub line: u64,
    /// The header name of the column, when the problem belongs to one.
    pub column: Option<String>,
    pub message: String,
}

impl Problem {
    /// `FILE:LINE:COLUMN: message` (or `FILE:LINE: message` without a column).
    ///
    /// Control and invisible characters in the column name or message (a header cell
    /// such as `title\x1b[2J`) are written as `\u{XXXX}`, so a hostile file cannot
    /// move the cursor, recolour or reorder what the terminal shows.
    pub fn render(&self, file: &str) -> String {
        let message = text::escape_invisible(&self.message);
        match &self.column {
            Some(col) => format!(
                "{file}:{}:{}: {message}",
                self.line,
                text::escape_invisible(col)
            ),
            None => format!("{file}:{}: {message}", self.line),
        }
    }

    /// Print the problem on stderr as the run's logs go: the rendered line, or with
    /// `--log-format json` an ERROR log line with `file`, `line`, `column` and the
    /// message, so stderr stays all JSON.
    pub fn emit(&self, file: &str) {
        if crate::logging::style() == crate::settings::LogStyle::Json {
            tracing::error!(
                file,
                line = self.line,
                column = self.column.as_deref().unwrap_or(""),
                "{}",
                text::escape_invisible(&self.message)
            );
        } else {
            eprintln!("{}", self.render(file));
        }
    }
}

/// Reading the file failed before any row could be judged.
#[derive(Debug, thiserror::Error)]
pub enum InputError {
    #[error("{path}: cannot read: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    /// The header itself is unusable; every problem found in it.
    #[error("{path}: the header is invalid")]
    Header {
        path: String,
        problems: Vec<Problem>,
    },
}
