//! Decoding text files as Chinese offices save them: UTF-8 with or without
//! a byte-order mark, or GB18030/GBK (what Chinese Excel and Notepad write).

use encoding_rs::{Encoding, GB18030, UTF_8};

/// The encoding of a file's first bytes: UTF-8 when they carry its BOM or
/// are valid UTF-8 (a character cut at the end of the sample is allowed),
/// GB18030 otherwise.
pub fn sniff(sample: &[u8]) -> &'static Encoding {
    if sample.starts_with(&[0xEF, 0xBB, 0xBF]) {
        return UTF_8;
    }
    match std::str::from_utf8(sample) {
        Ok(_) => UTF_8,
        // An error with no `error_len` is a sequence cut by the sample's end.
        Err(e) if e.error_len().is_none() => UTF_8,
        Err(_) => GB18030,
    }
}

/// Decodes a whole file; `Err` names the encoding that failed.
pub fn decode(bytes: &[u8]) -> Result<String, &'static str> {
    let enc = sniff(bytes);
    let (text, _, had_errors) = enc.decode(bytes);
    if had_errors {
        return Err(if enc == UTF_8 { "UTF-8" } else { "GBK/GB18030" });
    }
    Ok(text.into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gbk_and_utf8_both_decode() {
        let (gbk, _, _) = GB18030.encode("市教育局");
        assert_eq!(decode(&gbk), Ok("市教育局".to_string()));
        assert_eq!(
            decode("\u{feff}市教育局".as_bytes()),
            Ok("市教育局".to_string())
        );
        assert_eq!(sniff(&"市教育局".as_bytes()[..5]), UTF_8);
    }
}

/// A date as offices write it: `2026-01-05`, `2026/1/5`, `2026年1月5日`
/// (a time after it, as some exports add, is ignored).
pub fn parse_date(s: &str) -> Option<chrono::NaiveDate> {
    let s = s.trim();
    let day = s.split([' ', 'T']).next().unwrap_or(s);
    // Read by hand rather than with chrono's format strings: an import
    // reads a date or two on every row of a million.
    let day = day.strip_suffix('日').unwrap_or(day);
    let mut parts = day.split(['-', '/', '.', '年', '月']);
    let mut number = |digits: std::ops::RangeInclusive<usize>| {
        parts
            .next()
            .filter(|p| digits.contains(&p.len()) && p.bytes().all(|b| b.is_ascii_digit()))
            .and_then(|p| p.parse::<u32>().ok())
    };
    let (y, m, d) = (number(4..=4)?, number(1..=2)?, number(1..=2)?);
    if parts.next().is_some() {
        return None;
    }
    chrono::NaiveDate::from_ymd_opt(i32::try_from(y).ok()?, m, d)
}

/// Whether `s` is written exactly as duban stores a date (`2026-01-05`):
/// then, once [`parse_date`] accepts it, it can be stored as it is.
pub fn is_stored_date_form(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 10
        && b.iter().enumerate().all(|(i, c)| {
            if i == 4 || i == 7 {
                *c == b'-'
            } else {
                c.is_ascii_digit()
            }
        })
}

/// The first control character in `s` other than a line break or tab.
pub fn control_char(s: &str) -> Option<char> {
    // Controls are below 0x20, 0x7F, or U+0080–U+009F (0xC2 0x80–0x9F in
    // UTF-8): text without those bytes, nearly every cell, is passed over
    // byte by byte.
    if !s.bytes().any(|b| b < 0x20 || b == 0x7F || b == 0xC2) {
        return None;
    }
    s.chars()
        .find(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
}

#[cfg(test)]
mod date_tests {
    use super::parse_date;

    #[test]
    fn the_stored_form_and_control_characters() {
        use super::{control_char, is_stored_date_form};
        assert!(is_stored_date_form("2026-01-05"));
        for other in [
            "2026/01/05",
            "2026-1-05",
            "2026-01-5 ",
            "２０２６-01-05",
            "20260-1-05",
        ] {
            assert!(!is_stored_date_form(other), "{other}");
        }
        assert_eq!(control_char("整改\t完成\r\n"), None);
        assert_eq!(control_char("Ä é ü"), None);
        assert_eq!(control_char("a\u{0}b"), Some('\u{0}'));
        assert_eq!(control_char("a\u{7f}"), Some('\u{7f}'));
        assert_eq!(control_char("问题\u{85}"), Some('\u{85}'));
        assert_eq!(control_char("\u{9f}"), Some('\u{9f}'));
        assert_eq!(control_char("\u{a0}"), None);
    }

    #[test]
    fn office_date_forms() {
        let d = chrono::NaiveDate::from_ymd_opt(2026, 1, 5);
        assert_eq!(parse_date("2026-01-05"), d);
        assert_eq!(parse_date("2026/1/5"), d);
        assert_eq!(parse_date("2026年1月5日"), d);
        assert_eq!(parse_date("2026-01-05 00:00:00"), d);
        assert_eq!(parse_date("2026-13-01"), None);
        assert_eq!(parse_date("2026-02-30"), None);
        assert_eq!(parse_date("2026.1.05"), d);
        assert_eq!(parse_date("soon"), None);
        assert_eq!(parse_date("2026-01"), None);
        assert_eq!(parse_date("2026-01-05-07"), None);
        assert_eq!(parse_date("2026-+1-05"), None);
        assert_eq!(parse_date("26-01-05"), None);
    }
}

/// Pads `s` on the right to `width` terminal columns (a Chinese character
/// takes two), so columns line up whatever the script.
pub fn pad(s: &str, width: usize) -> String {
    let w = unicode_width::UnicodeWidthStr::width(s);
    format!("{s}{}", " ".repeat(width.saturating_sub(w)))
}

/// A mobile number as the robots take it (digits, a leading `+` kept),
/// from how a ledger may write it (`138 0000 0000`, `138-0000-0000`).
pub fn mobile_number(s: &str) -> Option<String> {
    let s = s.trim();
    let (plus, rest) = match s.strip_prefix('+') {
        Some(r) => ("+", r),
        None => ("", s),
    };
    if !rest
        .chars()
        .all(|c| c.is_ascii_digit() || c == ' ' || c == '-')
    {
        return None;
    }
    let digits: String = rest.chars().filter(char::is_ascii_digit).collect();
    (5..=20)
        .contains(&digits.len())
        .then(|| format!("{plus}{digits}"))
}

/// Whether `s` reads as one email address (`name@domain.tld`): what a
/// policy may name and a ledger may hold.
pub fn is_email(s: &str) -> bool {
    let Some((local, domain)) = s.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !s
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || c == ',' || c == '<' || c == '>')
        && !domain.contains('@')
}
