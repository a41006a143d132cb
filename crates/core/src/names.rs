//! Names that end up in file names: engines, scenarios and platforms. One character set
//! for all of them, so a name can never steer a write out of the directory it is meant
//! for, and one function ([`file_name`]) that builds every file name made from names.

use crate::exit::{Classify, Status};

/// The rule, as stated in errors and docs/EVIDENCE.md.
pub const NAME_RULE: &str =
    "1 to 128 characters from A-Z a-z 0-9 . _ -, starting with a letter or digit, without `..`";

const MAX_LEN: usize = 128;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("{kind} name `{name}` is not allowed: a name has {NAME_RULE}")]
pub struct NameError {
    /// What the name names (`engine`, `scenario`, `platform`).
    pub kind: &'static str,
    pub name: String,
}

impl Classify for NameError {
    fn status(&self) -> Status {
        Status::BadInput
    }
}

/// Check `name` against [`NAME_RULE`].
pub fn check(kind: &'static str, name: &str) -> Result<(), NameError> {
    let b = name.as_bytes();
    let ok = !b.is_empty()
        && b.len() <= MAX_LEN
        && b[0].is_ascii_alphanumeric()
        && b.iter()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'.' | b'_' | b'-'))
        && !name.contains("..");
    if ok {
        Ok(())
    } else {
        Err(NameError {
            kind,
            name: name.to_string(),
        })
    }
}

/// The file name `<prefix><name><sep><name>...<suffix>` of checked names, e.g.
/// `file_name("", &[("engine", e), ("scenario", s)], "__", ".f32")`. `prefix`, `sep` and
/// `suffix` are the caller's own constants, never user data.
pub fn file_name(
    prefix: &str,
    parts: &[(&'static str, &str)],
    sep: &str,
    suffix: &str,
) -> Result<String, NameError> {
    let mut out = String::from(prefix);
    for (i, (kind, name)) in parts.iter().enumerate() {
        check(kind, name)?;
        if i > 0 {
            out.push_str(sep);
        }
        out.push_str(name);
    }
    out.push_str(suffix);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rule() {
        for good in [
            "yolox-nano",
            "a",
            "demo_detector.fp16",
            "X1",
            &"a".repeat(128),
        ] {
            assert_eq!(check("engine", good), Ok(()), "{good}");
        }
        for bad in [
            "",
            "../../x",
            "/etc/passwd",
            "a/b",
            "a\\b",
            ".hidden",
            "-flag",
            "a..b",
            "with space",
            "tab\t",
            "nul\0",
            "é",
            &"a".repeat(129),
        ] {
            let e = check("engine", bad).unwrap_err();
            assert!(e.to_string().contains("engine name"), "{e}");
        }
        assert_eq!(
            file_name("", &[("engine", "e1"), ("scenario", "s-2")], "__", ".f32").unwrap(),
            "e1__s-2.f32"
        );
        assert!(file_name("", &[("engine", "../e"), ("scenario", "s")], "__", ".f32").is_err());
    }
}
