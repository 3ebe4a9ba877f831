//! Card refunds staff start from the portal.
//!
//! The request is written first, reserving its amount under the customer lock, so two staff
//! refunding one payment at once cannot return more than was paid. Then the provider is asked,
//! with our refund id as the idempotency key. The ledger moves only when the provider's signed
//! `charge.refunded` event arrives, through the same path as a refund made in Stripe's
//! dashboard, so the money is posted once whichever way the refund started.

use serde::{Deserialize, Serialize};

use crate::money::{Currency, Money, MoneyError};

#[cfg(feature = "ssr")]
pub mod posting;
#[cfg(feature = "ssr")]
pub mod store;

/// The longest reason kept with a refund.
pub const MAXIMUM_REASON_CHARS: usize = 500;
/// Stripe keeps an idempotency key for at least 24 hours; after that, sending the same refund
/// again could refund twice.
pub const RESEND_WITHIN_HOURS: i64 = 23;

crate::text_enum! {
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
    pub enum RefundStatus {
        /// Reserved; the provider has not confirmed it (not asked yet, or it did not answer).
        Requested = "requested",
        /// The provider accepted it; its `charge.refunded` event posts the money.
        Sent = "sent",
        /// The provider refused it; nothing is reserved any more.
        Failed = "failed",
    }
}

/// A refund request as staff see it on the payment's page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow))]
pub struct RefundView {
    pub id: String,
    pub payment_id: i64,
    #[cfg_attr(feature = "ssr", sqlx(try_from = "String"))]
    pub currency: Currency,
    pub amount_minor: i64,
    pub reason: String,
    #[cfg_attr(feature = "ssr", sqlx(try_from = "String"))]
    pub status: RefundStatus,
    pub provider_refund_id: Option<String>,
    pub failure_message: String,
    /// The email of the manager who asked for it.
    #[cfg_attr(feature = "ssr", sqlx(rename = "email"))]
    pub requested_by: String,
    pub created_at: String,
}

/// Why a refund was refused. Nothing is reserved or sent in any of these cases.
#[derive(Debug, thiserror::Error)]
pub enum RefundError {
    #[error("there is no such payment")]
    UnknownPayment,
    #[error("there is no such refund on this payment")]
    UnknownRefund,
    #[error(
        "only card payments are refunded through the payment provider; return a cheque or transfer by hand and record it as an adjustment"
    )]
    NotACardPayment,
    #[error("the refund amount: {0}")]
    Amount(#[from] MoneyError),
    #[error("a refund must be more than zero")]
    NotPositive,
    #[error("at most {refundable} of this payment can still be refunded")]
    MoreThanRefundable { refundable: Money },
    #[error("give a reason for the refund (at most {MAXIMUM_REASON_CHARS} characters)")]
    Reason,
    #[error("this refund was already {0}; only an unconfirmed refund is sent again")]
    NotPending(&'static str),
    #[error(
        "this refund was requested more than {RESEND_WITHIN_HOURS} hours ago, longer than the provider remembers it; check the provider's dashboard before refunding again"
    )]
    TooOldToResend,
    #[error("{0}")]
    Provider(#[from] crate::checkout::ProviderError),
    #[cfg(feature = "ssr")]
    #[error(transparent)]
    Db(#[from] crate::db::DbError),
}

#[cfg(feature = "ssr")]
crate::from_sqlx_error!(RefundError);

/// A reason as typed: trimmed, present and not too long.
pub fn parse_reason(text: &str) -> Result<String, RefundError> {
    let reason = text.trim();
    if reason.is_empty() || reason.chars().count() > MAXIMUM_REASON_CHARS {
        return Err(RefundError::Reason);
    }
    Ok(reason.to_string())
}

/// The refund amount in the payment's currency: positive and no more than is left to refund.
pub fn parse_amount(
    text: &str,
    currency: Currency,
    refundable_minor: i64,
) -> Result<i64, RefundError> {
    let amount = Money::parse(text, currency)?;
    if amount.is_negative() || amount.is_zero() {
        return Err(RefundError::NotPositive);
    }
    let minor = amount.to_minor();
    if minor > refundable_minor {
        return Err(RefundError::MoreThanRefundable {
            refundable: Money::from_minor(refundable_minor.max(0), currency),
        });
    }
    Ok(minor)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refund_amount_must_be_positive_and_within_what_is_left() {
        assert_eq!(parse_amount("12.50", Currency::Usd, 5_000).unwrap(), 1_250);
        assert!(matches!(
            parse_amount("0", Currency::Usd, 5_000),
            Err(RefundError::NotPositive)
        ));
        assert!(matches!(
            parse_amount("-1", Currency::Usd, 5_000),
            Err(RefundError::NotPositive)
        ));
        let too_much = parse_amount("50.01", Currency::Usd, 5_000).unwrap_err();
        assert_eq!(
            too_much.to_string(),
            "at most $50.00 of this payment can still be refunded"
        );
        assert!(matches!(
            parse_amount("1.234", Currency::Usd, 5_000),
            Err(RefundError::Amount(_))
        ));
    }

    #[test]
    fn a_reason_is_required_and_bounded() {
        assert_eq!(
            parse_reason("  duplicate payment ").unwrap(),
            "duplicate payment"
        );
        assert!(parse_reason("   ").is_err());
        assert!(parse_reason(&"x".repeat(501)).is_err());
    }
}
