//! An invoice as it arrives from outside (the staff form, a CSV row group, the ERP API): text
//! fields, parsed in one place into a [`NewInvoice`], with every problem named by its field.

use chrono::NaiveDate;
use serde::{Deserialize, Deserializer, Serialize};

use super::{InvoiceError, InvoiceNumber, LineItem, NewInvoice};
use crate::money::Currency;

/// One line as typed: quantity and unit price as decimals, discount and tax as percentages
/// (empty means 0). JSON clients may send integers; fractions must come as strings, so no
/// amount ever passes through a float.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LineDraft {
    #[serde(default)]
    pub description: String,
    #[serde(default, deserialize_with = "decimal_text")]
    pub quantity: String,
    #[serde(default, deserialize_with = "decimal_text")]
    pub unit_price: String,
    #[serde(default, alias = "discount_percent", deserialize_with = "decimal_text")]
    pub discount: String,
    #[serde(default, alias = "tax_percent", deserialize_with = "decimal_text")]
    pub tax: String,
}

impl LineDraft {
    /// A form row with neither a description nor a price was left blank on purpose.
    pub fn is_blank(&self) -> bool {
        self.description.trim().is_empty() && self.unit_price.trim().is_empty()
    }
}

/// An invoice as typed or sent, not yet checked.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvoiceDraft {
    #[serde(default)]
    pub number: String,
    #[serde(default)]
    pub po_number: String,
    /// `YYYY-MM-DD`; empty means today.
    #[serde(default)]
    pub issue_date: String,
    #[serde(default)]
    pub lines: Vec<LineDraft>,
}

/// A problem with one field of a draft, e.g. `lines[1].quantity`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// All the problems of a draft, joined for a person to read.
pub fn describe(errors: &[FieldError]) -> String {
    errors
        .iter()
        .map(|e| e.message.as_str())
        .collect::<Vec<_>>()
        .join(" ")
}

impl InvoiceDraft {
    /// Parses the draft for a customer billed in `currency`. Every field is checked, so the
    /// caller learns every problem at once, not just the first.
    pub fn parse(
        &self,
        customer_id: i64,
        currency: Currency,
        today: NaiveDate,
    ) -> Result<NewInvoice, Vec<FieldError>> {
        let mut errors = Vec::new();
        let number = InvoiceNumber::parse(&self.number)
            .map_err(|e| errors.push(FieldError::new("number", sentence(&e))))
            .ok();
        let issue_date = issue_date_field(&self.issue_date, today, &mut errors);
        if self.po_number.trim().chars().count() > 64 {
            errors.push(FieldError::new(
                "po_number",
                sentence(&InvoiceError::PoNumber),
            ));
        }
        let mut items = Vec::with_capacity(self.lines.len());
        for (index, line) in self.lines.iter().enumerate() {
            match LineItem::from_text(
                index + 1,
                &line.description,
                &line.quantity,
                &line.unit_price,
                &line.discount,
                &line.tax,
                currency,
            ) {
                Ok(item) => items.push(item),
                Err(e) => errors.push(FieldError::new(
                    format!("lines[{index}].{}", line_field(&e)),
                    sentence(&e),
                )),
            }
        }
        if self.lines.is_empty() {
            errors.push(FieldError::new("lines", sentence(&InvoiceError::NoLines)));
        }
        let (Some(number), Some(issue_date), true) = (number, issue_date, errors.is_empty()) else {
            return Err(errors);
        };
        NewInvoice::new(
            customer_id,
            number,
            Some(self.po_number.as_str()),
            issue_date,
            currency,
            items,
        )
        .map_err(|e| {
            let field = match e {
                InvoiceError::ZeroTotal | InvoiceError::NoLines | InvoiceError::TooManyLines => {
                    "lines"
                }
                InvoiceError::PoNumber => "po_number",
                _ => "invoice",
            };
            vec![FieldError::new(field, sentence(&e))]
        })
    }
}

/// The draft field a line error is about.
fn line_field(error: &InvoiceError) -> &'static str {
    match error {
        InvoiceError::Quantity { .. } => "quantity",
        InvoiceError::NegativePrice { .. }
        | InvoiceError::Price { .. }
        | InvoiceError::Currency { .. } => "unit_price",
        InvoiceError::Rate {
            field: "discount", ..
        } => "discount",
        InvoiceError::Rate { .. } => "tax",
        _ => "description",
    }
}

/// The `issue_date` field of a draft: `YYYY-MM-DD`, empty meaning today; a bad date is recorded
/// in `errors`.
pub(crate) fn issue_date_field(
    text: &str,
    today: NaiveDate,
    errors: &mut Vec<FieldError>,
) -> Option<NaiveDate> {
    match text.trim() {
        "" => Some(today),
        text => text
            .parse::<NaiveDate>()
            .map_err(|_| {
                errors.push(FieldError::new(
                    "issue_date",
                    format!("{text:?} is not a date like 2026-11-23."),
                ))
            })
            .ok(),
    }
}

/// An error message as a sentence: capitalised, with a full stop.
pub(crate) fn sentence(error: &impl std::fmt::Display) -> String {
    let text = error.to_string();
    let mut chars = text.chars();
    let mut out: String = chars
        .next()
        .map(|c| c.to_uppercase().collect::<String>())
        .unwrap_or_default();
    out.push_str(chars.as_str());
    if !out.ends_with('.') {
        out.push('.');
    }
    out
}

/// Accepts a JSON string or integer as decimal text; refuses fractional JSON numbers, which
/// would have passed through a float.
pub(crate) fn decimal_text<'de, D: Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    struct Text;
    impl serde::de::Visitor<'_> for Text {
        type Value = String;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a decimal as a string (\"12.50\") or an integer")
        }
        fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<String, E> {
            Ok(v.to_string())
        }
        fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<String, E> {
            Ok(v.to_string())
        }
        fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<String, E> {
            Ok(v.to_string())
        }
        fn visit_f64<E: serde::de::Error>(self, _: f64) -> Result<String, E> {
            Err(E::custom(
                "send amounts with decimals as strings, e.g. \"12.50\", so no precision is lost",
            ))
        }
    }
    deserializer.deserialize_any(Text)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 23).unwrap()
    }

    fn line(description: &str, quantity: &str, price: &str) -> LineDraft {
        LineDraft {
            description: description.into(),
            quantity: quantity.into(),
            unit_price: price.into(),
            ..LineDraft::default()
        }
    }

    #[test]
    fn a_good_draft_becomes_an_invoice_dated_today_when_no_date_is_given() {
        let draft = InvoiceDraft {
            number: "inv-9".into(),
            lines: vec![line("Bolts", "3", "2.50"), line("Freight", "1", "10")],
            ..InvoiceDraft::default()
        };
        let invoice = draft.parse(7, Currency::Usd, today()).unwrap();
        assert_eq!(invoice.number.as_str(), "INV-9");
        assert_eq!(invoice.issue_date, today());
        assert_eq!(invoice.totals.total.to_minor(), 1_750);
    }

    #[test]
    fn every_bad_field_is_reported_by_name_at_once() {
        let draft = InvoiceDraft {
            number: "no spaces allowed".into(),
            issue_date: "23/11/2026".into(),
            lines: vec![
                line("Bolts", "-1", "2.50"),
                line("Nuts", "1", "2.505"),
                LineDraft {
                    tax: "120".into(),
                    ..line("Washers", "1", "1")
                },
            ],
            ..InvoiceDraft::default()
        };
        let errors = draft.parse(7, Currency::Usd, today()).unwrap_err();
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "number",
                "issue_date",
                "lines[0].quantity",
                "lines[1].unit_price",
                "lines[2].tax"
            ]
        );
        assert!(errors.iter().all(|e| e.message.ends_with('.')));
    }

    #[test]
    fn no_lines_and_a_zero_total_are_errors_on_the_lines() {
        let empty = InvoiceDraft {
            number: "A-1".into(),
            ..InvoiceDraft::default()
        };
        assert_eq!(
            empty.parse(1, Currency::Usd, today()).unwrap_err()[0].field,
            "lines"
        );
        let free = InvoiceDraft {
            number: "A-1".into(),
            lines: vec![line("Sample", "1", "0")],
            ..InvoiceDraft::default()
        };
        assert_eq!(
            free.parse(1, Currency::Usd, today()).unwrap_err()[0].field,
            "lines"
        );
    }
}
