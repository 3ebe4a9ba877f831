//! The accounting of an adjustment, decided without the database: which lines the entry posts,
//! by how much the invoice's open amount changes, and which limits refuse it. The store reads
//! the facts, calls [`plan_adjustment`] and carries the plan out in one transaction.

use super::{AdjustmentError, AdjustmentHeader, AdjustmentRequest, RefundSource};
use crate::ledger::{Account, EntryKind, EntryLine};
use crate::money::{Currency, Money};

/// The invoice an adjustment is on, as it is now (under the customer's lock).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvoiceFacts {
    pub id: i64,
    pub number: String,
    pub total_minor: i64,
    pub open_minor: i64,
}

/// What the limits of an adjustment depend on. The store fills in what the request's kind needs.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AdjustmentFacts {
    pub invoice: Option<InvoiceFacts>,
    /// Per credit-memo line, in the request's order: its gross amount less earlier credits.
    pub creditable_minor: Vec<i64>,
    /// The customer's unapplied credit (a refund from credit takes at most this).
    pub unapplied_credit_minor: i64,
    /// Cash applied to the invoice less what was already refunded from it.
    pub refunded_from_invoice_limit_minor: i64,
    /// Payments or adjustments touched the invoice (it can no longer be voided).
    pub invoice_has_activity: bool,
    /// The invoice's issuance entry and its lines: a void posts them negated. Read for an
    /// invoice that can still be voided (untouched).
    pub issuance: Option<(i64, Vec<EntryLine>)>,
}

/// What posting the adjustment does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdjustmentPlan {
    pub kind: EntryKind,
    pub memo: String,
    pub lines: Vec<EntryLine>,
    /// The entry this one reverses (a void reverses the issuance).
    pub reverses: Option<i64>,
    /// The adjustment's amount as recorded.
    pub amount_minor: i64,
    /// Added to the invoice's open amount.
    pub open_change: i64,
    /// The credited invoice lines (credit memos only).
    pub credit_lines: Vec<(i64, Money)>,
}

pub fn plan_adjustment(
    header: &AdjustmentHeader,
    request: &AdjustmentRequest,
    currency: Currency,
    facts: &AdjustmentFacts,
) -> Result<AdjustmentPlan, AdjustmentError> {
    let customer = header.customer_id;
    let receivable = |invoice_id: i64, signed_minor: i64| {
        EntryLine::debit(
            Account::AccountsReceivable,
            Money::from_minor(signed_minor, currency),
        )
        .for_customer(customer)
        .for_invoice(invoice_id)
    };
    let invoice = || {
        facts
            .invoice
            .as_ref()
            .ok_or(AdjustmentError::InvoiceNotFound(
                request.invoice_id().unwrap_or(0),
            ))
    };
    Ok(match request {
        AdjustmentRequest::CreditMemo { lines, .. } => {
            let invoice = invoice()?;
            let mut total = 0i64;
            for (n, (line_id, amount)) in lines.iter().enumerate() {
                same_currency(currency, *amount)?;
                let available = *facts
                    .creditable_minor
                    .get(n)
                    .ok_or(AdjustmentError::LineNotOnInvoice(*line_id))?;
                if amount.to_minor() > available {
                    return Err(AdjustmentError::OverCredit {
                        line: *line_id,
                        available: Money::from_minor(available, currency),
                    });
                }
                total += amount.to_minor();
            }
            // What the invoice still owes is credited; anything beyond becomes unapplied credit.
            let to_receivables = total.min(invoice.open_minor);
            let mut entry_lines = vec![
                EntryLine::debit(Account::SalesReturns, Money::from_minor(total, currency))
                    .for_customer(customer)
                    .for_invoice(invoice.id),
            ];
            if to_receivables > 0 {
                entry_lines.push(receivable(invoice.id, -to_receivables));
            }
            if total > to_receivables {
                entry_lines.push(
                    EntryLine::credit(
                        Account::UnappliedCredit,
                        Money::from_minor(total - to_receivables, currency),
                    )
                    .for_customer(customer),
                );
            }
            AdjustmentPlan {
                kind: EntryKind::CreditMemo,
                memo: format!("Credit memo on {}: {}", invoice.number, header.reason),
                lines: entry_lines,
                reverses: None,
                amount_minor: total,
                open_change: -to_receivables,
                credit_lines: lines.clone(),
            }
        }
        AdjustmentRequest::WriteOff { amount, .. } => {
            let invoice = invoice()?;
            same_currency(currency, *amount)?;
            if amount.to_minor() > invoice.open_minor {
                return Err(AdjustmentError::ExceedsOpen {
                    open: Money::from_minor(invoice.open_minor, currency),
                });
            }
            AdjustmentPlan {
                kind: EntryKind::WriteOff,
                memo: format!("Write-off on {}: {}", invoice.number, header.reason),
                lines: vec![
                    EntryLine::debit(Account::AllowanceForDoubtfulAccounts, *amount)
                        .for_customer(customer)
                        .for_invoice(invoice.id),
                    receivable(invoice.id, -amount.to_minor()),
                ],
                reverses: None,
                amount_minor: amount.to_minor(),
                open_change: -amount.to_minor(),
                credit_lines: Vec::new(),
            }
        }
        AdjustmentRequest::Refund {
            source,
            amount,
            method,
        } => {
            same_currency(currency, *amount)?;
            let (from, open_change) = match source {
                RefundSource::UnappliedCredit => {
                    if amount.to_minor() > facts.unapplied_credit_minor {
                        return Err(AdjustmentError::ExceedsRefundable {
                            available: Money::from_minor(facts.unapplied_credit_minor, currency),
                        });
                    }
                    (
                        EntryLine::debit(Account::UnappliedCredit, *amount).for_customer(customer),
                        0,
                    )
                }
                RefundSource::Invoice(_) => {
                    let invoice = invoice()?;
                    let refundable = facts
                        .refunded_from_invoice_limit_minor
                        .min(invoice.total_minor - invoice.open_minor);
                    if amount.to_minor() > refundable {
                        return Err(AdjustmentError::ExceedsRefundable {
                            available: Money::from_minor(refundable.max(0), currency),
                        });
                    }
                    (receivable(invoice.id, amount.to_minor()), amount.to_minor())
                }
            };
            AdjustmentPlan {
                kind: EntryKind::Refund,
                memo: format!("Refund ({}): {}", method.as_str(), header.reason),
                lines: vec![from, EntryLine::credit(method.cash_account(), *amount)],
                reverses: None,
                amount_minor: amount.to_minor(),
                open_change,
                credit_lines: Vec::new(),
            }
        }
        AdjustmentRequest::Void { .. } => {
            let invoice = invoice()?;
            if invoice.open_minor != invoice.total_minor || facts.invoice_has_activity {
                return Err(AdjustmentError::VoidAfterActivity(invoice.id));
            }
            let (issued_id, issued_lines) = facts
                .issuance
                .as_ref()
                .ok_or(AdjustmentError::VoidAfterActivity(invoice.id))?;
            AdjustmentPlan {
                kind: EntryKind::Reversal,
                memo: format!("Void of {}: {}", invoice.number, header.reason),
                lines: issued_lines
                    .iter()
                    .map(|line| EntryLine {
                        amount: -line.amount,
                        ..line.clone()
                    })
                    .collect(),
                reverses: Some(*issued_id),
                amount_minor: invoice.total_minor,
                open_change: -invoice.total_minor,
                credit_lines: Vec::new(),
            }
        }
    })
}

fn same_currency(expected: Currency, amount: Money) -> Result<(), AdjustmentError> {
    if amount.currency() == expected {
        Ok(())
    } else {
        Err(AdjustmentError::WrongCurrency {
            expected,
            found: amount.currency(),
        })
    }
}

#[cfg(test)]
mod tests {
    use chrono::NaiveDate;

    use super::*;
    use crate::payments::PaymentMethod;

    const CUSTOMER: i64 = 7;

    fn usd(minor: i64) -> Money {
        Money::from_minor(minor, Currency::Usd)
    }

    fn header() -> AdjustmentHeader {
        let day = NaiveDate::from_ymd_opt(2026, 11, 30).unwrap();
        AdjustmentHeader::new(CUSTOMER, "adj-1", "goods returned", day).unwrap()
    }

    /// Invoice 5 over 1,000.00 with `open` still open.
    fn facts(open: i64) -> AdjustmentFacts {
        AdjustmentFacts {
            invoice: Some(InvoiceFacts {
                id: 5,
                number: "INV-5".into(),
                total_minor: 100_000,
                open_minor: open,
            }),
            ..AdjustmentFacts::default()
        }
    }

    fn sum(lines: &[EntryLine]) -> i64 {
        lines.iter().map(|l| l.amount.to_minor()).sum()
    }

    fn on(account: Account, plan: &AdjustmentPlan) -> i64 {
        plan.lines
            .iter()
            .filter(|l| l.account == account)
            .map(|l| l.amount.to_minor())
            .sum()
    }

    #[test]
    fn a_credit_memo_beyond_what_is_open_leaves_the_rest_as_unapplied_credit() {
        let request = AdjustmentRequest::CreditMemo {
            invoice_id: 5,
            lines: vec![(51, usd(30_000)), (52, usd(20_000))],
        };
        let facts = AdjustmentFacts {
            creditable_minor: vec![60_000, 40_000],
            ..facts(40_000)
        };
        let plan = plan_adjustment(&header(), &request, Currency::Usd, &facts).unwrap();
        assert_eq!(sum(&plan.lines), 0);
        assert_eq!(on(Account::SalesReturns, &plan), 50_000);
        assert_eq!(on(Account::AccountsReceivable, &plan), -40_000);
        assert_eq!(on(Account::UnappliedCredit, &plan), -10_000);
        assert_eq!((plan.amount_minor, plan.open_change), (50_000, -40_000));
        assert_eq!(plan.credit_lines.len(), 2);
    }

    #[test]
    fn a_credit_memo_line_takes_at_most_what_is_left_to_credit_on_it_in_the_accounts_currency() {
        let memo = |amount: Money| AdjustmentRequest::CreditMemo {
            invoice_id: 5,
            lines: vec![(51, amount)],
        };
        let facts = AdjustmentFacts {
            creditable_minor: vec![10_000],
            ..facts(100_000)
        };
        assert_eq!(
            plan_adjustment(&header(), &memo(usd(10_001)), Currency::Usd, &facts),
            Err(AdjustmentError::OverCredit {
                line: 51,
                available: usd(10_000)
            })
        );
        let euros = Money::from_minor(100, Currency::Eur);
        assert!(matches!(
            plan_adjustment(&header(), &memo(euros), Currency::Usd, &facts),
            Err(AdjustmentError::WrongCurrency { .. })
        ));
    }

    #[test]
    fn the_lines_of_a_credit_memo_are_checked_in_order_up_to_one_that_is_not_on_the_invoice() {
        let memo = |first: i64| AdjustmentRequest::CreditMemo {
            invoice_id: 5,
            lines: vec![(51, usd(first)), (99, usd(100))],
        };
        // The store read line 51 and stopped at 99, which is not on the invoice.
        let facts = AdjustmentFacts {
            creditable_minor: vec![10_000],
            ..facts(100_000)
        };
        assert_eq!(
            plan_adjustment(&header(), &memo(100), Currency::Usd, &facts),
            Err(AdjustmentError::LineNotOnInvoice(99))
        );
        assert!(matches!(
            plan_adjustment(&header(), &memo(10_001), Currency::Usd, &facts),
            Err(AdjustmentError::OverCredit { line: 51, .. })
        ));
    }

    #[test]
    fn a_write_off_moves_open_receivable_to_the_allowance_and_no_more_than_is_open() {
        let write_off = |minor| AdjustmentRequest::WriteOff {
            invoice_id: 5,
            amount: usd(minor),
        };
        let plan =
            plan_adjustment(&header(), &write_off(2_500), Currency::Usd, &facts(2_500)).unwrap();
        assert_eq!(on(Account::AllowanceForDoubtfulAccounts, &plan), 2_500);
        assert_eq!(on(Account::AccountsReceivable, &plan), -2_500);
        assert_eq!(plan.open_change, -2_500);
        assert_eq!(
            plan_adjustment(&header(), &write_off(2_501), Currency::Usd, &facts(2_500)),
            Err(AdjustmentError::ExceedsOpen { open: usd(2_500) })
        );
    }

    #[test]
    fn a_refund_reopens_only_what_was_paid_and_not_refunded_and_credit_only_up_to_the_credit() {
        let refund = |source, minor| AdjustmentRequest::Refund {
            source,
            amount: usd(minor),
            method: PaymentMethod::Card,
        };
        // 600.00 of the invoice is paid; 450.00 of that cash is still unrefunded.
        let paid = AdjustmentFacts {
            refunded_from_invoice_limit_minor: 45_000,
            unapplied_credit_minor: 1_000,
            ..facts(40_000)
        };
        let plan = plan_adjustment(
            &header(),
            &refund(RefundSource::Invoice(5), 45_000),
            Currency::Usd,
            &paid,
        )
        .unwrap();
        assert_eq!(plan.open_change, 45_000);
        assert_eq!(on(Account::StripeClearing, &plan), -45_000);
        assert_eq!(
            plan_adjustment(
                &header(),
                &refund(RefundSource::Invoice(5), 45_001),
                Currency::Usd,
                &paid
            ),
            Err(AdjustmentError::ExceedsRefundable {
                available: usd(45_000)
            })
        );
        let from_credit = plan_adjustment(
            &header(),
            &refund(RefundSource::UnappliedCredit, 1_000),
            Currency::Usd,
            &paid,
        )
        .unwrap();
        assert_eq!(from_credit.open_change, 0);
        assert_eq!(on(Account::UnappliedCredit, &from_credit), 1_000);
        assert!(
            plan_adjustment(
                &header(),
                &refund(RefundSource::UnappliedCredit, 1_001),
                Currency::Usd,
                &paid
            )
            .is_err()
        );
    }

    #[test]
    fn a_void_reverses_the_issuance_exactly_and_only_while_the_invoice_is_untouched() {
        let issued = vec![
            EntryLine::debit(Account::AccountsReceivable, usd(100_000))
                .for_customer(CUSTOMER)
                .for_invoice(5),
            EntryLine::credit(Account::Revenue, usd(100_000)),
        ];
        let untouched = AdjustmentFacts {
            issuance: Some((99, issued.clone())),
            ..facts(100_000)
        };
        let void = AdjustmentRequest::Void { invoice_id: 5 };
        let plan = plan_adjustment(&header(), &void, Currency::Usd, &untouched).unwrap();
        assert_eq!(plan.reverses, Some(99));
        assert_eq!(plan.open_change, -100_000);
        for (reversed, original) in plan.lines.iter().zip(&issued) {
            assert_eq!(reversed.amount, -original.amount);
            assert_eq!(reversed.invoice_id, original.invoice_id);
        }
        let touched = AdjustmentFacts {
            invoice_has_activity: true,
            ..untouched.clone()
        };
        let part_paid = AdjustmentFacts {
            invoice: facts(99_999).invoice,
            ..untouched
        };
        for facts in [touched, part_paid] {
            assert_eq!(
                plan_adjustment(&header(), &void, Currency::Usd, &facts),
                Err(AdjustmentError::VoidAfterActivity(5))
            );
        }
    }
}
