//! Customer accounts: who owes us, in which currency, on which terms.

use serde::{Deserialize, Serialize};

use crate::money::{Currency, Money};
use crate::terms::PaymentTerms;

pub mod billing;
#[cfg(feature = "ssr")]
pub mod store;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CustomerError {
    #[error("customer number must be 1 to 32 letters, digits or dashes")]
    Number,
    #[error("customer name must be 1 to 200 characters")]
    Name,
    #[error("the credit limit must be in {expected} and not negative")]
    CreditLimit { expected: Currency },
}

/// A validated new customer account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewCustomer {
    number: String,
    name: String,
    currency: Currency,
    terms: PaymentTerms,
    credit_limit: Money,
}

impl NewCustomer {
    pub fn new(
        number: &str,
        name: &str,
        currency: Currency,
        terms: PaymentTerms,
        credit_limit: Money,
    ) -> Result<Self, CustomerError> {
        let number = number.trim();
        if number.is_empty()
            || number.len() > 32
            || !number
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-')
        {
            return Err(CustomerError::Number);
        }
        let name = name.trim();
        if name.is_empty() || name.chars().count() > 200 {
            return Err(CustomerError::Name);
        }
        if credit_limit.currency() != currency || credit_limit.is_negative() {
            return Err(CustomerError::CreditLimit { expected: currency });
        }
        Ok(Self {
            number: number.to_ascii_uppercase(),
            name: name.to_string(),
            currency,
            terms,
            credit_limit,
        })
    }

    pub fn number(&self) -> &str {
        &self.number
    }
    pub fn name(&self) -> &str {
        &self.name
    }
    pub fn currency(&self) -> Currency {
        self.currency
    }
    pub fn terms(&self) -> PaymentTerms {
        self.terms
    }
    pub fn credit_limit(&self) -> Money {
        self.credit_limit
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_customer_number_is_normalised_and_checked() {
        let terms = PaymentTerms::net(30).unwrap();
        let limit = Money::zero(Currency::Usd);
        let c = NewCustomer::new(" c-001 ", "Acme", Currency::Usd, terms, limit).unwrap();
        assert_eq!(c.number(), "C-001");
        assert_eq!(
            NewCustomer::new("c 1", "Acme", Currency::Usd, terms, limit),
            Err(CustomerError::Number)
        );
        assert_eq!(
            NewCustomer::new("C1", "Acme", Currency::Eur, terms, limit),
            Err(CustomerError::CreditLimit {
                expected: Currency::Eur
            })
        );
    }
}

/// A customer account as staff edit it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CustomerProfile {
    pub id: i64,
    pub number: String,
    pub name: String,
    pub currency: Currency,
    pub terms: PaymentTerms,
    pub credit_limit_minor: i64,
    /// Addresses that receive receipts and reminders besides the signed-in contacts.
    pub billing_emails: Vec<String>,
}

/// What staff ask of the customer list: a search over number and name, and where the page
/// starts (the balance and id of the previous page's last row).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CustomerListQuery {
    pub search: String,
    pub after: Option<(i64, i64)>,
    /// Only accounts with something open (the aging report's rows).
    pub open_only: bool,
}

impl CustomerListQuery {
    pub const PAGE_ROWS: usize = 50;
}

/// A customer account with its open balance (what its invoices have open, in its currency).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow))]
pub struct CustomerBalance {
    pub id: i64,
    pub number: String,
    pub name: String,
    pub currency: String,
    pub open_minor: i64,
}

/// One page of the customer list, and where the next one starts (none on the last page).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CustomerPage {
    pub rows: Vec<CustomerBalance>,
    pub next: Option<(i64, i64)>,
}
