//! Reading the books as AR staff do: journal entries with their lines, filtered, and the audit
//! log. Nothing here writes.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

#[cfg(feature = "ssr")]
pub mod store;

/// One journal entry and its lines.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow))]
pub struct JournalEntryView {
    pub id: i64,
    pub business_key: String,
    pub kind: String,
    #[cfg_attr(feature = "ssr", sqlx(try_from = "crate::db::Day"))]
    pub effective_date: NaiveDate,
    pub posted_at: String,
    pub customer: Option<String>,
    pub memo: String,
    /// Read after the entries, in one query for the whole page.
    #[cfg_attr(feature = "ssr", sqlx(skip))]
    pub lines: Vec<JournalLineView>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow))]
pub struct JournalLineView {
    pub account_code: String,
    #[cfg_attr(feature = "ssr", sqlx(rename = "name"))]
    pub account_name: String,
    pub currency: String,
    /// Debits positive, credits negative, as stored.
    pub amount_minor: i64,
    #[cfg_attr(feature = "ssr", sqlx(rename = "number"))]
    pub invoice_number: Option<String>,
}

/// Which entries to list; `None` means any.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct JournalFilter {
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
    pub customer_id: Option<i64>,
    /// An entry kind (`payment_received`, `credit_memo`, …).
    pub kind: Option<String>,
    /// Only entries with a line on this account code.
    pub account: Option<String>,
    /// Where the page starts: the previous page's last entry (its date and id); none for the
    /// newest entries.
    pub after: Option<(NaiveDate, i64)>,
}

/// One page of the journal and where the next (older) one starts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JournalPage {
    pub entries: Vec<JournalEntryView>,
    pub next: Option<(NaiveDate, i64)>,
}

pub const JOURNAL_PER_PAGE: u32 = 50;

/// One audit record as staff read it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow))]
pub struct AuditRow {
    pub at: String,
    pub actor: String,
    pub action: String,
    pub subject: String,
    pub detail: String,
    pub ip: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditFilter {
    /// Part of the actor's email or name, any case.
    pub actor: String,
    /// An action or its prefix (`dispute.` lists every dispute action).
    pub action: String,
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
    pub page: u32,
}

pub const AUDIT_PER_PAGE: u32 = 100;
