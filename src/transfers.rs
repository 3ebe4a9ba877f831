//! Paying by bank transfer: the customer picks invoices and amounts as for any payment, the
//! portal records the announced transfer with an ISO 11649 creditor reference, and shows where
//! to send the money. The transfer holds its invoices back (not due, no reminders) for the
//! receiving account's waiting days; the money is matched by its reference when it arrives.

use std::fmt;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::locale::Locale;
use crate::money::Currency;

#[cfg(feature = "ssr")]
pub mod changes;
#[cfg(feature = "ssr")]
pub mod store;

/// An ISO 11649 structured creditor reference: `RF`, two check digits, then 1–21 letters or
/// digits. Held in its electronic form (upper case, no spaces); shown in groups of four.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct CreditorReference(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReferenceError {
    #[error("a creditor reference starts with RF")]
    Prefix,
    #[error("a creditor reference has 1 to 21 letters or digits after RF and its check digits")]
    Length,
    #[error("a creditor reference has only letters and digits")]
    Character,
    #[error("the check digits of this creditor reference do not match")]
    CheckDigits,
}

impl CreditorReference {
    /// The reference for `body` (1–21 letters or digits, case ignored), with its check digits.
    pub fn for_body(body: &str) -> Result<CreditorReference, ReferenceError> {
        let body = body.to_ascii_uppercase();
        check_body(&body)?;
        Ok(CreditorReference::with_check_digits(&body))
    }

    /// A new reference of ten random digits (easy to type into any bank's form, and too many
    /// to guess or collide; the database keeps them unique).
    #[cfg(feature = "ssr")]
    pub fn random() -> CreditorReference {
        use rand::Rng;
        let mut rng = rand::rngs::OsRng;
        let body: String = (0..10)
            .map(|_| char::from(b'0' + rng.gen_range(0..10u8)))
            .collect();
        CreditorReference::with_check_digits(&body)
    }

    /// `body` must be 1–21 upper-case letters or digits.
    fn with_check_digits(body: &str) -> CreditorReference {
        let check = 98 - mod97(&format!("{body}RF00"));
        CreditorReference(format!("RF{check:02}{body}"))
    }

    /// Reads a reference as a person or a bank writes it (spaces and lower case allowed) and
    /// checks its check digits.
    pub fn parse(text: &str) -> Result<CreditorReference, ReferenceError> {
        let compact = electronic(text);
        let rest = compact.strip_prefix("RF").ok_or(ReferenceError::Prefix)?;
        if rest.len() < 3 || !rest.is_char_boundary(2) {
            return Err(ReferenceError::Length);
        }
        let (check, body) = rest.split_at(2);
        // Check digits run from 02 to 98 (99 would pass the modulo test for 02).
        if !check.chars().all(|c| c.is_ascii_digit()) || !("02"..="98").contains(&check) {
            return Err(ReferenceError::CheckDigits);
        }
        check_body(body)?;
        // Moving `RF` and the check digits behind the body leaves 1 modulo 97 when they fit.
        if mod97(&format!("{body}RF{check}")) != 1 {
            return Err(ReferenceError::CheckDigits);
        }
        Ok(CreditorReference(compact))
    }

    /// The electronic form: `RF18539007547034`.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The valid references written anywhere in free text (a bank line's remittance
    /// information), however a person spaced them. A reference may be followed by more digits
    /// (`RF18 5390 0754 7034 2026`), so every valid reading ending at a word's end is given: a
    /// wrong one (about 1 in 97) names no transfer, the caller looks each up.
    pub fn find_in(text: &str) -> Vec<CreditorReference> {
        let upper = text.to_ascii_uppercase();
        let mut found: Vec<CreditorReference> = Vec::new();
        for (start, _) in upper.match_indices("RF") {
            if upper[..start]
                .chars()
                .next_back()
                .is_some_and(|c| c.is_ascii_alphanumeric())
            {
                continue;
            }
            let mut compact = String::new();
            let mut chars = upper[start..].chars().peekable();
            while let Some(c) = chars.next() {
                if c == ' ' {
                    continue;
                }
                if !c.is_ascii_alphanumeric() || compact.len() >= 25 {
                    break;
                }
                compact.push(c);
                let word_ends = chars
                    .peek()
                    .is_none_or(|next| !next.is_ascii_alphanumeric());
                if word_ends
                    && let Ok(reference) = CreditorReference::parse(&compact)
                    && !found.contains(&reference)
                {
                    found.push(reference);
                }
            }
        }
        found
    }
}

impl fmt::Display for CreditorReference {
    /// The printed form, in groups of four: `RF18 5390 0754 7034`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&grouped(&self.0))
    }
}

fn check_body(body: &str) -> Result<(), ReferenceError> {
    if body.is_empty() || body.len() > 21 {
        return Err(ReferenceError::Length);
    }
    if !body.chars().all(|c| c.is_ascii_alphanumeric()) {
        return Err(ReferenceError::Character);
    }
    Ok(())
}

/// The remainder modulo 97 of the number written by replacing each letter with two digits
/// (A = 10 … Z = 35), as IBANs and creditor references compute it. ASCII alphanumerics only.
fn mod97(text: &str) -> u32 {
    text.chars().fold(0, |remainder, c| {
        let value = c.to_digit(36).unwrap_or(0);
        if value >= 10 {
            (remainder * 100 + value) % 97
        } else {
            (remainder * 10 + value) % 97
        }
    })
}

/// Where customers send a bank transfer in one currency: the company's receiving account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReceivingAccount {
    pub currency: Currency,
    pub holder: String,
    pub bank_name: String,
    pub details: AccountDetails,
    /// How many days an announced transfer holds its invoices back.
    pub wait_days: u32,
}

impl ReceivingAccount {
    /// One line for the audit log, the command line and the managers' mail:
    /// `EUR: Holder, Bank, IBAN DE89 3704 …, BIC …; transfers awaited 5 days`.
    pub fn summary(&self) -> String {
        format!(
            "{}: {}, {}, {}; transfers awaited {} days",
            self.currency,
            self.holder,
            self.bank_name,
            self.details.one_line(),
            self.wait_days
        )
    }
}

/// Where a version of a receiving account stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ChangeStatus {
    /// Proposed by one manager; a second must approve it.
    AwaitingApproval,
    /// Approved; payers were told, and customers see it from its effective time.
    Scheduled,
    /// What customers see now.
    InEffect,
    /// Was in effect until a newer version took over.
    Replaced,
    Withdrawn,
}

/// A version of a receiving account as managers see it (the bank accounts page).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountVersion {
    pub id: i64,
    pub account: ReceivingAccount,
    pub status: ChangeStatus,
    /// Who proposed it; `None`: set up by the operator.
    pub proposed_by: Option<String>,
    pub proposed_at: String,
    pub approved_by: Option<String>,
    pub effective_at: Option<String>,
    pub withdrawn_by: Option<String>,
    pub withdrawn_at: Option<String>,
}

/// A receiving account as an operator typed it (see [`ReceivingAccount::new`]).
#[derive(Debug, Clone, Copy, Default)]
pub struct TypedAccount<'a> {
    pub holder: &'a str,
    pub bank_name: &'a str,
    pub iban: Option<&'a str>,
    pub bic: Option<&'a str>,
    pub account_number: Option<&'a str>,
    pub routing_number: Option<&'a str>,
    pub wait_days: u32,
}

#[cfg(feature = "ssr")]
impl ReceivingAccount {
    /// Checks an account as an operator types it: an IBAN (its check digits and its country's
    /// format) with an optional BIC, or a US account and routing number (its checksum).
    pub fn new(
        currency: Currency,
        typed: &TypedAccount<'_>,
    ) -> Result<ReceivingAccount, BankAccountError> {
        let TypedAccount {
            holder,
            bank_name,
            iban,
            bic,
            account_number,
            routing_number,
            wait_days,
        } = *typed;
        let (holder, bank_name) = (holder.trim(), bank_name.trim());
        if holder.is_empty() || bank_name.is_empty() {
            return Err(BankAccountError::Names);
        }
        if !(1..=60).contains(&wait_days) {
            return Err(BankAccountError::WaitDays(wait_days));
        }
        let details = match (iban, account_number, routing_number) {
            (Some(iban), None, None) => AccountDetails::Iban {
                iban: parse_iban(iban)?,
                bic: bic.map(parse_bic).transpose()?,
            },
            (None, Some(number), Some(routing)) if bic.is_none() => {
                let number = number.trim();
                if !(4..=17).contains(&number.len()) || !number.chars().all(|c| c.is_ascii_digit())
                {
                    return Err(BankAccountError::AccountNumber(number.to_string()));
                }
                AccountDetails::Domestic {
                    account_number: number.to_string(),
                    routing_number: parse_routing_number(routing)?,
                }
            }
            _ => return Err(BankAccountError::Coordinates),
        };
        Ok(ReceivingAccount {
            currency,
            holder: holder.to_string(),
            bank_name: bank_name.to_string(),
            details,
            wait_days,
        })
    }
}

/// An IBAN in its electronic form, however it was spaced or cased.
#[cfg(feature = "ssr")]
pub fn parse_iban(text: &str) -> Result<String, BankAccountError> {
    electronic(text)
        .parse::<iban::Iban>()
        .map(|iban| iban::IbanLike::electronic_str(&iban).to_string())
        .map_err(|_| BankAccountError::Iban(text.to_string()))
}

#[cfg(feature = "ssr")]
fn parse_bic(text: &str) -> Result<String, BankAccountError> {
    let bic = text.trim().to_ascii_uppercase();
    let well_formed = matches!(bic.len(), 8 | 11)
        && bic[..6].chars().all(|c| c.is_ascii_alphabetic())
        && bic[6..].chars().all(|c| c.is_ascii_alphanumeric());
    if well_formed {
        Ok(bic)
    } else {
        Err(BankAccountError::Bic(text.to_string()))
    }
}

/// An ABA routing number: nine digits whose weighted sum (3, 7, 1, repeated) ends in 0.
#[cfg(feature = "ssr")]
fn parse_routing_number(text: &str) -> Result<String, BankAccountError> {
    let routing = text.trim();
    let digits: Vec<u32> = routing.chars().filter_map(|c| c.to_digit(10)).collect();
    let weighted: u32 = digits
        .iter()
        .zip([3, 7, 1].iter().cycle())
        .map(|(digit, weight)| digit * weight)
        .sum();
    if digits.len() == 9 && routing.len() == 9 && weighted.is_multiple_of(10) {
        Ok(routing.to_string())
    } else {
        Err(BankAccountError::Routing(text.to_string()))
    }
}

/// A receiving account's coordinates.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum AccountDetails {
    /// SEPA and international: IBAN (electronic form) and, where the bank needs it, the BIC.
    Iban { iban: String, bic: Option<String> },
    /// US domestic: account number and ABA routing number.
    Domestic {
        account_number: String,
        routing_number: String,
    },
}

impl AccountDetails {
    /// The coordinates on one line: `IBAN DE89 3704 …, BIC COBADEFFXXX`.
    pub fn one_line(&self) -> String {
        self.lines(Locale::En)
            .into_iter()
            .map(|(label, value)| format!("{label} {value}"))
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// The account's coordinates as labelled lines for the instructions page and PDF.
    pub fn lines(&self, locale: Locale) -> Vec<(&'static str, String)> {
        match self {
            AccountDetails::Iban { iban, bic } => {
                let mut lines = vec![("IBAN", grouped(iban))];
                if let Some(bic) = bic {
                    lines.push(("BIC", bic.clone()));
                }
                lines
            }
            AccountDetails::Domestic {
                account_number,
                routing_number,
            } => vec![
                (
                    locale.pick("Account number", "Kontonummer"),
                    account_number.clone(),
                ),
                (
                    locale.pick("Routing number (ABA)", "Bankleitzahl (ABA)"),
                    routing_number.clone(),
                ),
            ],
        }
    }
}

/// The electronic form of a code people print in groups (an IBAN, a creditor reference, an
/// account number): no spaces, upper case.
pub fn electronic(printed: &str) -> String {
    printed
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect::<String>()
        .to_ascii_uppercase()
}

/// The printed form of an IBAN or a creditor reference: groups of four.
fn grouped(electronic: &str) -> String {
    crate::printed::in_groups_of_four(electronic, " ")
}

/// What a customer needs to make an announced transfer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TransferInstructions {
    pub reference: CreditorReference,
    pub account: ReceivingAccount,
    pub currency: Currency,
    pub amount_minor: i64,
    /// The invoices it pays: number and the amount sent for it.
    pub invoices: Vec<(String, i64)>,
    pub announced_on: NaiveDate,
    /// Until this day its invoices are held back (not due, no reminders).
    pub held_until: NaiveDate,
}

impl TransferInstructions {
    /// The instructions as labelled lines, in the order a bank's transfer form asks for them.
    pub fn lines(&self, locale: Locale) -> Vec<(&'static str, String)> {
        let (amount, reference, holder) = locale.pick(
            ("Amount", "Reference", "Account holder"),
            ("Betrag", "Verwendungszweck", "Kontoinhaber"),
        );
        let mut lines = vec![
            (amount, locale.money(self.amount_minor, self.currency)),
            (reference, self.reference.to_string()),
            (holder, self.account.holder.clone()),
            ("Bank", self.account.bank_name.clone()),
        ];
        lines.extend(self.account.details.lines(locale));
        lines
    }

    /// The instructions for the email: the amount, the reference and the invoices, but not the
    /// account. Bank details appear only inside the portal, so that a mail naming an account is
    /// recognisably not ours.
    pub fn text_without_account(&self, locale: Locale) -> String {
        let lines = self.lines(locale);
        let mut text = String::new();
        // The amount and the reference: the first two lines, before the account's.
        for (label, value) in lines.iter().take(2) {
            text.push_str(&format!("  {label}: {value}\n"));
        }
        text.push_str(locale.pick("\n  For invoices:\n", "\n  Für die Rechnungen:\n"));
        for (number, amount_minor) in &self.invoices {
            let amount = locale.money(*amount_minor, self.currency);
            text.push_str(&format!("    {number}: {amount}\n"));
        }
        text
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BankAccountError {
    #[error("{0:?} is not a valid IBAN")]
    Iban(String),
    #[error("{0:?} is not a valid BIC (8 or 11 letters and digits)")]
    Bic(String),
    #[error("{0:?} is not a US routing number (9 digits with a valid checksum)")]
    Routing(String),
    #[error("{0:?} is not an account number (4 to 17 digits)")]
    AccountNumber(String),
    #[error("give either an IBAN or an account and routing number")]
    Coordinates,
    #[error("the account holder and the bank's name are required")]
    Names,
    #[error("the waiting days are 1 to 60, not {0}")]
    WaitDays(u32),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_standards_example_reference_validates_and_prints_in_groups_of_four() {
        let reference = CreditorReference::parse("RF18 5390 0754 7034").unwrap();
        assert_eq!(reference.as_str(), "RF18539007547034");
        assert_eq!(reference.to_string(), "RF18 5390 0754 7034");
        assert_eq!(CreditorReference::for_body("539007547034"), Ok(reference));
    }

    #[test]
    fn a_reference_with_a_wrong_check_digit_or_character_is_refused() {
        assert_eq!(
            CreditorReference::parse("RF19 5390 0754 7034"),
            Err(ReferenceError::CheckDigits)
        );
        assert_eq!(
            CreditorReference::parse("XX18539007547034"),
            Err(ReferenceError::Prefix)
        );
        assert_eq!(
            CreditorReference::parse("RF18"),
            Err(ReferenceError::Length)
        );
        assert_eq!(
            CreditorReference::for_body("C-1001"),
            Err(ReferenceError::Character)
        );
        assert_eq!(
            CreditorReference::for_body(&"1".repeat(22)),
            Err(ReferenceError::Length)
        );
    }

    #[test]
    fn generated_references_validate_for_letters_and_digits() {
        for body in ["C10010001", "a", "ZZZZZZZZZZZZZZZZZZZZZ", "0"] {
            let made = CreditorReference::for_body(body).unwrap();
            assert_eq!(CreditorReference::parse(&made.to_string()), Ok(made));
        }
    }

    #[test]
    fn references_are_found_in_remittance_text_however_they_are_spaced() {
        let text =
            "Payment inv 2024-17 ref rf18 5390 0754 7034, also RF99 1234 (bad) xRF18539007547034";
        assert_eq!(
            CreditorReference::find_in(text),
            vec![CreditorReference::parse("RF18539007547034").unwrap()]
        );
        assert!(CreditorReference::find_in("no reference here").is_empty());
        // Digits after the reference do not hide it.
        assert!(
            CreditorReference::find_in("RF18 5390 0754 7034 2026 transfer")
                .contains(&CreditorReference::parse("RF18539007547034").unwrap())
        );
    }

    #[cfg(feature = "ssr")]
    #[test]
    fn receiving_accounts_are_checked_as_typed() {
        let sepa = TypedAccount {
            holder: "Ledgerport Demo GmbH",
            bank_name: "Commerzbank",
            iban: Some("de89 3704 0044 0532 0130 00"),
            bic: Some("cobadeffxxx"),
            wait_days: 5,
            ..TypedAccount::default()
        };
        assert_eq!(
            ReceivingAccount::new(Currency::Eur, &sepa).unwrap().details,
            AccountDetails::Iban {
                iban: "DE89370400440532013000".into(),
                bic: Some("COBADEFFXXX".into())
            }
        );
        let us = TypedAccount {
            holder: "Ledgerport Demo Inc.",
            bank_name: "Test Bank",
            account_number: Some("000123456789"),
            routing_number: Some("110000000"),
            wait_days: 5,
            ..TypedAccount::default()
        };
        assert!(ReceivingAccount::new(Currency::Usd, &us).is_ok());
        let bad_routing = TypedAccount {
            routing_number: Some("110000001"),
            ..us
        };
        assert_eq!(
            ReceivingAccount::new(Currency::Usd, &bad_routing),
            Err(BankAccountError::Routing("110000001".into()))
        );
        let both = TypedAccount {
            iban: sepa.iban,
            ..us
        };
        assert_eq!(
            ReceivingAccount::new(Currency::Usd, &both),
            Err(BankAccountError::Coordinates)
        );
        let bad_iban = TypedAccount {
            iban: Some("DE89370400440532013001"),
            ..sepa
        };
        assert_eq!(
            ReceivingAccount::new(Currency::Eur, &bad_iban),
            Err(BankAccountError::Iban("DE89370400440532013001".into()))
        );
        let no_wait = TypedAccount {
            wait_days: 0,
            ..sepa
        };
        assert_eq!(
            ReceivingAccount::new(Currency::Eur, &no_wait),
            Err(BankAccountError::WaitDays(0))
        );
    }

    #[test]
    fn iban_coordinates_print_in_groups_of_four() {
        let details = AccountDetails::Iban {
            iban: "DE89370400440532013000".into(),
            bic: Some("COBADEFFXXX".into()),
        };
        assert_eq!(
            details.lines(Locale::En),
            vec![
                ("IBAN", "DE89 3704 0044 0532 0130 00".to_string()),
                ("BIC", "COBADEFFXXX".to_string())
            ]
        );
    }
}
