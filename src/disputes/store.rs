//! Disputes in the database. Every change is one write transaction under the customer's lock
//! (the same lock payments take), so a hold and a payment can never race past each other.
//! Status changes are conditional updates on the status read, so two people acting at once
//! cannot both move the same dispute.
//!
//! `commands` changes disputes, `reads` answers the pages, `notices` writes the messages a change
//! sends; what a change does to the money is decided in `super::effects`.

use chrono::{DateTime, Utc};
use sqlx::{Any, Row, Transaction};

use super::{DisputeError, DisputeLineView, DisputeStatus, Side};
use crate::db::DbError;
use crate::money::Currency;
use crate::receivables::store::CashError;

mod commands;
mod notices;
mod reads;
#[cfg(test)]
mod tests;

pub use super::effects::LineCredits;
pub use commands::{
    NewDispute, ShortPayCase, act, assign, open_dispute, open_short_pay_case_in, post_message,
};
pub use reads::{
    AssigneeFilter, QUEUE_LIMIT, Queue, QueueFilter, QueueSort, attachment, customer_disputes,
    detail, dispute_form, queue_for_staff, row,
};

#[derive(Debug, thiserror::Error)]
pub enum DisputeStoreError {
    #[error(transparent)]
    Rule(#[from] DisputeError),
    #[error("there is no such dispute")]
    NotFound,
    #[error(transparent)]
    Cash(#[from] CashError),
    #[error(transparent)]
    Db(#[from] DbError),
}

crate::from_sqlx_error!(DisputeStoreError);

/// Who reads: a customer's contact sees that customer's disputes without internal notes;
/// staff see everything.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    Customer(i64),
    Staff,
}

impl Scope {
    pub(super) fn side(self) -> Side {
        match self {
            Scope::Customer(_) => Side::Customer,
            Scope::Staff => Side::Staff,
        }
    }
}

/// Who acts, as the session knows them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Actor<'a> {
    pub user_id: i64,
    pub email: &'a str,
    pub scope: Scope,
}

/// What a line `l` can still be disputed for: its gross amount less credits already given on it
/// and amounts active disputes hold on it.
pub(super) const DISPUTABLE: &str = concat!(
    "l.net_minor + l.tax_minor \
     - COALESCE((SELECT CAST(sum(a.amount_minor) AS BIGINT) FROM adjustment_lines a \
                 WHERE a.invoice_line_id = l.id), 0) \
     - COALESCE((SELECT CAST(sum(dl.amount_minor) AS BIGINT) FROM dispute_lines dl \
                 JOIN disputes d ON d.id = dl.dispute_id \
                 WHERE dl.invoice_line_id = l.id AND d.status IN ",
    crate::disputes::holding_statuses_sql!(),
    "), 0)"
);

pub(super) async fn disputable(
    tx: &mut Transaction<'_, Any>,
    invoice_id: i64,
    line_id: i64,
) -> Result<i64, DisputeStoreError> {
    let row = sqlx::query(&format!(
        "SELECT {DISPUTABLE} FROM invoice_lines l WHERE l.id = $1 AND l.invoice_id = $2"
    ))
    .bind(line_id)
    .bind(invoice_id)
    .fetch_optional(&mut **tx)
    .await?
    .ok_or(DisputeError::LineNotOnInvoice(line_id))?;
    Ok(row.try_get(0)?)
}

/// The fields a change needs, read inside the write transaction.
pub(super) struct Loaded {
    pub(super) id: i64,
    pub(super) customer_id: i64,
    pub(super) invoice_id: i64,
    pub(super) invoice_number: String,
    pub(super) status: DisputeStatus,
    pub(super) currency: Currency,
    pub(super) disputed_minor: i64,
    pub(super) assignee_id: Option<i64>,
    pub(super) closed_at: Option<DateTime<Utc>>,
}

pub(super) async fn load(
    tx: &mut Transaction<'_, Any>,
    dispute_id: i64,
    scope: Scope,
) -> Result<Loaded, DisputeStoreError> {
    let row = sqlx::query(
        "SELECT d.customer_id, d.invoice_id, i.number, d.status, d.currency, d.disputed_minor, \
         d.assignee_id, d.closed_at FROM disputes d JOIN invoices i ON i.id = d.invoice_id \
         WHERE d.id = $1",
    )
    .bind(dispute_id)
    .fetch_optional(&mut **tx)
    .await?
    .ok_or(DisputeStoreError::NotFound)?;
    let customer_id: i64 = row.try_get("customer_id")?;
    if matches!(scope, Scope::Customer(c) if c != customer_id) {
        return Err(DisputeStoreError::NotFound);
    }
    Ok(Loaded {
        id: dispute_id,
        customer_id,
        invoice_id: row.try_get("invoice_id")?,
        invoice_number: row.try_get("number")?,
        status: parse_status(&row.try_get::<String, _>("status")?)?,
        currency: crate::db::currency(&row.try_get::<String, _>("currency")?)?,
        disputed_minor: row.try_get("disputed_minor")?,
        assignee_id: row.try_get("assignee_id")?,
        closed_at: parse_time(row.try_get("closed_at")?)?,
    })
}

pub(super) async fn lines_view(
    conn: &mut sqlx::AnyConnection,
    dispute_id: i64,
) -> Result<Vec<DisputeLineView>, DisputeStoreError> {
    Ok(sqlx::query_as(
        "SELECT dl.invoice_line_id, l.line_no, l.description, l.net_minor + l.tax_minor AS gross, \
         dl.reason, dl.amount_minor, dl.proposed_minor FROM dispute_lines dl \
         JOIN invoice_lines l ON l.id = dl.invoice_line_id WHERE dl.dispute_id = $1 \
         ORDER BY l.line_no",
    )
    .bind(dispute_id)
    .fetch_all(&mut *conn)
    .await?)
}

pub(super) fn parse_status(text: &str) -> Result<DisputeStatus, DisputeStoreError> {
    DisputeStatus::parse(text)
        .ok_or_else(|| DbError::Corrupt(format!("dispute status {text:?}")).into())
}

pub(super) fn parse_time(text: Option<String>) -> Result<Option<DateTime<Utc>>, DisputeStoreError> {
    text.map(|t| {
        DateTime::parse_from_rfc3339(&t)
            .map(|at| at.with_timezone(&Utc))
            .map_err(|_| DbError::Corrupt(format!("timestamp {t:?}")).into())
    })
    .transpose()
}
