//! Money and dates as people read them: the currency's own symbol and scale, and dates with the
//! month spelled out so that 03/04 never means two different days to two readers.

use chrono::NaiveDate;
use ledgerport::money::{Currency, Money};

pub fn money(minor: i64, currency: Currency) -> String {
    Money::from_minor(minor, currency).to_string()
}

/// `23 Nov 2026`
pub fn date(date: NaiveDate) -> String {
    date.format("%-d %b %Y").to_string()
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
}
