//! The double-entry ledger: accounts, journal entries and the one place that checks an entry
//! before it is posted. Persistence lives in `ledger::store` (feature `ssr`).

use std::collections::BTreeMap;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::money::{Currency, Money};

#[cfg(feature = "ssr")]
pub mod daily;
#[cfg(feature = "ssr")]
pub mod store;

#[cfg(all(test, feature = "test-support"))]
mod properties;

/// The chart of accounts (docs/ledger.md). Codes match the seeded `accounts` table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Account {
    Bank,
    AccountsReceivable,
    StripeClearing,
    ChargebacksReceivable,
    AllowanceForDoubtfulAccounts,
    SalesTaxPayable,
    UnappliedCredit,
    Revenue,
    SalesDiscounts,
    SalesReturns,
    ProcessingFees,
    ChargebackLosses,
}

impl Account {
    pub const ALL: [Account; 12] = [
        Account::Bank,
        Account::AccountsReceivable,
        Account::StripeClearing,
        Account::ChargebacksReceivable,
        Account::AllowanceForDoubtfulAccounts,
        Account::SalesTaxPayable,
        Account::UnappliedCredit,
        Account::Revenue,
        Account::SalesDiscounts,
        Account::SalesReturns,
        Account::ProcessingFees,
        Account::ChargebackLosses,
    ];

    /// The account's code in the chart; queries that read one account by code take it from here.
    pub const fn code(self) -> &'static str {
        match self {
            Account::Bank => "1000",
            Account::AccountsReceivable => "1100",
            Account::StripeClearing => "1150",
            Account::ChargebacksReceivable => "1160",
            Account::AllowanceForDoubtfulAccounts => "1190",
            Account::SalesTaxPayable => "2100",
            Account::UnappliedCredit => "2200",
            Account::Revenue => "4000",
            Account::SalesDiscounts => "4900",
            Account::SalesReturns => "4910",
            Account::ProcessingFees => "6100",
            Account::ChargebackLosses => "6200",
        }
    }

    pub fn from_code(code: &str) -> Option<Account> {
        Account::ALL.into_iter().find(|a| a.code() == code)
    }
}

/// One side of an entry. `amount` is signed: debit positive, credit negative.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EntryLine {
    pub account: Account,
    pub amount: Money,
    pub customer_id: Option<i64>,
    pub invoice_id: Option<i64>,
}

impl EntryLine {
    pub fn debit(account: Account, amount: Money) -> Self {
        Self {
            account,
            amount,
            customer_id: None,
            invoice_id: None,
        }
    }

    pub fn credit(account: Account, amount: Money) -> Self {
        Self::debit(account, -amount)
    }

    pub fn for_customer(mut self, customer_id: i64) -> Self {
        self.customer_id = Some(customer_id);
        self
    }

    pub fn for_invoice(mut self, invoice_id: i64) -> Self {
        self.invoice_id = Some(invoice_id);
        self
    }
}

crate::text_enum! {
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
    pub enum EntryKind {
        InvoiceIssued = "invoice_issued",
        PaymentReceived = "payment_received",
        EarlyPaymentDiscount = "early_payment_discount",
        CreditMemo = "credit_memo",
        CreditApplied = "credit_applied",
        Refund = "refund",
        WriteOff = "write_off",
        Reversal = "reversal",
        Chargeback = "chargeback",
        ChargebackClosed = "chargeback_closed",
        /// The provider paying its balance out to the bank (or failing to).
        Payout = "payout",
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LedgerError {
    #[error("a journal entry needs at least two lines")]
    TooFewLines,
    #[error("a journal line cannot be zero")]
    ZeroLine,
    #[error("the entry does not balance in {currency}: lines sum to {sum}")]
    Unbalanced { currency: Currency, sum: Money },
    #[error("business key must be 1 to 255 characters")]
    BusinessKey,
    #[error(
        "business key {0:?} was already posted with different content; a replay must be identical"
    )]
    KeyConflict(String),
    #[error("entry {0} is itself a reversal and cannot be reversed")]
    ReversalOfReversal(i64),
    #[error("entry {0} does not exist")]
    NoSuchEntry(i64),
    #[error(
        "the books are closed through {closed_through}: nothing can be dated {date}; use {first_open} or later, or ask a manager to reopen the period"
    )]
    PeriodClosed {
        date: NaiveDate,
        closed_through: NaiveDate,
        first_open: NaiveDate,
    },
}

/// Who chose an entry's date, which decides what a closed period does to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum DateSource {
    /// A person or the ERP chose it (an invoice, a credit memo, a payment typed in): a date in a
    /// closed period is refused.
    #[default]
    Chosen,
    /// The day something happened outside (the provider's event, the bank's booking): a date
    /// in a closed period posts on the first open day, the event's own date kept beside it.
    Event,
}

/// An entry that has passed every check that does not need the database.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BalancedEntry {
    business_key: String,
    kind: EntryKind,
    effective_date: NaiveDate,
    customer_id: Option<i64>,
    memo: String,
    lines: Vec<EntryLine>,
    reverses: Option<i64>,
    date_source: DateSource,
}

impl BalancedEntry {
    /// Checks ledger invariant 1: at least two non-zero lines that sum to zero per currency.
    pub fn new(
        business_key: impl Into<String>,
        kind: EntryKind,
        effective_date: NaiveDate,
        customer_id: Option<i64>,
        memo: impl Into<String>,
        lines: Vec<EntryLine>,
    ) -> Result<Self, LedgerError> {
        let business_key = business_key.into();
        if business_key.is_empty() || business_key.len() > 255 {
            return Err(LedgerError::BusinessKey);
        }
        if lines.len() < 2 {
            return Err(LedgerError::TooFewLines);
        }
        let mut sums: BTreeMap<Currency, Money> = BTreeMap::new();
        for line in &lines {
            if line.amount.is_zero() {
                return Err(LedgerError::ZeroLine);
            }
            let currency = line.amount.currency();
            let sum = sums
                .entry(currency)
                .or_insert_with(|| Money::zero(currency));
            // Both sides share `currency`, so only overflow can fail; treat it as unbalanced.
            *sum = sum
                .checked_add(line.amount)
                .map_err(|_| LedgerError::Unbalanced {
                    currency,
                    sum: *sum,
                })?;
        }
        if let Some((currency, sum)) = sums.into_iter().find(|(_, sum)| !sum.is_zero()) {
            return Err(LedgerError::Unbalanced { currency, sum });
        }
        Ok(Self {
            business_key,
            kind,
            effective_date,
            customer_id,
            memo: memo.into(),
            lines,
            reverses: None,
            date_source: DateSource::Chosen,
        })
    }

    /// Says who chose the date (by default a person: refused in a closed period).
    pub fn dated_by(mut self, source: DateSource) -> Self {
        self.date_source = source;
        self
    }

    pub fn date_source(&self) -> DateSource {
        self.date_source
    }

    /// The same entry on another day (a late event moved to the first open day).
    pub fn moved_to(&self, day: NaiveDate) -> Self {
        Self {
            effective_date: day,
            ..self.clone()
        }
    }

    /// Marks this entry as the reversal of `entry_id` (ledger invariant 2).
    pub fn reversing(mut self, entry_id: i64) -> Self {
        self.reverses = Some(entry_id);
        self
    }

    pub fn reverses(&self) -> Option<i64> {
        self.reverses
    }

    pub fn business_key(&self) -> &str {
        &self.business_key
    }
    pub fn kind(&self) -> EntryKind {
        self.kind
    }
    pub fn effective_date(&self) -> NaiveDate {
        self.effective_date
    }
    pub fn customer_id(&self) -> Option<i64> {
        self.customer_id
    }
    pub fn memo(&self) -> &str {
        &self.memo
    }
    pub fn lines(&self) -> &[EntryLine] {
        &self.lines
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn usd(minor: i64) -> Money {
        Money::from_minor(minor, Currency::Usd)
    }

    fn day() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 3, 1).unwrap()
    }

    #[test]
    fn an_unbalanced_entry_is_refused() {
        let lines = vec![
            EntryLine::debit(Account::AccountsReceivable, usd(1000)),
            EntryLine::credit(Account::Revenue, usd(999)),
        ];
        let err = BalancedEntry::new("k", EntryKind::InvoiceIssued, day(), None, "", lines);
        assert_eq!(
            err,
            Err(LedgerError::Unbalanced {
                currency: Currency::Usd,
                sum: usd(1)
            })
        );
    }

    #[test]
    fn an_entry_with_one_line_or_a_zero_line_is_refused() {
        let one = vec![EntryLine::debit(Account::Bank, usd(1))];
        assert_eq!(
            BalancedEntry::new("k", EntryKind::Refund, day(), None, "", one),
            Err(LedgerError::TooFewLines)
        );
        let zero = vec![
            EntryLine::debit(Account::Bank, usd(0)),
            EntryLine::credit(Account::Revenue, usd(0)),
        ];
        assert_eq!(
            BalancedEntry::new("k", EntryKind::Refund, day(), None, "", zero),
            Err(LedgerError::ZeroLine)
        );
    }

    #[test]
    fn each_currency_must_balance_on_its_own() {
        let lines = vec![
            EntryLine::debit(Account::Bank, usd(100)),
            EntryLine::credit(Account::Revenue, Money::from_minor(100, Currency::Eur)),
        ];
        assert!(matches!(
            BalancedEntry::new("k", EntryKind::Refund, day(), None, "", lines),
            Err(LedgerError::Unbalanced { .. })
        ));
    }

    proptest! {
        #[test]
        fn any_set_of_debits_balanced_by_one_credit_is_accepted(
            debits in proptest::collection::vec(1i64..10_000_000, 1..20)
        ) {
            let total: i64 = debits.iter().sum();
            let mut lines: Vec<EntryLine> = debits
                .iter()
                .map(|d| EntryLine::debit(Account::AccountsReceivable, usd(*d)))
                .collect();
            lines.push(EntryLine::credit(Account::Revenue, usd(total)));
            prop_assert!(BalancedEntry::new("k", EntryKind::InvoiceIssued, day(), None, "", lines).is_ok());
        }

        #[test]
        fn any_nonzero_imbalance_is_refused(
            debits in proptest::collection::vec(1_001i64..10_000_000, 1..20),
            skew in prop_oneof![-1000i64..-1, 1i64..1000],
        ) {
            let total: i64 = debits.iter().sum();
            let mut lines: Vec<EntryLine> = debits
                .iter()
                .map(|d| EntryLine::debit(Account::AccountsReceivable, usd(*d)))
                .collect();
            lines.push(EntryLine::credit(Account::Revenue, usd(total + skew)));
            let refused = matches!(
                BalancedEntry::new("k", EntryKind::InvoiceIssued, day(), None, "", lines),
                Err(LedgerError::Unbalanced { .. })
            );
            prop_assert!(refused);
        }
    }
}
