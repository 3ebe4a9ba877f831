//! Verifiable documents: every invoice and statement PDF carries a short code, and a QR code of
//! the public address that checks it. The page confirms only the document's number, date and
//! total, so a forged copy (another total, another bank account, a made-up invoice) is caught by
//! anyone who looks, without the page telling a stranger anything else. Codes are random (60
//! bits), not derived from the document, so none can be guessed.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::money::Currency;

#[cfg(feature = "ssr")]
pub mod store;

/// Symbols in a document code: 12 of Crockford's base32, 60 random bits.
pub const CODE_LENGTH: usize = 12;

/// A document code in its stored form (lower case, no separators).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DocumentCode(String);

impl DocumentCode {
    /// A new random code.
    #[cfg(feature = "ssr")]
    pub fn random() -> DocumentCode {
        DocumentCode(crate::secrets::random_crockford(CODE_LENGTH))
    }

    /// A code as a person typed or scanned it (any case, with or without the hyphens, O for 0).
    #[cfg(feature = "ssr")]
    pub fn parse(text: &str) -> Option<DocumentCode> {
        crate::secrets::typed_crockford(text.trim(), CODE_LENGTH).map(DocumentCode)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// As printed: `ABCD-EFGH-JKMN`.
    #[cfg(feature = "ssr")]
    pub fn printed(&self) -> String {
        crate::printed::in_groups_of_four(&self.0.to_ascii_uppercase(), "-")
    }
}

crate::text_enum! {
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
    pub enum DocumentKind {
        Invoice = "invoice",
        Statement = "statement",
    }
}

/// What a code confirms: exactly what the document printed, and nothing else about the account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IssuedDocument {
    pub kind: DocumentKind,
    /// The invoice's number; empty for a statement.
    pub number: String,
    /// A statement's first day; `None` for an invoice.
    pub period_from: Option<NaiveDate>,
    /// An invoice's issue date; a statement's last day.
    pub issued_on: NaiveDate,
    /// An invoice's total; a statement's closing balance.
    pub total_minor: i64,
    pub currency: Currency,
}

/// What the public page says of a code we issued: the document as printed, and what happened
/// to it since that a holder must know (an invoice voided after it was printed is owed no more).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Confirmed {
    pub document: IssuedDocument,
    /// The day the invoice was voided; `None` while it stands (and for a statement).
    pub voided_on: Option<NaiveDate>,
}

impl IssuedDocument {
    /// Which document of which account this is. A document printed again with the same total
    /// keeps its code; a statement whose closing balance changed (a late posting) gets a new one.
    pub fn subject(&self, customer_id: i64) -> String {
        match self.kind {
            DocumentKind::Invoice => format!("invoice:{customer_id}:{}", self.number),
            DocumentKind::Statement => format!(
                "statement:{customer_id}:{}:{}",
                self.period_from.map(|d| d.to_string()).unwrap_or_default(),
                self.issued_on
            ),
        }
    }
}

#[cfg(all(test, feature = "ssr"))]
mod tests {
    use super::*;

    #[test]
    fn a_code_is_read_back_as_typed_from_paper() {
        let code = DocumentCode::parse("oOiI-lL01-abcz").unwrap();
        assert_eq!(code.as_str(), "00111101abcz");
        assert_eq!(code.printed(), "0011-1101-ABCZ");
        assert_eq!(DocumentCode::parse(" 0011 1101 ABCZ "), Some(code));
    }
}
