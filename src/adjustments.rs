//! Adjustments that are not cash receipts: credit memos against invoice lines, write-offs,
//! refunds and voids. Requests are validated here; `adjustments::store` posts them.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::ledger::DateSource;
use crate::money::{Currency, Money};
use crate::payments::PaymentMethod;

pub mod credit_memo;
pub mod plan;
#[cfg(feature = "ssr")]
pub mod store;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AdjustmentError {
    #[error("the amount must be greater than zero")]
    NotPositive,
    #[error("reference must be 1 to 255 characters")]
    BusinessKey,
    #[error("a reason of at most 500 characters is required")]
    Reason,
    #[error("a credit memo needs at least one line")]
    NoLines,
    #[error("a line appears twice in the credit memo")]
    DuplicateLine,
    #[error("the amount is in {found} but the account is billed in {expected}")]
    WrongCurrency { expected: Currency, found: Currency },
    #[error("invoice {0} was not found on this account")]
    InvoiceNotFound(i64),
    #[error("invoice {0} is void")]
    InvoiceVoid(i64),
    #[error("line {0} is not on this invoice")]
    LineNotOnInvoice(i64),
    #[error("line {line} has only {available} left to credit")]
    OverCredit { line: i64, available: Money },
    #[error("only {open} is open on this invoice")]
    ExceedsOpen { open: Money },
    #[error("only {available} can be refunded")]
    ExceedsRefundable { available: Money },
    #[error("invoice {0} has payments or credits; issue a credit memo instead of voiding it")]
    VoidAfterActivity(i64),
}

crate::text_enum! {
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
    pub enum AdjustmentKind {
        CreditMemo = "credit_memo",
        WriteOff = "write_off",
        Refund = "refund",
        Void = "void",
    }
}

/// Where refunded money comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum RefundSource {
    /// The customer's unapplied credit.
    UnappliedCredit,
    /// Cash that was applied to this invoice; the invoice opens up again by the amount.
    Invoice(i64),
}

/// Fields every adjustment has.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdjustmentHeader {
    pub customer_id: i64,
    pub business_key: String,
    pub reason: String,
    pub effective: NaiveDate,
    /// Whether `effective` was chosen by staff or is an outside event's day (a provider refund).
    pub dated_by: DateSource,
}

impl AdjustmentHeader {
    pub fn new(
        customer_id: i64,
        business_key: &str,
        reason: &str,
        effective: NaiveDate,
    ) -> Result<Self, AdjustmentError> {
        if business_key.is_empty() || business_key.len() > 255 {
            return Err(AdjustmentError::BusinessKey);
        }
        let reason = reason.trim();
        if reason.is_empty() || reason.chars().count() > 500 {
            return Err(AdjustmentError::Reason);
        }
        Ok(Self {
            customer_id,
            business_key: business_key.to_string(),
            reason: reason.to_string(),
            effective,
            dated_by: DateSource::Chosen,
        })
    }

    /// The effective day is an outside event's (the provider's), not chosen by staff.
    pub fn dated_by_event(mut self) -> Self {
        self.dated_by = DateSource::Event;
        self
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum AdjustmentRequest {
    /// Credits these invoice lines by these amounts (tax included).
    CreditMemo {
        invoice_id: i64,
        lines: Vec<(i64, Money)>,
    },
    WriteOff {
        invoice_id: i64,
        amount: Money,
    },
    Refund {
        source: RefundSource,
        amount: Money,
        method: PaymentMethod,
    },
    Void {
        invoice_id: i64,
    },
}

impl AdjustmentRequest {
    /// The audit log's name for this adjustment when a person or an API key makes it.
    pub fn audit_action(&self) -> &'static str {
        match self {
            AdjustmentRequest::CreditMemo { .. } => "credit_memo.issued",
            AdjustmentRequest::WriteOff { .. } => "invoice.written_off",
            AdjustmentRequest::Refund { .. } => "refund.posted",
            AdjustmentRequest::Void { .. } => "invoice.voided",
        }
    }

    /// Checks what can be checked without the database.
    pub fn check(&self) -> Result<(), AdjustmentError> {
        let positive = |m: &Money| {
            if m.is_zero() || m.is_negative() {
                Err(AdjustmentError::NotPositive)
            } else {
                Ok(())
            }
        };
        match self {
            AdjustmentRequest::CreditMemo { lines, .. } => {
                if lines.is_empty() {
                    return Err(AdjustmentError::NoLines);
                }
                let mut seen = std::collections::BTreeSet::new();
                for (line_id, amount) in lines {
                    positive(amount)?;
                    if !seen.insert(*line_id) {
                        return Err(AdjustmentError::DuplicateLine);
                    }
                }
                Ok(())
            }
            AdjustmentRequest::WriteOff { amount, .. }
            | AdjustmentRequest::Refund { amount, .. } => positive(amount),
            AdjustmentRequest::Void { .. } => Ok(()),
        }
    }

    pub fn kind(&self) -> AdjustmentKind {
        match self {
            AdjustmentRequest::CreditMemo { .. } => AdjustmentKind::CreditMemo,
            AdjustmentRequest::WriteOff { .. } => AdjustmentKind::WriteOff,
            AdjustmentRequest::Refund { .. } => AdjustmentKind::Refund,
            AdjustmentRequest::Void { .. } => AdjustmentKind::Void,
        }
    }

    pub fn invoice_id(&self) -> Option<i64> {
        match self {
            AdjustmentRequest::CreditMemo { invoice_id, .. }
            | AdjustmentRequest::WriteOff { invoice_id, .. }
            | AdjustmentRequest::Void { invoice_id } => Some(*invoice_id),
            AdjustmentRequest::Refund {
                source: RefundSource::Invoice(invoice_id),
                ..
            } => Some(*invoice_id),
            AdjustmentRequest::Refund { .. } => None,
        }
    }

    /// The request as text, stored so that a replay with other content is recognised.
    pub fn canonical(&self, header: &AdjustmentHeader) -> String {
        let body = match self {
            AdjustmentRequest::CreditMemo { invoice_id, lines } => {
                let parts: Vec<String> = lines
                    .iter()
                    .map(|(line, m)| format!("{line}={}:{}", m.currency(), m.to_minor()))
                    .collect();
                format!("credit_memo;invoice={invoice_id};lines={}", parts.join(","))
            }
            AdjustmentRequest::WriteOff { invoice_id, amount } => format!(
                "write_off;invoice={invoice_id};amount={}:{}",
                amount.currency(),
                amount.to_minor()
            ),
            AdjustmentRequest::Refund {
                source,
                amount,
                method,
            } => format!(
                "refund;source={source:?};amount={}:{};method={}",
                amount.currency(),
                amount.to_minor(),
                method.as_str()
            ),
            AdjustmentRequest::Void { invoice_id } => format!("void;invoice={invoice_id}"),
        };
        format!(
            "{body};customer={};date={};reason={}",
            header.customer_id, header.effective, header.reason
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn usd(minor: i64) -> Money {
        Money::from_minor(minor, Currency::Usd)
    }

    #[test]
    fn impossible_adjustments_are_refused_before_touching_the_database() {
        let memo = |lines| {
            AdjustmentRequest::CreditMemo {
                invoice_id: 1,
                lines,
            }
            .check()
        };
        assert_eq!(memo(vec![]), Err(AdjustmentError::NoLines));
        assert_eq!(
            memo(vec![(1, usd(-100))]),
            Err(AdjustmentError::NotPositive)
        );
        assert_eq!(
            memo(vec![(1, usd(1)), (1, usd(2))]),
            Err(AdjustmentError::DuplicateLine)
        );
        let write_off = AdjustmentRequest::WriteOff {
            invoice_id: 1,
            amount: usd(0),
        };
        assert_eq!(write_off.check(), Err(AdjustmentError::NotPositive));
        let day = NaiveDate::from_ymd_opt(2026, 1, 1).unwrap();
        assert_eq!(
            AdjustmentHeader::new(1, "k", "  ", day),
            Err(AdjustmentError::Reason)
        );
        assert_eq!(
            AdjustmentHeader::new(1, "", "why", day),
            Err(AdjustmentError::BusinessKey)
        );
    }
}
