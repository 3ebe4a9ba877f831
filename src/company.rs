//! The company that issues the invoices, as its documents name it: legal name, address, tax
//! registration numbers and whom to ask about a bill. A manager keeps it; every invoice,
//! statement and transfer instruction prints it.

use serde::{Deserialize, Serialize};

#[cfg(feature = "ssr")]
pub mod store;

const NAME_CHARS: usize = 120;
/// An address-like text: lines at most, and characters a line.
pub const TEXT_LINES: usize = 6;
pub const LINE_CHARS: usize = 80;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CompanyError {
    #[error("the legal name is required, at most {NAME_CHARS} characters")]
    LegalName,
    #[error("the {0} has at most {TEXT_LINES} lines of {LINE_CHARS} characters, without < or >")]
    Lines(&'static str),
    #[error("the billing contact is one line of at most {LINE_CHARS} characters")]
    Contact,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct CompanyProfile {
    pub legal_name: String,
    pub address: Vec<String>,
    /// One registration a line, as printed: `VAT DE123456789`, `EIN 12-3456789`.
    pub tax_numbers: Vec<String>,
    /// Whom customers ask about a bill (an address, a phone number).
    pub billing_contact: String,
}

impl CompanyProfile {
    pub fn parse(
        legal_name: &str,
        address: &str,
        tax_numbers: &str,
        billing_contact: &str,
    ) -> Result<Self, CompanyError> {
        let legal_name = legal_name.trim();
        if legal_name.is_empty()
            || legal_name.chars().count() > NAME_CHARS
            || legal_name.chars().any(char::is_control)
        {
            return Err(CompanyError::LegalName);
        }
        let billing_contact = billing_contact.trim();
        if billing_contact.chars().count() > LINE_CHARS
            || billing_contact.chars().any(char::is_control)
        {
            return Err(CompanyError::Contact);
        }
        Ok(CompanyProfile {
            legal_name: legal_name.to_string(),
            address: text_lines(address).ok_or(CompanyError::Lines("address"))?,
            tax_numbers: text_lines(tax_numbers).ok_or(CompanyError::Lines("tax registration"))?,
            billing_contact: billing_contact.to_string(),
        })
    }

    /// Nothing set yet (a new installation): documents fall back to the portal's name.
    pub fn is_empty(&self) -> bool {
        self.legal_name.is_empty()
    }
}

/// The non-blank lines of an address-like text area, trimmed; none when there are more than
/// `TEXT_LINES`, one is longer than `LINE_CHARS` (what a document's header has room for), or one
/// holds a control character, `<` or `>`.
pub fn text_lines(text: &str) -> Option<Vec<String>> {
    let lines: Vec<String> = text
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .map(str::to_string)
        .collect();
    // No `<` or `>`: a form shows these lines back inside a text area, which does not escape markup.
    let fits = lines.len() <= TEXT_LINES
        && lines.iter().all(|line| {
            line.chars().count() <= LINE_CHARS
                && !line
                    .chars()
                    .any(|c| c.is_control() || matches!(c, '<' | '>'))
        });
    fits.then_some(lines)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_profile_needs_a_legal_name_and_keeps_its_lines() {
        let profile = CompanyProfile::parse(
            " Ledgerport Demo Inc. ",
            "1 Market Street\n\nSan Francisco, CA 94105\n",
            "EIN 12-3456789",
            "billing@ledgerport.example",
        )
        .unwrap();
        assert_eq!(profile.legal_name, "Ledgerport Demo Inc.");
        assert_eq!(
            profile.address,
            vec!["1 Market Street", "San Francisco, CA 94105"]
        );
        assert_eq!(profile.tax_numbers, vec!["EIN 12-3456789"]);
        assert_eq!(
            CompanyProfile::parse("  ", "", "", ""),
            Err(CompanyError::LegalName)
        );
        assert_eq!(
            CompanyProfile::parse("X", &"line\n".repeat(7), "", ""),
            Err(CompanyError::Lines("address"))
        );
        assert_eq!(
            CompanyProfile::parse("X", "", "", "a\u{7}b"),
            Err(CompanyError::Contact)
        );
        assert_eq!(
            CompanyProfile::parse("X", "1 Road</textarea><form>", "", ""),
            Err(CompanyError::Lines("address"))
        );
    }
}
