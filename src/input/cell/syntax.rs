//! The syntax of typed cell values: user ids, dates, email addresses, phone numbers
//! and proficiencies. Pure functions; [`super`] turns their verdicts into messages.

/// A UUID in the hyphenated 8-4-4-4-12 form, any case. Braced, URN and unhyphenated
/// forms are refused: Genesys always writes ids hyphenated, and so should the file.
pub(crate) fn parse_uuid(s: &str) -> Option<u128> {
    let b: &[u8; 36] = s.as_bytes().try_into().ok()?;
    if b[8] != b'-' || b[13] != b'-' || b[18] != b'-' || b[23] != b'-' {
        return None;
    }
    // Hex digits to values, anything else to 0xFF; OR-ing them all finds a bad one.
    const HEX: [u8; 256] = {
        let mut t = [0xFF; 256];
        let mut i = 0;
        while i < 10 {
            t[b'0' as usize + i] = i as u8;
            i += 1;
        }
        let mut i = 0;
        while i < 6 {
            t[b'a' as usize + i] = 10 + i as u8;
            t[b'A' as usize + i] = 10 + i as u8;
            i += 1;
        }
        t
    };
    let mut v: u128 = 0;
    let mut bad = 0u8;
    for (i, &c) in b.iter().enumerate() {
        if matches!(i, 8 | 13 | 18 | 23) {
            continue;
        }
        let d = HEX[c as usize];
        bad |= d;
        v = (v << 4) | u128::from(d & 0x0F);
    }
    (bad & 0xF0 == 0).then_some(v)
}

pub(super) enum DateError {
    Format,
    NoSuchDay,
}

pub(super) fn check_date(s: &str) -> Result<(), DateError> {
    let b = s.as_bytes();
    let digits = |r: std::ops::Range<usize>| b[r].iter().all(u8::is_ascii_digit);
    if b.len() != 10
        || b[4] != b'-'
        || b[7] != b'-'
        || !digits(0..4)
        || !digits(5..7)
        || !digits(8..10)
    {
        return Err(DateError::Format);
    }
    let num =
        |r: std::ops::Range<usize>| b[r].iter().fold(0u32, |n, d| n * 10 + u32::from(d - b'0'));
    let (y, m, d) = (num(0..4), num(5..7), num(8..10));
    if !(1..=12).contains(&m) {
        return Err(DateError::Format);
    }
    match chrono::NaiveDate::from_ymd_opt(y as i32, m, d) {
        Some(_) => Ok(()),
        None => Err(DateError::NoSuchDay),
    }
}

/// A practical address syntax, not all of RFC 5322: one `@`; a local part of letters,
/// digits and ``!#$%&'*+/=?^_`{|}~.-`` without leading, trailing or doubled dots; a
/// domain of at least two dot-separated labels of letters, digits and inner hyphens.
/// Non-ASCII letters are allowed (internationalised addresses). No quoted local
/// parts, comments or IP literals: Genesys users never have them.
pub(super) fn check_email(s: &str) -> Result<(), &'static str> {
    let Some((local, domain)) = s.split_once('@') else {
        return Err("it has no @");
    };
    if domain.contains('@') {
        return Err("it has more than one @");
    }
    if local.is_empty() {
        return Err("nothing before the @");
    }
    if domain.is_empty() {
        return Err("nothing after the @");
    }
    if s.len() > 254 || local.len() > 64 {
        return Err("it is too long");
    }
    if s.contains(' ') {
        return Err("it contains a space");
    }
    let local_ok = local.chars().all(|c| {
        c.is_ascii_alphanumeric()
            || matches!(
                c,
                '!' | '#'
                    | '$'
                    | '%'
                    | '&'
                    | '\''
                    | '*'
                    | '+'
                    | '/'
                    | '='
                    | '?'
                    | '^'
                    | '_'
                    | '`'
                    | '{'
                    | '|'
                    | '}'
                    | '~'
                    | '.'
                    | '-'
            )
            || (!c.is_ascii() && c.is_alphanumeric())
    });
    if !local_ok {
        return Err("a character before the @ is not allowed");
    }
    if local.starts_with('.') || local.ends_with('.') || local.contains("..") {
        return Err("dots before the @ must be single and inside");
    }
    let mut labels = 0;
    let mut tld = "";
    for label in domain.split('.') {
        if label.is_empty() || label.len() > 63 {
            return Err("the domain has an empty part");
        }
        if !label.chars().all(|c| c.is_alphanumeric() || c == '-') {
            return Err("the domain may hold only letters, digits, hyphens and dots");
        }
        if label.starts_with('-') || label.ends_with('-') {
            return Err("a part of the domain starts or ends with a hyphen");
        }
        labels += 1;
        tld = label;
    }
    if labels < 2 {
        return Err("the domain has no dot");
    }
    if tld.bytes().all(|c| c.is_ascii_digit()) {
        return Err("the domain ends in a number");
    }
    Ok(())
}

/// A plausible phone number, as people write them: digits with optional spaces,
/// dashes, dots and parentheses, an optional leading `+`, 3 to 20 digits (short
/// internal numbers to international ones with a dialling prefix). Letters, so also
/// extensions such as `x123`, are refused. This is only the first gate, with the
/// messages people need most; [`crate::phone::to_e164`] then reads the number by its
/// country's numbering plan and rewrites it to E.164.
pub(super) fn check_phone(s: &str) -> Result<(), &'static str> {
    let mut digits = 0;
    for (i, c) in s.char_indices() {
        match c {
            '0'..='9' => digits += 1,
            ' ' | '-' | '.' | '(' | ')' => {}
            '+' if i == 0 => {}
            '+' => return Err("a + may only come first"),
            c if c.is_alphabetic() => return Err("letters are not allowed"),
            _ => return Err("only digits, +, spaces, dashes, dots and parentheses are allowed"),
        }
    }
    match digits {
        0..=2 => Err("it has fewer than 3 digits"),
        3..=20 => Ok(()),
        _ => Err("it has more than 20 digits"),
    }
}

/// `D+` or `D+.D+`, from 0 to 5. No sign, exponent, `NaN` or `inf`: the syntax check
/// runs before `f64` parsing. The error is a hint to append to the message.
pub(super) fn parse_proficiency(s: &str) -> Result<f64, &'static str> {
    let b = s.as_bytes();
    let int_end = b
        .iter()
        .position(|c| !c.is_ascii_digit())
        .unwrap_or(b.len());
    let frac_ok = match &b[int_end..] {
        [] => true,
        [b'.', rest @ ..] => !rest.is_empty() && rest.iter().all(u8::is_ascii_digit),
        [b',', rest @ ..]
            if int_end > 0 && !rest.is_empty() && rest.iter().all(u8::is_ascii_digit) =>
        {
            return Err("; use a dot as the decimal separator");
        }
        _ => false,
    };
    if int_end == 0 || !frac_ok {
        return Err("");
    }
    match s.parse::<f64>() {
        Ok(v) if (0.0..=5.0).contains(&v) => Ok(v),
        _ => Err(""),
    }
}
