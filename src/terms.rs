//! Payment terms such as "net 30" and "2/10 net 30".

use std::fmt;

use chrono::{Days, NaiveDate};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TermsError {
    #[error("net days must be between 0 and 365, got {0}")]
    NetDays(u32),
    #[error("early-payment discount must be between 0% and 100% (got {0} basis points)")]
    DiscountRate(u32),
    #[error(
        "the discount window ({discount_days} days) must end before the net date ({net_days} days)"
    )]
    DiscountWindow { discount_days: u32, net_days: u32 },
    #[error("a percentage must be a number from 0 to 100 with at most two decimals, like 2 or 1.5")]
    Percent,
}

/// A percentage as people type it (`2`, `1.5`, `0.25`) in basis points; empty means 0.
pub fn percent_to_bp(text: &str) -> Result<u32, TermsError> {
    let text = text.trim().trim_end_matches('%').trim();
    if text.is_empty() {
        return Ok(0);
    }
    let percent: rust_decimal::Decimal = text.parse().map_err(|_| TermsError::Percent)?;
    let bp = (percent * rust_decimal::Decimal::ONE_HUNDRED).normalize();
    if bp.scale() > 0 || bp.is_sign_negative() || bp > rust_decimal::Decimal::from(10_000) {
        return Err(TermsError::Percent);
    }
    u32::try_from(bp.mantissa()).map_err(|_| TermsError::Percent)
}

/// `net_days` after the issue date the invoice is due; an optional early-payment discount of
/// `discount_bp` basis points when paid within `discount_days`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentTerms {
    net_days: u32,
    discount_bp: u32,
    discount_days: u32,
}

impl PaymentTerms {
    pub fn net(net_days: u32) -> Result<Self, TermsError> {
        Self::with_discount(net_days, 0, 0)
    }

    pub fn with_discount(
        net_days: u32,
        discount_bp: u32,
        discount_days: u32,
    ) -> Result<Self, TermsError> {
        if net_days > 365 {
            return Err(TermsError::NetDays(net_days));
        }
        if discount_bp > 10_000 {
            return Err(TermsError::DiscountRate(discount_bp));
        }
        if discount_bp > 0 && discount_days >= net_days {
            return Err(TermsError::DiscountWindow {
                discount_days,
                net_days,
            });
        }
        let discount_days = if discount_bp == 0 { 0 } else { discount_days };
        Ok(Self {
            net_days,
            discount_bp,
            discount_days,
        })
    }

    pub fn net_days(self) -> u32 {
        self.net_days
    }
    pub fn discount_bp(self) -> u32 {
        self.discount_bp
    }
    pub fn discount_days(self) -> u32 {
        self.discount_days
    }

    /// The discount as a percentage for a form: `2`, `1.5`, or empty without a discount.
    pub fn discount_percent_text(self) -> String {
        if self.discount_bp == 0 {
            String::new()
        } else {
            rust_decimal::Decimal::new(self.discount_bp.into(), 2)
                .normalize()
                .to_string()
        }
    }

    pub fn due_date(self, issued: NaiveDate) -> NaiveDate {
        issued
            .checked_add_days(Days::new(self.net_days.into()))
            .unwrap_or(NaiveDate::MAX)
    }

    /// Last day the early-payment discount applies, if the terms have one.
    pub fn discount_until(self, issued: NaiveDate) -> Option<NaiveDate> {
        (self.discount_bp > 0).then(|| {
            issued
                .checked_add_days(Days::new(self.discount_days.into()))
                .unwrap_or(NaiveDate::MAX)
        })
    }
}

impl fmt::Display for PaymentTerms {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.discount_bp > 0 {
            let pct = rust_decimal::Decimal::new(self.discount_bp.into(), 2).normalize();
            write!(f, "{pct}/{} net {}", self.discount_days, self.net_days)
        } else {
            write!(f, "net {}", self.net_days)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentages_become_basis_points_and_nonsense_is_refused() {
        assert_eq!(percent_to_bp("2"), Ok(200));
        assert_eq!(percent_to_bp(" 1.5 % "), Ok(150));
        assert_eq!(percent_to_bp("0.25"), Ok(25));
        assert_eq!(percent_to_bp(""), Ok(0));
        assert_eq!(percent_to_bp("100"), Ok(10_000));
        for bad in ["-1", "100.01", "0.001", "two", "1e3"] {
            assert_eq!(percent_to_bp(bad), Err(TermsError::Percent), "{bad}");
        }
    }

    #[test]
    fn net_30_is_due_thirty_days_after_issue() {
        let issued = NaiveDate::from_ymd_opt(2026, 1, 15).unwrap();
        let terms = PaymentTerms::net(30).unwrap();
        assert_eq!(
            terms.due_date(issued),
            NaiveDate::from_ymd_opt(2026, 2, 14).unwrap()
        );
        assert_eq!(terms.discount_until(issued), None);
        assert_eq!(terms.to_string(), "net 30");
    }

    #[test]
    fn two_ten_net_thirty_has_a_ten_day_discount_window() {
        let issued = NaiveDate::from_ymd_opt(2026, 1, 15).unwrap();
        let terms = PaymentTerms::with_discount(30, 200, 10).unwrap();
        assert_eq!(
            terms.discount_until(issued),
            NaiveDate::from_ymd_opt(2026, 1, 25)
        );
        assert_eq!(terms.to_string(), "2/10 net 30");
    }

    #[test]
    fn impossible_terms_are_refused() {
        assert_eq!(PaymentTerms::net(400), Err(TermsError::NetDays(400)));
        assert!(matches!(
            PaymentTerms::with_discount(30, 200, 30),
            Err(TermsError::DiscountWindow { .. })
        ));
        assert_eq!(
            PaymentTerms::with_discount(30, 10_001, 10),
            Err(TermsError::DiscountRate(10_001))
        );
    }
}
