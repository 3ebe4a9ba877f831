//! What customers and staff read about invoices: list rows with status, and the detail page.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::locale::Locale;
use crate::money::Currency;

/// Where an invoice stands today. "In dispute" arrives with disputes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum InvoiceStatus {
    Open,
    Overdue,
    Paid,
    Void,
}

impl InvoiceStatus {
    pub fn of(voided: bool, open_minor: i64, due_date: NaiveDate, today: NaiveDate) -> Self {
        if voided {
            InvoiceStatus::Void
        } else if open_minor == 0 {
            InvoiceStatus::Paid
        } else if due_date < today {
            InvoiceStatus::Overdue
        } else {
            InvoiceStatus::Open
        }
    }

    pub fn label(self) -> &'static str {
        self.label_in(Locale::En)
    }

    pub fn label_in(self, locale: Locale) -> &'static str {
        match (self, locale) {
            (InvoiceStatus::Open, Locale::En) => "Open",
            (InvoiceStatus::Overdue, Locale::En) => "Overdue",
            (InvoiceStatus::Paid, Locale::En) => "Paid",
            (InvoiceStatus::Void, Locale::En) => "Void",
            (InvoiceStatus::Open, Locale::De) => "Offen",
            (InvoiceStatus::Overdue, Locale::De) => "Überfällig",
            (InvoiceStatus::Paid, Locale::De) => "Bezahlt",
            (InvoiceStatus::Void, Locale::De) => "Storniert",
        }
    }
}

/// The status filter of the invoice list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum InvoiceFilter {
    #[default]
    All,
    /// Not fully paid and not void (overdue ones included).
    Open,
    Overdue,
    Paid,
    Void,
    /// With an amount held by an active dispute.
    InDispute,
}

impl InvoiceFilter {
    pub const ALL: [InvoiceFilter; 6] = [
        InvoiceFilter::All,
        InvoiceFilter::Open,
        InvoiceFilter::Overdue,
        InvoiceFilter::InDispute,
        InvoiceFilter::Paid,
        InvoiceFilter::Void,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            InvoiceFilter::All => "all",
            InvoiceFilter::Open => "open",
            InvoiceFilter::Overdue => "overdue",
            InvoiceFilter::Paid => "paid",
            InvoiceFilter::Void => "void",
            InvoiceFilter::InDispute => "in-dispute",
        }
    }

    /// Unknown values fall back to "all", as a link with a stale filter should still work.
    pub fn parse(text: &str) -> Self {
        Self::ALL
            .into_iter()
            .find(|f| f.as_str() == text)
            .unwrap_or_default()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum InvoiceSort {
    #[default]
    DueDate,
    IssueDate,
    Number,
    Total,
    Open,
}

impl InvoiceSort {
    pub const ALL: [InvoiceSort; 5] = [
        InvoiceSort::DueDate,
        InvoiceSort::IssueDate,
        InvoiceSort::Number,
        InvoiceSort::Total,
        InvoiceSort::Open,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            InvoiceSort::DueDate => "due",
            InvoiceSort::IssueDate => "issued",
            InvoiceSort::Number => "number",
            InvoiceSort::Total => "total",
            InvoiceSort::Open => "open",
        }
    }

    pub fn parse(text: &str) -> Self {
        Self::ALL
            .into_iter()
            .find(|s| s.as_str() == text)
            .unwrap_or_default()
    }
}

/// One page of a customer's invoice list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvoiceQuery {
    pub filter: InvoiceFilter,
    /// Matches the invoice number or the PO number, anywhere, ignoring case.
    pub search: String,
    pub sort: InvoiceSort,
    pub descending: bool,
    /// 1-based.
    pub page: u32,
    pub per_page: u32,
}

impl InvoiceQuery {
    pub const MAX_PER_PAGE: u32 = 200;
}

impl Default for InvoiceQuery {
    fn default() -> Self {
        InvoiceQuery {
            filter: InvoiceFilter::All,
            search: String::new(),
            sort: InvoiceSort::DueDate,
            descending: true,
            page: 1,
            per_page: 25,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvoiceRow {
    pub id: i64,
    pub number: String,
    pub po_number: Option<String>,
    pub issue_date: NaiveDate,
    pub due_date: NaiveDate,
    pub total_minor: i64,
    pub open_minor: i64,
    /// Held by active disputes: part of `open_minor`, not due until resolved.
    pub held_minor: i64,
    /// On its way (open checkout, processing bank debit): part of `open_minor`, not due again.
    pub pending_minor: i64,
    /// The part of `pending_minor` that announced bank transfers carry.
    pub announced_minor: i64,
    pub status: InvoiceStatus,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvoicePage {
    pub currency: Currency,
    pub rows: Vec<InvoiceRow>,
    /// Rows matching the filter and search over all pages.
    pub matching: i64,
    pub page: u32,
    pub per_page: u32,
}

impl InvoicePage {
    pub fn pages(&self) -> u32 {
        let per_page = i64::from(self.per_page.max(1));
        u32::try_from((self.matching + per_page - 1) / per_page)
            .unwrap_or(u32::MAX)
            .max(1)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow))]
pub struct InvoiceLineView {
    pub id: i64,
    pub line_no: i64,
    pub description: String,
    pub quantity_milli: i64,
    pub unit_price_minor: i64,
    pub discount_bp: i64,
    pub tax_rate_bp: i64,
    pub net_minor: i64,
    pub tax_minor: i64,
    /// Credited by credit memos so far, tax included.
    pub credited_minor: i64,
}

impl InvoiceLineView {
    /// What is left to credit on the line: its gross amount less what was credited.
    pub fn creditable_minor(&self) -> i64 {
        self.net_minor + self.tax_minor - self.credited_minor
    }

    /// `3`, `2.5`, `0.125`: the quantity without trailing zeros.
    pub fn quantity_text(&self) -> String {
        let whole = self.quantity_milli / 1000;
        let fraction = self.quantity_milli % 1000;
        if fraction == 0 {
            whole.to_string()
        } else {
            format!("{whole}.{fraction:03}")
                .trim_end_matches('0')
                .to_string()
        }
    }
}

/// A posting against the invoice after it was issued: a payment, a discount taken, a credit,
/// a write-off, a refund reopening it, a void.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow))]
pub struct InvoiceActivity {
    #[cfg_attr(
        feature = "ssr",
        sqlx(rename = "effective_date", try_from = "crate::db::Day")
    )]
    pub date: NaiveDate,
    pub kind: String,
    #[cfg_attr(feature = "ssr", sqlx(rename = "memo"))]
    pub description: String,
    /// Negative lowers what is owed on the invoice.
    #[cfg_attr(feature = "ssr", sqlx(rename = "amount"))]
    pub amount_minor: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvoiceDetail {
    pub id: i64,
    pub number: String,
    pub po_number: Option<String>,
    pub currency: Currency,
    pub issue_date: NaiveDate,
    pub due_date: NaiveDate,
    pub net_days: i64,
    pub discount_bp: i64,
    pub discount_until: Option<NaiveDate>,
    pub subtotal_minor: i64,
    pub tax_minor: i64,
    pub total_minor: i64,
    pub open_minor: i64,
    /// Held by active disputes: part of `open_minor`, not due until resolved.
    pub held_minor: i64,
    /// On its way: the sum of `in_progress`.
    pub pending_minor: i64,
    /// Payments on their way for this invoice (open checkouts, processing bank debits).
    pub in_progress: Vec<crate::checkout::PaymentInProgress>,
    pub status: InvoiceStatus,
    pub lines: Vec<InvoiceLineView>,
    pub activity: Vec<InvoiceActivity>,
    /// Disputes raised on this invoice, newest first.
    pub disputes: Vec<InvoiceDispute>,
}

/// An invoice as staff see it: with the account it is on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StaffInvoice {
    pub customer_id: i64,
    pub customer_name: String,
    pub invoice: InvoiceDetail,
}

impl StaffInvoice {
    /// A number for the next credit memo on this invoice (`CM-INV-1001-2`), or empty when the
    /// invoice's own number leaves no room for one.
    pub fn next_credit_memo_number(&self) -> String {
        let issued = self
            .invoice
            .activity
            .iter()
            .filter(|a| a.kind == "credit_memo")
            .count();
        let number = format!("CM-{}-{}", self.invoice.number, issued + 1);
        if number.len() <= 32 {
            number
        } else {
            String::new()
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow))]
pub struct InvoiceDispute {
    pub id: i64,
    #[cfg_attr(feature = "ssr", sqlx(try_from = "String"))]
    pub status: crate::disputes::DisputeStatus,
    pub disputed_minor: i64,
    pub credited_minor: i64,
}

/// `kind` of a journal entry in words for customers.
pub fn activity_label(kind: &str, locale: Locale) -> &'static str {
    let (en, de) = match kind {
        "invoice_issued" => ("Invoice", "Rechnung"),
        "payment_received" => ("Payment", "Zahlung"),
        "early_payment_discount" => ("Early-payment discount", "Skonto"),
        "credit_applied" => ("Credit applied", "Guthaben verrechnet"),
        "credit_memo" => ("Credit memo", "Gutschrift"),
        "write_off" => ("Written off", "Abgeschrieben"),
        "refund" => ("Refund", "Erstattung"),
        "reversal" => ("Reversed", "Storniert"),
        "chargeback" => ("Chargeback", "Rückbuchung"),
        _ => ("Adjustment", "Korrektur"),
    };
    locale.pick(en, de)
}
