//! Invoice content: line items and how their totals are computed.
//!
//! Rounding convention (docs/ledger.md #6): each line's net and tax are rounded to the minor unit,
//! half away from zero; the invoice totals are the sums of the rounded lines ("tax per line").

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use chrono::NaiveDate;

use crate::ledger::{Account, BalancedEntry, EntryKind, EntryLine, LedgerError};
use crate::money::{Currency, Money, MoneyError};

pub mod draft;
#[cfg(feature = "ssr")]
pub mod reading;
#[cfg(feature = "ssr")]
pub mod store;
pub mod views;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvoiceError {
    #[error("line {line}: quantity must be greater than zero with at most 3 decimals")]
    Quantity { line: usize },
    #[error("line {line}: unit price must not be negative")]
    NegativePrice { line: usize },
    #[error("line {line}: the unit price is not an amount in {currency}")]
    Price { line: usize, currency: Currency },
    #[error("line {line}: {field} must be between 0% and 100%")]
    Rate { line: usize, field: &'static str },
    #[error("line {line}: description must be 1 to 500 characters")]
    Description { line: usize },
    #[error("line {line}: the unit price is in {found}, the invoice in {expected}")]
    Currency {
        line: usize,
        expected: Currency,
        found: Currency,
    },
    #[error("an invoice needs at least one line")]
    NoLines,
    #[error("an invoice needs at most 1000 lines")]
    TooManyLines,
    #[error("the invoice total is zero; there is nothing to bill")]
    ZeroTotal,
    #[error("invoice number must be 1 to 32 letters, digits, dashes, dots or slashes")]
    Number,
    #[error("PO number can have at most 64 characters")]
    PoNumber,
    #[error(transparent)]
    Ledger(#[from] LedgerError),
    #[error(transparent)]
    Money(#[from] MoneyError),
}

/// A validated line item. Rates are basis points (1 bp = 0.01 %).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LineItem {
    description: String,
    quantity: Decimal,
    unit_price: Money,
    discount_bp: u32,
    tax_rate_bp: u32,
}

/// A line item with its computed, rounded amounts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PricedLine {
    pub item: LineItem,
    pub net: Money,
    pub tax: Money,
}

impl LineItem {
    /// `line` is the 1-based position, used in error messages.
    pub fn new(
        line: usize,
        description: &str,
        quantity: Decimal,
        unit_price: Money,
        discount_bp: u32,
        tax_rate_bp: u32,
    ) -> Result<Self, InvoiceError> {
        let description = description.trim();
        if description.is_empty() || description.chars().count() > 500 {
            return Err(InvoiceError::Description { line });
        }
        if quantity <= Decimal::ZERO || quantity.normalize().scale() > 3 {
            return Err(InvoiceError::Quantity { line });
        }
        if unit_price.is_negative() {
            return Err(InvoiceError::NegativePrice { line });
        }
        if discount_bp > 10_000 {
            return Err(InvoiceError::Rate {
                line,
                field: "discount",
            });
        }
        if tax_rate_bp > 10_000 {
            return Err(InvoiceError::Rate {
                line,
                field: "tax rate",
            });
        }
        Ok(Self {
            description: description.to_string(),
            quantity: quantity.normalize(),
            unit_price,
            discount_bp,
            tax_rate_bp,
        })
    }

    /// A line as typed into a form: quantity and unit price as decimals, discount and tax as
    /// percentages (empty means 0).
    pub fn from_text(
        line: usize,
        description: &str,
        quantity: &str,
        unit_price: &str,
        discount_percent: &str,
        tax_percent: &str,
        currency: Currency,
    ) -> Result<Self, InvoiceError> {
        let quantity: Decimal = quantity
            .trim()
            .parse()
            .map_err(|_| InvoiceError::Quantity { line })?;
        let unit_price = Money::parse(unit_price.trim(), currency)
            .map_err(|_| InvoiceError::Price { line, currency })?;
        let rate = |text: &str, field: &'static str| {
            crate::terms::percent_to_bp(text).map_err(|_| InvoiceError::Rate { line, field })
        };
        Self::new(
            line,
            description,
            quantity,
            unit_price,
            rate(discount_percent, "discount")?,
            rate(tax_percent, "tax rate")?,
        )
    }

    pub fn description(&self) -> &str {
        &self.description
    }
    pub fn quantity(&self) -> Decimal {
        self.quantity
    }
    /// Quantity in thousandths, as stored.
    pub fn quantity_milli(&self) -> i64 {
        use rust_decimal::prelude::ToPrimitive;
        (self.quantity * Decimal::from(1000))
            .to_i64()
            .unwrap_or(i64::MAX)
    }
    pub fn unit_price(&self) -> Money {
        self.unit_price
    }
    pub fn discount_bp(&self) -> u32 {
        self.discount_bp
    }
    pub fn tax_rate_bp(&self) -> u32 {
        self.tax_rate_bp
    }

    pub fn price(self) -> PricedLine {
        let currency = self.unit_price.currency();
        let gross = self.quantity * self.unit_price.amount();
        let discount_factor = Decimal::ONE - basis_points(self.discount_bp);
        let net = Money::round_half_up(gross * discount_factor, currency);
        let tax = Money::round_half_up(net.amount() * basis_points(self.tax_rate_bp), currency);
        PricedLine {
            item: self,
            net,
            tax,
        }
    }
}

fn basis_points(bp: u32) -> Decimal {
    Decimal::new(bp.into(), 4)
}

/// Totals of an invoice's priced lines, all in the invoice currency.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvoiceTotals {
    pub subtotal: Money,
    pub tax: Money,
    pub total: Money,
}

pub fn price_lines(
    currency: Currency,
    lines: Vec<LineItem>,
) -> Result<(Vec<PricedLine>, InvoiceTotals), InvoiceError> {
    if lines.is_empty() {
        return Err(InvoiceError::NoLines);
    }
    if lines.len() > 1000 {
        return Err(InvoiceError::TooManyLines);
    }
    let mut subtotal = Money::zero(currency);
    let mut tax = Money::zero(currency);
    let mut priced = Vec::with_capacity(lines.len());
    for (index, line) in lines.into_iter().enumerate() {
        let found = line.unit_price().currency();
        if found != currency {
            return Err(InvoiceError::Currency {
                line: index + 1,
                expected: currency,
                found,
            });
        }
        let p = line.price();
        subtotal = subtotal.checked_add(p.net)?;
        tax = tax.checked_add(p.tax)?;
        priced.push(p);
    }
    let total = subtotal.checked_add(tax)?;
    Ok((
        priced,
        InvoiceTotals {
            subtotal,
            tax,
            total,
        },
    ))
}

/// A validated invoice number, e.g. `INV-2026-00042`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct InvoiceNumber(String);

impl InvoiceNumber {
    pub fn parse(input: &str) -> Result<Self, InvoiceError> {
        let number = input.trim();
        let valid = !number.is_empty()
            && number.len() <= 32
            && number
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '/'));
        if valid {
            Ok(Self(number.to_ascii_uppercase()))
        } else {
            Err(InvoiceError::Number)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An invoice ready to be issued: its lines are priced and its total is positive.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewInvoice {
    pub customer_id: i64,
    pub number: InvoiceNumber,
    pub po_number: Option<String>,
    pub issue_date: NaiveDate,
    pub lines: Vec<PricedLine>,
    pub totals: InvoiceTotals,
}

impl NewInvoice {
    pub fn new(
        customer_id: i64,
        number: InvoiceNumber,
        po_number: Option<&str>,
        issue_date: NaiveDate,
        currency: Currency,
        lines: Vec<LineItem>,
    ) -> Result<Self, InvoiceError> {
        let po_number = po_number.map(str::trim).filter(|po| !po.is_empty());
        if po_number.is_some_and(|po| po.chars().count() > 64) {
            return Err(InvoiceError::PoNumber);
        }
        let (lines, totals) = price_lines(currency, lines)?;
        if totals.total.is_zero() {
            return Err(InvoiceError::ZeroTotal);
        }
        Ok(Self {
            customer_id,
            number,
            po_number: po_number.map(str::to_string),
            issue_date,
            lines,
            totals,
        })
    }

    pub fn currency(&self) -> Currency {
        self.totals.total.currency()
    }

    /// The "invoice issued" posting: debit AR for the total, credit revenue and sales tax.
    pub fn ledger_entry(&self, invoice_id: i64) -> Result<BalancedEntry, InvoiceError> {
        let mut lines = vec![
            EntryLine::debit(Account::AccountsReceivable, self.totals.total)
                .for_customer(self.customer_id)
                .for_invoice(invoice_id),
        ];
        if !self.totals.subtotal.is_zero() {
            lines.push(EntryLine::credit(Account::Revenue, self.totals.subtotal));
        }
        if !self.totals.tax.is_zero() {
            lines.push(EntryLine::credit(Account::SalesTaxPayable, self.totals.tax));
        }
        Ok(BalancedEntry::new(
            format!("invoice:{}", self.number.as_str()),
            EntryKind::InvoiceIssued,
            self.issue_date,
            Some(self.customer_id),
            format!("Invoice {}", self.number.as_str()),
            lines,
        )?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    fn usd(s: &str) -> Money {
        Money::parse(s, Currency::Usd).unwrap()
    }

    #[test]
    fn a_line_applies_its_discount_before_tax_and_rounds_each_half_up() {
        // 3 × 19.99 = 59.97; 10 % off = 53.973 → 53.97; 8.25 % tax = 4.4525... → 4.45
        let line = LineItem::new(1, "Widgets", dec!(3), usd("19.99"), 1000, 825).unwrap();
        let priced = line.price();
        assert_eq!(priced.net, usd("53.97"));
        assert_eq!(priced.tax, usd("4.45"));
    }

    #[test]
    fn invoice_totals_are_the_sum_of_rounded_lines() {
        let lines = vec![
            LineItem::new(1, "A", dec!(1), usd("0.05"), 0, 1000).unwrap(),
            LineItem::new(2, "B", dec!(1), usd("0.05"), 0, 1000).unwrap(),
        ];
        let (_, totals) = price_lines(Currency::Usd, lines).unwrap();
        // each line's 0.005 tax rounds up to 0.01, so the invoice has 0.02, not 0.01
        assert_eq!(totals.tax, usd("0.02"));
        assert_eq!(totals.total, usd("0.12"));
    }

    #[test]
    fn impossible_lines_are_refused_with_the_line_number() {
        assert_eq!(
            LineItem::new(2, "x", dec!(-1), usd("1"), 0, 0),
            Err(InvoiceError::Quantity { line: 2 })
        );
        assert_eq!(
            LineItem::new(1, "x", dec!(0.0001), usd("1"), 0, 0),
            Err(InvoiceError::Quantity { line: 1 })
        );
        assert_eq!(
            LineItem::new(3, "  ", dec!(1), usd("1"), 0, 0),
            Err(InvoiceError::Description { line: 3 })
        );
        assert_eq!(
            LineItem::new(1, "x", dec!(1), usd("-1"), 0, 0),
            Err(InvoiceError::NegativePrice { line: 1 })
        );
        assert_eq!(
            price_lines(Currency::Usd, vec![]),
            Err(InvoiceError::NoLines)
        );
    }

    #[test]
    fn a_line_in_another_currency_is_refused() {
        let eur = Money::parse("1", Currency::Eur).unwrap();
        let line = LineItem::new(1, "x", dec!(1), eur, 0, 0).unwrap();
        assert!(matches!(
            price_lines(Currency::Usd, vec![line]),
            Err(InvoiceError::Currency { line: 1, .. })
        ));
    }
}
