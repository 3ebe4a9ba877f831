//! Payouts: the payment provider (Stripe) paying the money it collected, less its fees, to the
//! company's bank account. A payout posts Dr Bank (what arrives), Dr Processing fees (the fees
//! of the charges, refunds and disputes it carries), Cr Stripe clearing; one that fails after
//! it was paid goes back to the provider's balance (Dr Stripe clearing, Cr Bank; the fees stay
//! incurred). The bank statement line that brought it is matched to it, so the bank
//! reconciliation sees it posted.

use chrono::{Duration, NaiveDate};
use serde::{Deserialize, Serialize};

use crate::money::Currency;

#[cfg(feature = "ssr")]
pub mod store;

crate::text_enum! {
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
    pub enum PayoutStatus {
        /// On its way to (or arrived at) the bank.
        Paid = "paid",
        /// The bank refused it, before or after it was paid; the money is back at the provider.
        Failed = "failed",
    }
}

/// A payout as the staff's bank page lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow))]
pub struct Payout {
    pub id: String,
    #[cfg_attr(feature = "ssr", sqlx(try_from = "String"))]
    pub currency: Currency,
    /// What the bank receives.
    pub amount_minor: i64,
    pub fees_minor: i64,
    pub transactions: i64,
    #[cfg_attr(feature = "ssr", sqlx(try_from = "crate::db::Day"))]
    pub arrival_on: NaiveDate,
    #[cfg_attr(feature = "ssr", sqlx(try_from = "String"))]
    pub status: PayoutStatus,
    /// The provider's failure code, when it failed.
    pub failure: String,
    /// The bank statement (and line) that brought it; `None` until a statement shows it.
    pub statement_id: Option<i64>,
    pub bank_line_id: Option<i64>,
}

impl Payout {
    /// What the provider paid out before its fees: the charges less refunds and disputes.
    pub fn gross_minor(&self) -> i64 {
        self.amount_minor + self.fees_minor
    }
}

/// The money the ledger holds at the provider, per currency: collected, not paid out yet (the
/// Stripe clearing account).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProviderBalance {
    pub currency: Currency,
    pub amount_minor: i64,
}

/// Banks book a payout on its arrival date, or up to a few banking days later (weekends,
/// holidays); a day early covers a bank that books at the value date.
pub fn books_payout(arrival: NaiveDate, booked: NaiveDate) -> bool {
    booked >= arrival - Duration::days(1) && booked <= arrival + Duration::days(4)
}

/// Whether a bank line's texts could be a payout: the provider's name (Stripe's default
/// statement descriptor) or the payout's own id. Case does not matter.
pub fn names_payout(texts: &[&str], payout_id: &str) -> bool {
    texts.iter().any(|text| {
        let text = text.to_lowercase();
        text.contains("stripe")
            || (!payout_id.is_empty() && text.contains(&payout_id.to_lowercase()))
    })
}

/// Of several candidates, the one booked nearest the arrival date (the earliest on a tie).
pub fn nearest<T>(
    arrival: NaiveDate,
    candidates: impl IntoIterator<Item = (NaiveDate, T)>,
) -> Option<T> {
    candidates
        .into_iter()
        .enumerate()
        .min_by_key(|(order, (on, _))| ((*on - arrival).num_days().abs(), *order))
        .map(|(_, (_, candidate))| candidate)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 12, d).unwrap()
    }

    #[test]
    fn a_payout_is_booked_from_the_day_before_its_arrival_to_four_days_after() {
        assert!(!books_payout(day(10), day(8)));
        assert!(books_payout(day(10), day(9)));
        assert!(books_payout(day(10), day(14)));
        assert!(!books_payout(day(10), day(15)));
    }

    #[test]
    fn a_line_is_a_payout_when_it_names_stripe_or_the_payout_in_any_case() {
        assert!(names_payout(&["STRIPE", ""], "po_1"));
        assert!(names_payout(&["", "Transfer PO_1ABC"], "po_1abc"));
        assert!(!names_payout(&["Acme Corp", "INV-1001"], "po_1"));
        assert!(!names_payout(&["Acme Corp"], ""));
    }

    #[test]
    fn the_nearest_booking_wins_and_a_tie_goes_to_the_first() {
        assert_eq!(
            nearest(day(10), [(day(13), "a"), (day(11), "b")]),
            Some("b")
        );
        assert_eq!(nearest(day(10), [(day(9), "a"), (day(11), "b")]), Some("a"));
        assert_eq!(nearest::<&str>(day(10), []), None);
    }
}
