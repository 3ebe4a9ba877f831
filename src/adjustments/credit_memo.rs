//! A credit memo as it arrives from outside (the staff form, the ERP API): text fields, parsed in
//! one place into the adjustment to post, with every problem named by its field.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::{AdjustmentHeader, AdjustmentRequest};
use crate::invoices::InvoiceNumber;
use crate::invoices::draft::{FieldError, decimal_text, issue_date_field, sentence};
use crate::money::{Currency, Money};

/// One line to credit: the invoice's line number (from 1) and the amount, tax included.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreditLineDraft {
    pub line: i64,
    #[serde(deserialize_with = "decimal_text")]
    pub amount: String,
}

impl CreditLineDraft {
    /// A form row whose amount was left empty credits nothing on that line.
    pub fn is_blank(&self) -> bool {
        self.amount.trim().is_empty()
    }
}

/// A credit memo as typed or sent, not yet checked.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreditMemoDraft {
    /// The credit memo's own number; the same number again is the same credit memo.
    #[serde(default)]
    pub number: String,
    #[serde(default)]
    pub reason: String,
    /// `YYYY-MM-DD`; empty means today.
    #[serde(default)]
    pub issue_date: String,
    #[serde(default)]
    pub lines: Vec<CreditLineDraft>,
}

/// The invoice a credit memo credits, as far as parsing needs it.
#[derive(Debug, Clone, Copy)]
pub struct CreditedInvoice<'a> {
    pub id: i64,
    pub customer_id: i64,
    pub number: &'a str,
    pub currency: Currency,
    /// `(line_no, line id)` of every line.
    pub lines: &'a [(i64, i64)],
}

/// A credit memo ready to post with `adjustments::store::adjust_audited`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedCreditMemo {
    pub number: InvoiceNumber,
    pub header: AdjustmentHeader,
    pub request: AdjustmentRequest,
}

impl CreditMemoDraft {
    /// Parses the draft against the invoice it credits. Every field is checked, so the caller
    /// learns every problem at once. What depends on the ledger (how much is left to credit on a
    /// line, whether the day is in a closed period) is checked when it posts.
    pub fn parse(
        &self,
        invoice: CreditedInvoice<'_>,
        today: NaiveDate,
    ) -> Result<ParsedCreditMemo, Vec<FieldError>> {
        let mut errors = Vec::new();
        let number = InvoiceNumber::parse(&self.number)
            .map_err(|_| {
                errors.push(FieldError::new(
                    "number",
                    "The credit memo number is 1 to 32 letters, digits, '-', '.' or '/'.",
                ))
            })
            .ok();
        let effective = issue_date_field(&self.issue_date, today, &mut errors);
        let mut lines = Vec::with_capacity(self.lines.len());
        for (index, line) in self.lines.iter().enumerate() {
            let line_id = invoice
                .lines
                .iter()
                .find(|(no, _)| *no == line.line)
                .map(|(_, id)| *id);
            match (line_id, Money::parse(line.amount.trim(), invoice.currency)) {
                (Some(id), Ok(amount)) => lines.push((id, amount)),
                (None, _) => errors.push(FieldError::new(
                    format!("lines[{index}].line"),
                    format!("Invoice {} has no line {}.", invoice.number, line.line),
                )),
                (_, Err(e)) => errors.push(FieldError::new(
                    format!("lines[{index}].amount"),
                    format!("Line {}: {}", line.line, sentence(&e)),
                )),
            }
        }
        if self.lines.is_empty() {
            errors.push(FieldError::new(
                "lines",
                "A credit memo needs at least one line.",
            ));
        }
        let header = match (&number, effective) {
            (Some(number), Some(effective)) => AdjustmentHeader::new(
                invoice.customer_id,
                &crate::keys::credit_memo(number.as_str()),
                &self.reason,
                effective,
            )
            .map_err(|e| errors.push(FieldError::new("reason", sentence(&e))))
            .ok(),
            _ => None,
        };
        let request = AdjustmentRequest::CreditMemo {
            invoice_id: invoice.id,
            lines,
        };
        if errors.is_empty()
            && let Err(e) = request.check()
        {
            errors.push(FieldError::new("lines", sentence(&e)));
        }
        match (number, header, errors.is_empty()) {
            (Some(number), Some(header), true) => Ok(ParsedCreditMemo {
                number,
                header,
                request,
            }),
            _ => Err(errors),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LINES: [(i64, i64); 2] = [(1, 501), (2, 502)];

    fn invoice() -> CreditedInvoice<'static> {
        CreditedInvoice {
            id: 50,
            customer_id: 7,
            number: "INV-1001",
            currency: Currency::Eur,
            lines: &LINES,
        }
    }

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 12, 5).unwrap()
    }

    fn line(line: i64, amount: &str) -> CreditLineDraft {
        CreditLineDraft {
            line,
            amount: amount.into(),
        }
    }

    #[test]
    fn a_credit_memo_names_invoice_lines_by_their_numbers_and_is_keyed_by_its_own_number() {
        let draft = CreditMemoDraft {
            number: "cm-77".into(),
            reason: " damaged in transit ".into(),
            issue_date: "2026-11-30".into(),
            lines: vec![line(2, "12.50"), line(1, "3")],
        };
        let parsed = draft.parse(invoice(), today()).unwrap();
        assert_eq!(parsed.number.as_str(), "CM-77");
        assert_eq!(parsed.header.business_key, "credit-memo:CM-77");
        assert_eq!(parsed.header.reason, "damaged in transit");
        assert_eq!(parsed.header.customer_id, 7);
        assert_eq!(
            parsed.header.effective,
            NaiveDate::from_ymd_opt(2026, 11, 30).unwrap()
        );
        assert_eq!(
            parsed.request,
            AdjustmentRequest::CreditMemo {
                invoice_id: 50,
                lines: vec![
                    (502, Money::from_minor(1250, Currency::Eur)),
                    (501, Money::from_minor(300, Currency::Eur)),
                ],
            }
        );
    }

    #[test]
    fn an_empty_date_means_today() {
        let draft = CreditMemoDraft {
            number: "CM-1".into(),
            reason: "goodwill".into(),
            issue_date: " ".into(),
            lines: vec![line(1, "1.00")],
        };
        assert_eq!(
            draft.parse(invoice(), today()).unwrap().header.effective,
            today()
        );
    }

    #[test]
    fn every_problem_of_a_draft_is_named_by_its_field_at_once() {
        let draft = CreditMemoDraft {
            number: "no spaces".into(),
            reason: "".into(),
            issue_date: "30.11.2026".into(),
            lines: vec![line(3, "1.00"), line(1, "1.005")],
        };
        let fields: Vec<String> = draft
            .parse(invoice(), today())
            .unwrap_err()
            .into_iter()
            .map(|e| e.field)
            .collect();
        assert_eq!(
            fields,
            ["number", "issue_date", "lines[0].line", "lines[1].amount"]
        );
        let reason_only = CreditMemoDraft {
            number: "CM-2".into(),
            lines: vec![line(1, "1.00")],
            ..CreditMemoDraft::default()
        };
        let errors = reason_only.parse(invoice(), today()).unwrap_err();
        assert_eq!(errors[0].field, "reason");
    }

    #[test]
    fn a_credit_memo_without_lines_or_with_a_zero_or_repeated_line_is_refused() {
        let memo = |lines| CreditMemoDraft {
            number: "CM-3".into(),
            reason: "r".into(),
            issue_date: String::new(),
            lines,
        };
        let message = |draft: CreditMemoDraft| {
            draft.parse(invoice(), today()).unwrap_err()[0]
                .message
                .clone()
        };
        assert_eq!(
            message(memo(vec![])),
            "A credit memo needs at least one line."
        );
        assert_eq!(
            message(memo(vec![line(1, "0")])),
            "The amount must be greater than zero."
        );
        assert_eq!(
            message(memo(vec![line(1, "1"), line(1, "2")])),
            "A line appears twice in the credit memo."
        );
    }
}
