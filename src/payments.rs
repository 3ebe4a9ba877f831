//! Cash application: how a payment (or unapplied credit) is spread over open invoices.
//!
//! The planning here is pure, so it can be property-tested; `payments::store` runs it inside a
//! transaction against freshly locked invoice rows.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::str::FromStr;

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::ledger::{Account, DateSource};
use crate::money::{Currency, Money};

pub mod history;
#[cfg(feature = "ssr")]
pub mod receipt_mail;
#[cfg(feature = "ssr")]
pub mod store;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PaymentError {
    #[error("the amount must be greater than zero")]
    NotPositive,
    #[error("the payment is in {found} but the account is billed in {expected}")]
    WrongCurrency { expected: Currency, found: Currency },
    #[error("the amounts for the invoices add up to more than the payment")]
    AllocatedMoreThanPaid,
    #[error("an invoice appears twice in the allocation")]
    DuplicateInvoice,
    #[error("invoice {0} was not found on this account")]
    InvoiceNotFound(i64),
    #[error("invoice {0} is void")]
    InvoiceVoid(i64),
    #[error("reference must be 1 to 255 characters")]
    BusinessKey,
    #[error("unknown payment method {0:?}")]
    Method(String),
    #[error("only {available} of unapplied credit is available")]
    InsufficientCredit { available: Money },
    #[error("nothing is due on this account to apply credit to")]
    NothingDue,
}

/// Why a remittance advice (which invoices a payment is for) was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RemittanceError {
    #[error(
        "remittance line {line}: write the invoice number, then the amount (e.g. INV-1001 250.00)"
    )]
    Shape { line: usize },
    #[error("remittance line {line}: {reason}")]
    Amount { line: usize, reason: String },
    #[error("remittance line {line}: invoice {number} appears twice")]
    Duplicate { line: usize, number: String },
    #[error("remittance line {line}: there is no invoice {number} on this account")]
    UnknownInvoice { line: usize, number: String },
    #[error("the remittance lists more than {MAXIMUM_REMITTANCE_LINES} invoices")]
    TooLong,
}

/// Invoices one remittance may name.
pub const MAXIMUM_REMITTANCE_LINES: usize = 500;

/// One line of a remittance advice: this much to the invoice with this number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemittanceLine {
    /// 1-based, for messages.
    pub line: usize,
    pub number: String,
    pub amount: Money,
}

/// Reads a remittance advice as staff copy it from the customer's letter: one invoice per line,
/// its number then the amount, separated by spaces, a tab, a comma or a semicolon. Blank lines
/// are skipped; every amount must be positive and in the account's currency.
pub fn parse_remittance(
    text: &str,
    currency: Currency,
) -> Result<Vec<RemittanceLine>, RemittanceError> {
    let mut lines: Vec<RemittanceLine> = Vec::new();
    for (index, raw) in text.lines().enumerate() {
        let line = index + 1;
        let raw = raw.trim();
        if raw.is_empty() {
            continue;
        }
        if lines.len() == MAXIMUM_REMITTANCE_LINES {
            return Err(RemittanceError::TooLong);
        }
        let split = raw
            .find(|c: char| c.is_whitespace() || c == ',' || c == ';')
            .ok_or(RemittanceError::Shape { line })?;
        let number = raw[..split].trim().to_ascii_uppercase();
        let amount_text =
            raw[split..].trim_matches(|c: char| c.is_whitespace() || c == ',' || c == ';');
        if number.is_empty() || amount_text.is_empty() {
            return Err(RemittanceError::Shape { line });
        }
        let amount = Money::parse(amount_text, currency).map_err(|e| RemittanceError::Amount {
            line,
            reason: e.to_string(),
        })?;
        if amount.is_negative() || amount.is_zero() {
            return Err(RemittanceError::Amount {
                line,
                reason: "the amount must be greater than zero".into(),
            });
        }
        if lines.iter().any(|l| l.number == number) {
            return Err(RemittanceError::Duplicate { line, number });
        }
        lines.push(RemittanceLine {
            line,
            number,
            amount,
        });
    }
    Ok(lines)
}

crate::text_enum! {
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
    pub enum PaymentMethod {
        Card = "card",
        Ach = "ach",
        SepaDebit = "sepa_debit",
        Cheque = "cheque",
        Wire = "wire",
        Cash = "cash",
    }
}

impl PaymentMethod {
    /// The methods staff record from a remittance advice, in the order their form offers them.
    pub const RECORDED_BY_STAFF: [PaymentMethod; 4] = [
        PaymentMethod::Cheque,
        PaymentMethod::Wire,
        PaymentMethod::Ach,
        PaymentMethod::Cash,
    ];

    pub fn label(self) -> &'static str {
        self.label_in(crate::locale::Locale::En)
    }

    pub fn label_in(self, locale: crate::locale::Locale) -> &'static str {
        use crate::locale::Locale::{De, En};
        match (self, locale) {
            (PaymentMethod::Card, En) => "Card",
            (PaymentMethod::Ach, En) => "ACH",
            (PaymentMethod::SepaDebit, En) => "SEPA Direct Debit",
            (PaymentMethod::Cheque, En) => "Cheque",
            (PaymentMethod::Wire, En) => "Wire transfer",
            (PaymentMethod::Cash, En) => "Cash",
            (PaymentMethod::Card, De) => "Karte",
            (PaymentMethod::Ach, De) => "ACH-Lastschrift",
            (PaymentMethod::SepaDebit, De) => "SEPA-Lastschrift",
            (PaymentMethod::Cheque, De) => "Scheck",
            (PaymentMethod::Wire, De) => "Überweisung",
            (PaymentMethod::Cash, De) => "Bar",
        }
    }

    /// Bank debits: they settle days later and can be returned by the bank.
    pub fn is_bank_debit(self) -> bool {
        matches!(self, PaymentMethod::Ach | PaymentMethod::SepaDebit)
    }

    /// Card and bank-debit money arrives through Stripe; the rest straight at the bank.
    pub fn cash_account(self) -> Account {
        match self {
            PaymentMethod::Card | PaymentMethod::Ach | PaymentMethod::SepaDebit => {
                Account::StripeClearing
            }
            PaymentMethod::Cheque | PaymentMethod::Wire | PaymentMethod::Cash => Account::Bank,
        }
    }
}

impl FromStr for PaymentMethod {
    type Err = PaymentError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s).ok_or_else(|| PaymentError::Method(s.to_string()))
    }
}

/// Which invoices money goes to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum AllocationRule {
    /// Oldest due date first, until the money runs out.
    OldestFirst,
    /// These amounts to these invoices; anything left over becomes unapplied credit.
    Explicit(Vec<(i64, Money)>),
}

impl AllocationRule {
    pub(crate) fn check(&self, amount: Money) -> Result<(), PaymentError> {
        let AllocationRule::Explicit(parts) = self else {
            return Ok(());
        };
        let mut seen = BTreeSet::new();
        let mut sum = Money::zero(amount.currency());
        for (invoice_id, part) in parts {
            if !seen.insert(*invoice_id) {
                return Err(PaymentError::DuplicateInvoice);
            }
            if part.currency() != amount.currency() {
                return Err(PaymentError::WrongCurrency {
                    expected: amount.currency(),
                    found: part.currency(),
                });
            }
            if part.is_negative() || part.is_zero() {
                return Err(PaymentError::NotPositive);
            }
            sum = sum
                .checked_add(*part)
                .map_err(|_| PaymentError::AllocatedMoreThanPaid)?;
        }
        if sum.amount() > amount.amount() {
            return Err(PaymentError::AllocatedMoreThanPaid);
        }
        Ok(())
    }

    pub(crate) fn canonical(&self) -> String {
        match self {
            AllocationRule::OldestFirst => "oldest".to_string(),
            AllocationRule::Explicit(parts) => {
                let mut text = String::from("explicit");
                for (invoice_id, part) in parts {
                    let _ = write!(text, ",{invoice_id}={}", part.to_minor());
                }
                text
            }
        }
    }
}

/// A validated request to record money received from a customer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentRequest {
    pub customer_id: i64,
    pub business_key: String,
    pub method: PaymentMethod,
    pub amount: Money,
    pub received: NaiveDate,
    pub rule: AllocationRule,
    /// Take the early-payment discount on invoices paid in full inside their window.
    pub take_discounts: bool,
    /// Whether `received` was typed in or is the provider's (the bank's) day: decides what a
    /// closed period does to it.
    pub dated_by: DateSource,
}

impl PaymentRequest {
    pub fn new(
        customer_id: i64,
        business_key: &str,
        method: PaymentMethod,
        amount: Money,
        received: NaiveDate,
        rule: AllocationRule,
        take_discounts: bool,
    ) -> Result<Self, PaymentError> {
        check_key(business_key)?;
        if amount.is_negative() || amount.is_zero() {
            return Err(PaymentError::NotPositive);
        }
        rule.check(amount)?;
        Ok(Self {
            customer_id,
            business_key: business_key.to_string(),
            method,
            amount,
            received,
            rule,
            take_discounts,
            dated_by: DateSource::Chosen,
        })
    }

    /// The received day is an outside event's (the provider's or the bank's), not typed in.
    pub fn dated_by_event(mut self) -> Self {
        self.dated_by = DateSource::Event;
        self
    }

    /// Everything that defines the payment, as text: a replay must match it exactly.
    pub fn canonical(&self) -> String {
        format!(
            "method={};amount={}:{};received={};rule={};discounts={}",
            self.method.as_str(),
            self.amount.currency(),
            self.amount.to_minor(),
            self.received,
            self.rule.canonical(),
            self.take_discounts
        )
    }
}

pub(crate) fn check_key(key: &str) -> Result<(), PaymentError> {
    if key.is_empty() || key.len() > 255 {
        Err(PaymentError::BusinessKey)
    } else {
        Ok(())
    }
}

/// An open invoice as the planner sees it (amounts in minor units of one currency).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OpenInvoice {
    pub id: i64,
    pub total_minor: i64,
    pub open_minor: i64,
    pub discount_bp: u32,
    pub discount_until: Option<NaiveDate>,
}

impl OpenInvoice {
    /// The early-payment discount if the invoice is settled in full on `paid_on`: a share of the
    /// invoice total, rounded half up, never more than what is open.
    pub fn discount_if_settled(&self, paid_on: NaiveDate, currency: Currency) -> i64 {
        match self.discount_until {
            Some(until) if paid_on <= until && self.discount_bp > 0 => {
                let total = Money::from_minor(self.total_minor, currency).amount();
                let rate = Decimal::new(self.discount_bp.into(), 4);
                Money::round_half_up(total * rate, currency)
                    .to_minor()
                    .min(self.open_minor)
            }
            _ => 0,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlannedAllocation {
    pub invoice_id: i64,
    /// Cash (or credit) applied.
    pub amount_minor: i64,
    /// Early-payment discount granted on top of the cash.
    pub discount_minor: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AllocationPlan {
    pub allocations: Vec<PlannedAllocation>,
    pub unapplied_minor: i64,
}

/// Spreads `amount_minor` over `invoices`. With `OldestFirst` the invoices must come in due-date
/// order; with `Explicit` each requested amount is capped at what is open now, so money that
/// raced another payment to the same invoice becomes unapplied credit instead of over-applying.
pub fn plan_allocation(
    amount_minor: i64,
    currency: Currency,
    invoices: &[OpenInvoice],
    rule: &AllocationRule,
    paid_on: NaiveDate,
    take_discounts: bool,
) -> AllocationPlan {
    let mut remaining = amount_minor;
    let mut allocations = Vec::new();
    let mut apply = |invoice: &OpenInvoice, wanted: i64, remaining: &mut i64| {
        let discount = if take_discounts {
            invoice.discount_if_settled(paid_on, currency)
        } else {
            0
        };
        let settles_with_discount = discount > 0 && wanted >= invoice.open_minor - discount;
        let (cash, discount) = if settles_with_discount {
            (invoice.open_minor - discount, discount)
        } else {
            (wanted.min(invoice.open_minor), 0)
        };
        let cash = cash.min(*remaining);
        // A discount only applies when the cash really settles the rest.
        let discount = if cash + discount == invoice.open_minor {
            discount
        } else {
            0
        };
        if cash + discount > 0 {
            allocations.push(PlannedAllocation {
                invoice_id: invoice.id,
                amount_minor: cash,
                discount_minor: discount,
            });
            *remaining -= cash;
        }
    };
    match rule {
        AllocationRule::OldestFirst => {
            for invoice in invoices {
                if remaining == 0 {
                    break;
                }
                apply(invoice, remaining, &mut remaining);
            }
        }
        AllocationRule::Explicit(parts) => {
            for (invoice_id, part) in parts {
                if let Some(invoice) = invoices.iter().find(|i| i.id == *invoice_id) {
                    apply(invoice, part.to_minor(), &mut remaining);
                }
            }
        }
    }
    AllocationPlan {
        allocations,
        unapplied_minor: remaining,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn day(d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 3, d).unwrap()
    }

    #[test]
    fn a_remittance_reads_one_invoice_per_line_in_the_ways_people_write_it() {
        let lines = parse_remittance(
            "inv-1001 250.00\n\nINV-1002\t1,250.50\nINV-1003, 10;\n",
            Currency::Usd,
        )
        .unwrap();
        let read: Vec<(usize, &str, i64)> = lines
            .iter()
            .map(|l| (l.line, l.number.as_str(), l.amount.to_minor()))
            .collect();
        assert_eq!(
            read,
            vec![
                (1, "INV-1001", 25_000),
                (3, "INV-1002", 125_050),
                (4, "INV-1003", 1_000)
            ]
        );
    }

    #[test]
    fn a_remittance_names_the_line_of_each_mistake() {
        let error = |text: &str| {
            parse_remittance(text, Currency::Usd)
                .unwrap_err()
                .to_string()
        };
        assert!(error("INV-1001").starts_with("remittance line 1: write the invoice number"));
        assert!(error("INV-1001 5\nINV-1002 -5").starts_with("remittance line 2:"));
        assert!(error("INV-1001 1.234").starts_with("remittance line 1:"));
        assert_eq!(
            error("INV-1001 5\ninv-1001 6"),
            "remittance line 2: invoice INV-1001 appears twice"
        );
        assert!(error("INV-1001 zero").contains("not a number"));
    }

    fn invoice(id: i64, total: i64, open: i64) -> OpenInvoice {
        OpenInvoice {
            id,
            total_minor: total,
            open_minor: open,
            discount_bp: 0,
            discount_until: None,
        }
    }

    #[test]
    fn oldest_first_pays_in_due_order_and_the_excess_is_unapplied() {
        let invoices = [invoice(1, 10_000, 10_000), invoice(2, 5_000, 5_000)];
        let plan = plan_allocation(
            12_000,
            Currency::Usd,
            &invoices,
            &AllocationRule::OldestFirst,
            day(1),
            true,
        );
        assert_eq!(plan.allocations.len(), 2);
        assert_eq!(plan.allocations[0].amount_minor, 10_000);
        assert_eq!(plan.allocations[1].amount_minor, 2_000);
        assert_eq!(plan.unapplied_minor, 0);
        let over = plan_allocation(
            20_000,
            Currency::Usd,
            &invoices,
            &AllocationRule::OldestFirst,
            day(1),
            true,
        );
        assert_eq!(over.unapplied_minor, 5_000);
    }

    #[test]
    fn two_ten_net_thirty_settles_an_invoice_for_ninety_eight_percent_inside_the_window() {
        let mut inv = invoice(1, 100_000, 100_000);
        inv.discount_bp = 200;
        inv.discount_until = Some(day(11));
        let rule = AllocationRule::Explicit(vec![(1, Money::from_minor(98_000, Currency::Usd))]);
        let plan = plan_allocation(98_000, Currency::Usd, &[inv], &rule, day(11), true);
        assert_eq!(
            plan.allocations,
            vec![PlannedAllocation {
                invoice_id: 1,
                amount_minor: 98_000,
                discount_minor: 2_000
            }]
        );
        // One day late: no discount, the invoice stays 20.00 open.
        let late = plan_allocation(98_000, Currency::Usd, &[inv], &rule, day(12), true);
        assert_eq!(late.allocations[0].discount_minor, 0);
        assert_eq!(late.allocations[0].amount_minor, 98_000);
    }

    #[test]
    fn a_partial_payment_inside_the_window_gets_no_discount() {
        let mut inv = invoice(1, 100_000, 100_000);
        inv.discount_bp = 200;
        inv.discount_until = Some(day(11));
        let plan = plan_allocation(
            50_000,
            Currency::Usd,
            &[inv],
            &AllocationRule::OldestFirst,
            day(2),
            true,
        );
        assert_eq!(plan.allocations[0].discount_minor, 0);
        assert_eq!(plan.allocations[0].amount_minor, 50_000);
    }

    #[test]
    fn an_explicit_amount_above_what_is_open_now_becomes_unapplied_credit() {
        // Another payment took most of the invoice first.
        let invoices = [invoice(7, 10_000, 1_500)];
        let rule = AllocationRule::Explicit(vec![(7, Money::from_minor(10_000, Currency::Usd))]);
        let plan = plan_allocation(10_000, Currency::Usd, &invoices, &rule, day(1), false);
        assert_eq!(plan.allocations[0].amount_minor, 1_500);
        assert_eq!(plan.unapplied_minor, 8_500);
    }

    #[test]
    fn requests_that_cannot_be_right_are_refused() {
        let usd = |m| Money::from_minor(m, Currency::Usd);
        let new = |amount, rule| {
            PaymentRequest::new(1, "k", PaymentMethod::Card, amount, day(1), rule, false)
        };
        assert_eq!(
            new(usd(0), AllocationRule::OldestFirst),
            Err(PaymentError::NotPositive)
        );
        assert_eq!(
            new(usd(-5), AllocationRule::OldestFirst),
            Err(PaymentError::NotPositive)
        );
        assert_eq!(
            new(
                usd(100),
                AllocationRule::Explicit(vec![(1, usd(60)), (2, usd(60))])
            ),
            Err(PaymentError::AllocatedMoreThanPaid)
        );
        assert_eq!(
            new(
                usd(100),
                AllocationRule::Explicit(vec![(1, usd(10)), (1, usd(10))])
            ),
            Err(PaymentError::DuplicateInvoice)
        );
        assert_eq!(
            new(
                usd(100),
                AllocationRule::Explicit(vec![(1, Money::from_minor(10, Currency::Eur))])
            ),
            Err(PaymentError::WrongCurrency {
                expected: Currency::Usd,
                found: Currency::Eur
            })
        );
    }

    proptest! {
        #[test]
        fn a_plan_never_over_applies_and_never_loses_money(
            opens in proptest::collection::vec((1i64..100_000, 0u32..300), 0..12),
            amount in 1i64..500_000,
            paid_day in 1u32..28,
        ) {
            let invoices: Vec<OpenInvoice> = opens.iter().enumerate().map(|(i, (open, bp))| OpenInvoice {
                id: i as i64 + 1,
                total_minor: *open,
                open_minor: *open,
                discount_bp: *bp,
                discount_until: Some(day(10)),
            }).collect();
            let plan = plan_allocation(amount, Currency::Usd, &invoices, &AllocationRule::OldestFirst, day(paid_day), true);
            let cash: i64 = plan.allocations.iter().map(|a| a.amount_minor).sum();
            prop_assert_eq!(cash + plan.unapplied_minor, amount);
            prop_assert!(plan.unapplied_minor >= 0);
            for a in &plan.allocations {
                let inv = invoices.iter().find(|i| i.id == a.invoice_id).unwrap();
                prop_assert!(a.amount_minor + a.discount_minor <= inv.open_minor);
                prop_assert!(a.amount_minor >= 0 && a.discount_minor >= 0);
                if a.discount_minor > 0 {
                    prop_assert_eq!(a.amount_minor + a.discount_minor, inv.open_minor);
                }
            }
        }
    }
}
