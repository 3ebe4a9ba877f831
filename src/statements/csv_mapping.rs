//! Bank statements as CSV: every bank writes its own columns, so each bank's layout is saved
//! once as a mapping (which column is the date, the amount, the bank's reference, …) and files
//! from that bank are read through it.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::{BankLine, ParsedStatement, StatementError, StatementFormat, decimal_minor};
use crate::money::Currency;

/// How one bank's CSV export is laid out. Columns are named by their header.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, sqlx::FromRow)]
pub struct CsvMapping {
    /// The bank (and export) this layout is for: what staff pick when uploading.
    pub name: String,
    /// The company's account the exports are of (IBAN or account number).
    pub account: String,
    #[sqlx(try_from = "String")]
    pub currency: Currency,
    /// `,`, `;` or a tab.
    pub delimiter: String,
    pub date_column: String,
    /// A chrono format such as `%d.%m.%Y` or `%Y-%m-%d`.
    pub date_format: String,
    /// Signed: money in positive, money out negative.
    pub amount_column: String,
    /// `.` for `1,234.56`, `,` for `1.234,56`.
    pub decimal_separator: String,
    pub reference_column: String,
    /// Optional columns: empty when the bank has none.
    pub counterparty_column: String,
    pub counterparty_account_column: String,
    pub remittance_column: String,
}

impl CsvMapping {
    /// Checks a mapping as staff enter it.
    pub fn check(&self) -> Result<(), StatementError> {
        let at = format!("mapping {:?}", self.name);
        if self.name.trim().is_empty() {
            return Err(StatementError::new("the mapping", "a mapping needs a name"));
        }
        if !matches!(self.delimiter.as_str(), "," | ";" | "\t") {
            return Err(StatementError::new(
                at,
                "the delimiter is a comma, a semicolon or a tab",
            ));
        }
        if !matches!(self.decimal_separator.as_str(), "." | ",") {
            return Err(StatementError::new(
                at,
                "the decimal separator is a point or a comma",
            ));
        }
        for (what, column) in [
            ("date", &self.date_column),
            ("amount", &self.amount_column),
            ("bank reference", &self.reference_column),
        ] {
            if column.trim().is_empty() {
                return Err(StatementError::new(
                    at,
                    format!("the {what} column is required"),
                ));
            }
        }
        if NaiveDate::parse_from_str("2026-12-05", "%Y-%m-%d")
            .map(|d| d.format(&self.date_format).to_string())
            .ok()
            .and_then(|written| NaiveDate::parse_from_str(&written, &self.date_format).ok())
            .is_none()
        {
            return Err(StatementError::new(
                at,
                format!("{:?} is not a date format (try %d.%m.%Y)", self.date_format),
            ));
        }
        Ok(())
    }

    /// Reads a file through this mapping: one statement of the mapping's account.
    pub fn parse(&self, text: &str) -> Result<ParsedStatement, StatementError> {
        self.check()?;
        let mut reader = csv::ReaderBuilder::new()
            .delimiter(self.delimiter.as_bytes()[0])
            .flexible(true)
            .trim(csv::Trim::All)
            .from_reader(text.trim_start_matches('\u{feff}').as_bytes());
        let headers = reader
            .headers()
            .map_err(|e| StatementError::new("line 1", format!("the header row: {e}")))?
            .clone();
        let column = |name: &str| -> Result<Option<usize>, StatementError> {
            if name.trim().is_empty() {
                return Ok(None);
            }
            headers
                .iter()
                .position(|h| h.eq_ignore_ascii_case(name.trim()))
                .map(Some)
                .ok_or_else(|| {
                    StatementError::new("line 1", format!("there is no column {name:?}"))
                })
        };
        let date = column(&self.date_column)?.unwrap_or_default();
        let amount = column(&self.amount_column)?.unwrap_or_default();
        let reference = column(&self.reference_column)?.unwrap_or_default();
        let counterparty = column(&self.counterparty_column)?;
        let counterparty_account = column(&self.counterparty_account_column)?;
        let remittance = column(&self.remittance_column)?;
        let mut lines = Vec::new();
        for record in reader.records() {
            let record =
                record.map_err(|e| StatementError::new("the file", format!("not CSV: {e}")))?;
            let at = format!("line {}", record.position().map_or(0, |p| p.line()));
            if record.iter().all(str::is_empty) {
                continue;
            }
            let get = |index: Option<usize>| {
                index
                    .and_then(|i| record.get(i))
                    .unwrap_or_default()
                    .to_string()
            };
            let date_text = get(Some(date));
            let booked_on =
                NaiveDate::parse_from_str(&date_text, &self.date_format).map_err(|_| {
                    StatementError::new(
                        &at,
                        format!("{date_text:?} is not a date as {:?}", self.date_format),
                    )
                })?;
            let amount_text = get(Some(amount));
            let normalized = if self.decimal_separator == "," {
                amount_text.replace('.', "").replace(',', ".")
            } else {
                amount_text.replace(',', "")
            };
            let (negative, digits) = match normalized.strip_prefix('-') {
                Some(rest) => (true, rest.to_string()),
                None => (false, normalized.trim_start_matches('+').to_string()),
            };
            let unsigned = decimal_minor(&digits, self.currency, &at)?;
            let bank_reference = get(Some(reference));
            if bank_reference.is_empty() {
                return Err(StatementError::new(&at, "the bank reference is empty"));
            }
            lines.push(BankLine {
                bank_reference,
                booked_on,
                amount_minor: if negative { -unsigned } else { unsigned },
                counterparty: get(counterparty),
                counterparty_account: crate::transfers::electronic(&get(counterparty_account)),
                remittance: get(remittance),
                ..BankLine::default()
            });
        }
        let digest = {
            use sha2::{Digest, Sha256};
            crate::secrets::hex(&Sha256::digest(text.as_bytes())[..6])
        };
        Ok(ParsedStatement {
            format: StatementFormat::Csv,
            statement_id: format!("{}-{digest}", self.name.trim()),
            account: self.account.clone(),
            currency: self.currency,
            opening: None,
            closing: None,
            lines,
        })
    }
}
