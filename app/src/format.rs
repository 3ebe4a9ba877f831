//! Money and dates as people read them, in the page's language ([`use_locale`]): the currency's
//! own symbol and scale, and dates with the month spelled out so that 03/04 never means two
//! different days to two readers. Staff pages are English, so they read `$1,234.50`.

use chrono::NaiveDate;
use ledgerport::money::Currency;

use crate::i18n::use_locale;

/// `$1,234.50`, `1.234,50 €`
pub fn money(minor: i64, currency: Currency) -> String {
    use_locale().money(minor, currency)
}

/// `23 Nov 2026`, `23. Nov. 2026`
pub fn date(date: NaiveDate) -> String {
    use_locale().date(date)
}

/// A stored RFC 3339 timestamp as `23 Nov 2026 14:05 UTC` (the text itself if unreadable).
pub fn timestamp(text: &str) -> String {
    match chrono::DateTime::parse_from_rfc3339(text) {
        Ok(at) => use_locale().date_time(at),
        // A day without a time (a reminder's): shown as a date.
        Err(_) => text
            .parse::<NaiveDate>()
            .map(date)
            .unwrap_or_else(|_| text.to_string()),
    }
}

/// How long from `since` to `now` (both RFC 3339), in the largest whole unit: `3 days`.
pub fn age(since: &str, now: &str) -> String {
    let (Ok(since), Ok(now)) = (
        chrono::DateTime::parse_from_rfc3339(since),
        chrono::DateTime::parse_from_rfc3339(now),
    ) else {
        return "—".into();
    };
    let elapsed = now - since;
    let (n, unit) = if elapsed.num_days() >= 1 {
        (elapsed.num_days(), "day")
    } else if elapsed.num_hours() >= 1 {
        (elapsed.num_hours(), "hour")
    } else {
        (elapsed.num_minutes().max(0), "minute")
    };
    format!("{n} {unit}{}", if n == 1 { "" } else { "s" })
}

/// A stored payment method as customers read it ("ach" is "ACH").
pub fn method_label(method: &str) -> String {
    ledgerport::payments::PaymentMethod::parse(method).map_or_else(
        || method.to_string(),
        |m| m.label_in(use_locale()).to_string(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_use_the_currency_scale_and_dates_spell_the_month() {
        assert_eq!(money(123_450, Currency::Usd), "$1,234.50");
        assert_eq!(money(500, Currency::Jpy), "¥500");
        assert_eq!(
            date(NaiveDate::from_ymd_opt(2026, 3, 4).unwrap()),
            "4 Mar 2026"
        );
    }

    #[test]
    fn timestamps_read_as_utc_and_ages_use_the_largest_whole_unit() {
        assert_eq!(timestamp("2026-11-23T14:05:09Z"), "23 Nov 2026 14:05 UTC");
        let now = "2026-11-23T14:05:09Z";
        assert_eq!(age("2026-11-20T14:05:09Z", now), "3 days");
        assert_eq!(age("2026-11-23T13:05:00Z", now), "1 hour");
        assert_eq!(age("2026-11-23T14:04:00Z", now), "1 minute");
        assert_eq!(age("not a time", now), "—");
    }
}
