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
