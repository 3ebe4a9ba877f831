//! Keyset paging: a page ends with the sort key of its last row, and the next page starts after
//! it, so every page costs the same however deep it is. The key travels in links as
//! `<first>.<second>` (a balance and an id, a date and an id).

use std::str::FromStr;

/// Reads a page position `<first>.<second>`; empty text is the first page. `what` names the list
/// in the error.
pub fn parse_position<A: FromStr, B: FromStr>(
    text: &str,
    what: &str,
) -> Result<Option<(A, B)>, String> {
    if text.trim().is_empty() {
        return Ok(None);
    }
    text.split_once('.')
        .and_then(|(first, second)| Some((first.parse().ok()?, second.parse().ok()?)))
        .map(Some)
        .ok_or_else(|| format!("{text:?} is not a {what} position."))
}

/// Cuts `rows`, read with one row more than `per_page` to learn whether another page follows,
/// to one page; the position after it (the last row's key) when another page follows.
pub fn end_page<T, K>(rows: &mut Vec<T>, per_page: usize, key: impl Fn(&T) -> K) -> Option<K> {
    if rows.len() <= per_page {
        return None;
    }
    rows.truncate(per_page);
    rows.last().map(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_position_is_two_keys_and_empty_text_is_the_first_page() {
        assert_eq!(parse_position::<i64, i64>(" ", "list"), Ok(None));
        assert_eq!(
            parse_position::<i64, i64>("1250.7", "list"),
            Ok(Some((1250, 7)))
        );
        let day: chrono::NaiveDate = "2026-03-01".parse().unwrap();
        assert_eq!(
            parse_position("2026-03-01.4", "journal"),
            Ok(Some((day, 4i64)))
        );
        assert_eq!(
            parse_position::<i64, i64>("12", "list"),
            Err("\"12\" is not a list position.".to_string())
        );
        assert!(parse_position::<chrono::NaiveDate, i64>("2026-13-01.4", "journal").is_err());
    }

    #[test]
    fn the_extra_row_says_another_page_follows_and_is_cut() {
        let mut full = vec![1, 2, 3, 4];
        assert_eq!(end_page(&mut full, 3, |n| n * 10), Some(30));
        assert_eq!(full, [1, 2, 3]);
        let mut last = vec![1, 2, 3];
        assert_eq!(end_page(&mut last, 3, |n| n * 10), None);
        assert_eq!(last, [1, 2, 3]);
    }
}
