//! A command line clap refuses: clap's own message on stderr (exit 2), and with
//! `--output json` anywhere on the line the JSON summary on stdout too
//! (`exit_reason` `usage`), so a cron wrapper parsing stdout always has one.

use std::ffi::OsString;

use clap::error::ErrorKind;

use crate::exit::Exit;
use crate::summary::{ExitReason, Summary};

/// Whether the command line asks for the JSON summary: `--output json` or
/// `--output=json` on `apply` or `validate` (export's `--output` is a file name).
pub fn wants_json<I, S>(args: I) -> bool
where
    I: IntoIterator<Item = S>,
    S: Into<OsString>,
{
    let args: Vec<String> = args
        .into_iter()
        .map(|a| a.into().to_string_lossy().into_owned())
        .collect();
    let export = args
        .iter()
        .skip(1)
        .find(|a| !a.starts_with('-') && SUBCOMMANDS.contains(&a.as_str()))
        .is_some_and(|a| a == "export");
    if export {
        return false;
    }
    args.iter().enumerate().any(|(i, a)| {
        a == "--output=json" || (a == "--output" && args.get(i + 1).is_some_and(|v| v == "json"))
    })
}

const SUBCOMMANDS: [&str; 6] = [
    "apply", "validate", "export", "recover", "sandbox", "columns",
];

/// Print what clap refused (or the help and version it was asked for) and pick the
/// exit code; with `--output json`, the usage summary goes to stdout first.
pub fn refused(e: clap::Error, args: impl IntoIterator<Item = OsString>) -> Exit {
    let help_or_version = matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion);
    if !help_or_version && wants_json(args) {
        let summary = Summary::early("", ExitReason::Usage, Some(first_line(&e)));
        crate::outcome::print::print_summary(&summary, crate::settings::Output::Json, true);
    }
    // clap prints help and version on stdout, errors on stderr.
    let _ = e.print();
    if e.exit_code() == 0 {
        Exit::Success
    } else {
        Exit::Usage
    }
}

/// clap's message without its `error: ` prefix and usage block, for the summary.
fn first_line(e: &clap::Error) -> String {
    let text = e.render().to_string();
    let line = text.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
    line.strip_prefix("error: ")
        .unwrap_or(line)
        .trim()
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_is_asked_for_anywhere_on_the_line_but_not_by_export() {
        let cases: &[(&[&str], bool)] = &[
            (&["genupdate", "apply", "--output", "json", "x.csv"], true),
            (
                &["genupdate", "apply", "x.csv", "--bogus", "--output=json"],
                true,
            ),
            (&["genupdate", "--output", "json", "apply"], true),
            (&["genupdate", "validate", "--output", "json"], true),
            (&["genupdate", "apply", "--output", "text", "json"], false),
            (&["genupdate", "apply", "x.csv"], false),
            (&["genupdate", "export", "--output", "json"], false),
            (&["genupdate", "apply", "--output"], false),
        ];
        for (args, want) in cases {
            assert_eq!(wants_json(args.iter().copied()), *want, "{args:?}");
        }
    }
}
