//! Codes as people read them off paper or a screen.

/// A code in groups of four symbols joined by `separator` (`abcd-efgh`, `DE89 3704 …`).
pub fn in_groups_of_four(code: &str, separator: &str) -> String {
    code.as_bytes()
        .chunks(4)
        .map(|group| String::from_utf8_lossy(group).into_owned())
        .collect::<Vec<_>>()
        .join(separator)
}
