//! Write a large, valid, realistic input file for benchmarking `genupdate validate`.
//!
//! ```text
//! cargo run --release --example gen_csv -- --rows 1000000 --out /tmp/big.csv
//! /usr/bin/time -v target/release/genupdate validate /tmp/big.csv
//! ```
//!
//! The output is deterministic (a fixed-seed SplitMix64, no `rand` version drift),
//! every id is unique (row number in the last 48 bits), and the columns and cell
//! mix match examples/users.csv: some cells empty, some `#CLEAR`, quoted titles.

use std::io::{BufWriter, Write};
use std::process::ExitCode;

const HEADER: &str = "id,name,title,department,email,state,acdAutoAnswer,manager,phone:WORK,\
email:OTHER,employerInfo.employeeId,employerInfo.dateHire,skill:Billing,skill:Sales,language:Spanish";

const FIRST: [&str; 12] = [
    "Maria", "James", "Sofia", "Liam", "Aiko", "Noah", "Chloé", "Mateo", "Priya", "Ethan",
    "Fatima", "Lucas",
];
const LAST: [&str; 10] = [
    "Keller",
    "Okafor",
    "Hernández",
    "O'Brien",
    "Tanaka",
    "Schmidt",
    "Martin",
    "Rossi",
    "Natarajan",
    "Walker",
];
const TITLES: [&str; 5] = [
    "Agent",
    "Senior Agent",
    "Team Lead",
    "\"Supervisor, Billing\"",
    "Trainer",
];
const DEPARTMENTS: [&str; 4] = ["Billing", "Sales", "Customer Care", "Retention"];
const PROFICIENCY: [&str; 8] = ["", "", "1", "2", "3", "3.5", "4.5", "5"];

struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[(self.next() % items.len() as u64) as usize]
    }
}

/// A v4-shaped UUID whose last 48 bits are the row number: unique by construction.
fn user_id(row: u64) -> String {
    let mut rng = SplitMix(row ^ 0xC0FF_EE00);
    let hi = rng.next();
    let lo = rng.next();
    format!(
        "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
        hi >> 32,
        (hi >> 16) & 0xffff,
        hi & 0x0fff,
        0x8000 | (lo & 0x3fff),
        row & 0xffff_ffff_ffff
    )
}

fn main() -> ExitCode {
    let mut rows: u64 = 1_000_000;
    let mut out: Option<String> = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match (arg.as_str(), args.next()) {
            ("--rows", Some(n)) => match n.parse() {
                Ok(n) => rows = n,
                Err(e) => {
                    eprintln!("gen_csv: --rows {n}: {e}");
                    return ExitCode::from(2);
                }
            },
            ("--out", Some(path)) => out = Some(path),
            _ => {
                eprintln!("usage: gen_csv [--rows N] --out FILE");
                return ExitCode::from(2);
            }
        }
    }
    let Some(path) = out else {
        eprintln!("usage: gen_csv [--rows N] --out FILE");
        return ExitCode::from(2);
    };
    match write(&path, rows) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("gen_csv: {path}: {e}");
            ExitCode::FAILURE
        }
    }
}

fn write(path: &str, rows: u64) -> std::io::Result<()> {
    let mut w = BufWriter::with_capacity(1 << 20, std::fs::File::create(path)?);
    let mut rng = SplitMix(42);
    writeln!(w, "{HEADER}")?;
    for row in 0..rows {
        let (first, last) = (rng.pick(&FIRST), rng.pick(&LAST));
        let login = format!(
            "{}.{}{row}",
            first.to_lowercase(),
            last.to_lowercase().replace('\'', "")
        );
        let manager = if row < 10 {
            String::new()
        } else {
            user_id(row / 10)
        };
        let phone = if rng.next().is_multiple_of(5) {
            String::new()
        } else {
            format!("+1 317-555-{:04}", rng.next() % 10_000)
        };
        let other = match rng.next() % 20 {
            0 => "#CLEAR".to_string(),
            1..=3 => format!("{login}@example.org"),
            _ => String::new(),
        };
        let hire = format!(
            "{}-{:02}-{:02}",
            2010 + rng.next() % 15,
            1 + rng.next() % 12,
            1 + rng.next() % 28
        );
        let sales = if rng.next().is_multiple_of(50) {
            "#CLEAR"
        } else {
            rng.pick(&PROFICIENCY)
        };
        writeln!(
            w,
            "{},{first} {last},{},{},{login}@example.com,{},{},{manager},{phone},{other},E{:07},{hire},{},{sales},{}",
            user_id(row),
            rng.pick(&TITLES),
            rng.pick(&DEPARTMENTS),
            if rng.next().is_multiple_of(10) {
                "inactive"
            } else {
                "active"
            },
            if rng.next().is_multiple_of(2) {
                "true"
            } else {
                "false"
            },
            row,
            rng.pick(&PROFICIENCY),
            rng.pick(&PROFICIENCY),
        )?;
    }
    w.flush()
}
