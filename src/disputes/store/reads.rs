//! What the pages read: a dispute with its thread, the dispute form, a customer's list, the staff
//! queue and attachments, each as the reader's scope may see it.

use chrono::Utc;
use sqlx::Row;

use super::{DISPUTABLE, DisputeStoreError, Scope, lines_view, parse_status, parse_time};
use crate::db::{Conditions, Db};
use crate::disputes::{
    AttachmentMeta, DisputableLine, DisputeDetail, DisputeForm, DisputeRow, DisputeStatus, Side,
    ThreadItem, available_actions,
};
use crate::money::Currency;
use crate::receivables::due_now;

/// The dispute's list row (status, amounts, currency) as `scope` may see it: one query, for
/// callers that need no thread.
pub async fn row(
    db: &Db,
    dispute_id: i64,
    scope: Scope,
) -> Result<Option<DisputeRow>, DisputeStoreError> {
    let mut conn = db.pool().acquire().await?;
    row_query(&mut conn, Some(dispute_id), scope).await
}

/// The dispute as `scope` may see it, with what the viewer may do next.
pub async fn detail(
    db: &Db,
    dispute_id: i64,
    scope: Scope,
) -> Result<Option<DisputeDetail>, DisputeStoreError> {
    let mut conn = db.pool().acquire().await?;
    let Some(row) = row_query(&mut conn, Some(dispute_id), scope).await? else {
        return Ok(None);
    };
    let (assignee_id, closed_at): (Option<i64>, Option<String>) =
        sqlx::query_as("SELECT assignee_id, closed_at FROM disputes WHERE id = $1")
            .bind(dispute_id)
            .fetch_one(&mut *conn)
            .await?;
    let closed_at = parse_time(closed_at)?;
    let lines = lines_view(&mut conn, dispute_id).await?;
    let proposed_minor = lines.iter().map(|l| l.proposed_minor).sum();
    let thread = thread(&mut conn, dispute_id, scope).await?;
    Ok(Some(DisputeDetail {
        actions: available_actions(row.status, scope.side(), closed_at, Utc::now()),
        assignee_id,
        row,
        lines,
        proposed_minor,
        thread,
    }))
}

/// What the dispute form offers for one invoice of the customer's, or None if it is not theirs.
pub async fn dispute_form(
    db: &Db,
    customer_id: i64,
    invoice_id: i64,
) -> Result<Option<DisputeForm>, DisputeStoreError> {
    let Some(invoice) = sqlx::query_as::<_, FormInvoice>(
        "SELECT number, currency, open_minor, held_minor, pending_minor, voided_at FROM invoices \
         WHERE id = $1 AND customer_id = $2",
    )
    .bind(invoice_id)
    .bind(customer_id)
    .fetch_optional(db.pool())
    .await?
    else {
        return Ok(None);
    };
    let lines = sqlx::query_as::<_, DisputableLine>(&format!(
        "SELECT l.id, l.line_no, l.description, l.net_minor + l.tax_minor AS gross, \
         {DISPUTABLE} AS disputable FROM invoice_lines l WHERE l.invoice_id = $1 ORDER BY l.line_no"
    ))
    .bind(invoice_id)
    .fetch_all(db.pool())
    .await?
    .into_iter()
    .map(|line| DisputableLine {
        disputable_minor: line.disputable_minor.max(0),
        ..line
    })
    .collect();
    let (open, held) = (invoice.open_minor, invoice.held_minor);
    Ok(Some(DisputeForm {
        invoice_id,
        number: invoice.number,
        currency: invoice.currency,
        open_minor: open,
        held_minor: held,
        disputable_minor: if invoice.voided_at.is_some() {
            0
        } else {
            due_now(open, held, invoice.pending_minor)
        },
        lines,
    }))
}

/// The invoice a dispute form is for.
#[derive(sqlx::FromRow)]
struct FormInvoice {
    number: String,
    #[sqlx(try_from = "String")]
    currency: Currency,
    open_minor: i64,
    held_minor: i64,
    pending_minor: i64,
    voided_at: Option<String>,
}

/// A customer's disputes, newest first.
pub async fn customer_disputes(
    db: &Db,
    customer_id: i64,
) -> Result<Vec<DisputeRow>, DisputeStoreError> {
    let mut conn = db.pool().acquire().await?;
    let mut conditions = Conditions::new();
    conditions.push_bind("d.customer_id = $n", customer_id);
    rows_where(&mut conn, &conditions, "d.opened_at DESC").await
}

/// The staff queue's filters; `None` means any.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct QueueFilter {
    /// Only these statuses; empty means the active ones.
    pub statuses: Vec<DisputeStatus>,
    pub customer_id: Option<i64>,
    pub assignee: Option<AssigneeFilter>,
    /// At least this many whole units of the dispute's currency.
    pub min_amount_units: Option<i64>,
    /// Opened at least this many days ago.
    pub older_than_days: Option<i64>,
    pub sort: QueueSort,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AssigneeFilter {
    Unassigned,
    User(i64),
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum QueueSort {
    /// Oldest first: the ones waiting longest.
    #[default]
    Oldest,
    Newest,
    LargestAmount,
    /// The customer's latest message first.
    LastCustomerMessage,
}

/// The queue and its totals.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Queue {
    pub rows: Vec<DisputeRow>,
    /// Active disputes per status, over the whole book.
    pub counts: Vec<(DisputeStatus, i64)>,
    /// What the listed rows dispute in all, per currency.
    pub total_disputed: Vec<(Currency, i64)>,
}

pub const QUEUE_LIMIT: i64 = 200;

pub async fn queue_for_staff(db: &Db, filter: &QueueFilter) -> Result<Queue, DisputeStoreError> {
    let mut conn = db.pool().acquire().await?;
    let statuses: Vec<DisputeStatus> = if filter.statuses.is_empty() {
        DisputeStatus::ALL
            .into_iter()
            .filter(|s| s.holds())
            .collect()
    } else {
        filter.statuses.clone()
    };
    let mut conditions = Conditions::new();
    let list = statuses
        .iter()
        .map(|s| format!("'{}'", s.as_str()))
        .collect::<Vec<_>>()
        .join(", ");
    // The statuses are the enum's own fixed texts; every other value is a numbered parameter.
    conditions.push(&format!("d.status IN ({list})"));
    if let Some(customer) = filter.customer_id {
        conditions.push_bind("d.customer_id = $n", customer);
    }
    match filter.assignee {
        Some(AssigneeFilter::Unassigned) => {
            conditions.push("d.assignee_id IS NULL");
        }
        Some(AssigneeFilter::User(id)) => {
            conditions.push_bind("d.assignee_id = $n", id);
        }
        None => {}
    }
    if let Some(min) = filter.min_amount_units {
        let scale = Currency::ALL
            .iter()
            .map(|c| format!("WHEN '{}' THEN {}", c.code(), 10i64.pow(c.exponent())))
            .collect::<Vec<_>>()
            .join(" ");
        conditions.push_bind(
            &format!("d.disputed_minor >= $n * (CASE d.currency {scale} ELSE 100 END)"),
            min,
        );
    }
    if let Some(days) = filter.older_than_days {
        let cutoff = Utc::now() - chrono::Duration::days(days.clamp(0, 3650));
        conditions.push_bind("d.opened_at <= $n", crate::db::timestamp_text(cutoff));
    }
    let order = match filter.sort {
        QueueSort::Oldest => "d.opened_at ASC",
        QueueSort::Newest => "d.opened_at DESC",
        QueueSort::LargestAmount => "d.disputed_minor DESC",
        QueueSort::LastCustomerMessage => "d.last_customer_message_at DESC",
    };
    let rows = rows_where(&mut conn, &conditions, order).await?;
    let mut total_disputed: Vec<(Currency, i64)> = Vec::new();
    for row in &rows {
        match total_disputed.iter_mut().find(|(c, _)| *c == row.currency) {
            Some((_, sum)) => *sum += row.disputed_minor,
            None => total_disputed.push((row.currency, row.disputed_minor)),
        }
    }
    let counts = sqlx::query_as::<_, (String, i64)>(concat!(
        "SELECT status, count(*) FROM disputes WHERE status IN ",
        crate::disputes::holding_statuses_sql!(),
        " GROUP BY status"
    ))
    .fetch_all(&mut *conn)
    .await?
    .into_iter()
    .map(|(status, count)| Ok((parse_status(&status)?, count)))
    .collect::<Result<Vec<_>, DisputeStoreError>>()?;
    Ok(Queue {
        rows,
        counts,
        total_disputed,
    })
}

/// One attachment's file, if `scope` may read it (customers never get internal notes' files).
pub async fn attachment(
    db: &Db,
    dispute_id: i64,
    attachment_id: i64,
    scope: Scope,
) -> Result<Option<(String, String, Vec<u8>)>, DisputeStoreError> {
    let row = sqlx::query(
        "SELECT a.file_name, a.content_type, a.content, m.visibility, d.customer_id \
         FROM dispute_attachments a JOIN dispute_messages m ON m.id = a.message_id \
         JOIN disputes d ON d.id = a.dispute_id WHERE a.id = $1 AND a.dispute_id = $2",
    )
    .bind(attachment_id)
    .bind(dispute_id)
    .fetch_optional(db.pool())
    .await?;
    let Some(row) = row else { return Ok(None) };
    if let Scope::Customer(customer) = scope {
        let visibility: String = row.try_get("visibility")?;
        if row.try_get::<i64, _>("customer_id")? != customer || visibility == "internal" {
            return Ok(None);
        }
    }
    Ok(Some((
        row.try_get("file_name")?,
        row.try_get("content_type")?,
        row.try_get("content")?,
    )))
}

/// An attachment's listing and the message it came with.
#[derive(sqlx::FromRow)]
struct MessageAttachment {
    message_id: i64,
    #[sqlx(flatten)]
    meta: AttachmentMeta,
}

async fn thread(
    conn: &mut sqlx::AnyConnection,
    dispute_id: i64,
    scope: Scope,
) -> Result<Vec<ThreadItem>, DisputeStoreError> {
    let staff = scope == Scope::Staff;
    let attachments: Vec<MessageAttachment> = sqlx::query_as(
        "SELECT id, message_id, file_name, content_type, size_bytes FROM dispute_attachments \
         WHERE dispute_id = $1 ORDER BY id",
    )
    .bind(dispute_id)
    .fetch_all(&mut *conn)
    .await?;
    let mut items: Vec<(String, i64, ThreadItem)> = Vec::new();
    for r in sqlx::query(
        "SELECT m.id, m.visibility, m.body, m.created_at, u.display_name FROM dispute_messages m \
         JOIN users u ON u.id = m.author_id WHERE m.dispute_id = $1 \
         AND ($2 OR m.visibility <> 'internal') ORDER BY m.id",
    )
    .bind(dispute_id)
    .bind(staff)
    .fetch_all(&mut *conn)
    .await?
    {
        let id: i64 = r.try_get("id")?;
        let visibility: String = r.try_get("visibility")?;
        let at: String = r.try_get("created_at")?;
        items.push((
            at.clone(),
            0,
            ThreadItem::Message {
                id,
                author: r.try_get("display_name")?,
                side: if visibility == "customer" {
                    Side::Customer
                } else {
                    Side::Staff
                },
                internal: visibility == "internal",
                body: r.try_get("body")?,
                at,
                attachments: attachments
                    .iter()
                    .filter(|a| a.message_id == id)
                    .map(|a| a.meta.clone())
                    .collect(),
            },
        ));
    }
    for r in sqlx::query(
        "SELECT t.from_status, t.to_status, t.note, t.at, u.display_name FROM dispute_transitions t \
         JOIN users u ON u.id = t.actor_id WHERE t.dispute_id = $1 ORDER BY t.id",
    )
    .bind(dispute_id)
    .fetch_all(&mut *conn)
    .await?
    {
        let from: Option<String> = r.try_get("from_status")?;
        let at: String = r.try_get("at")?;
        items.push((
            at.clone(),
            1,
            ThreadItem::Transition {
                from: from.as_deref().map(parse_status).transpose()?,
                to: parse_status(&r.try_get::<String, _>("to_status")?)?,
                actor: r.try_get("display_name")?,
                note: r.try_get("note")?,
                at,
            },
        ));
    }
    // Timestamps are fixed-width text, so they sort as they happened; a status change made
    // with a message is listed after it.
    items.sort_by(|a, b| (&a.0, a.1).cmp(&(&b.0, b.1)));
    Ok(items.into_iter().map(|(_, _, item)| item).collect())
}

const ROW_COLUMNS: &str = "SELECT d.id, d.customer_id, c.name AS customer_name, d.invoice_id, \
     i.number AS invoice_number, d.status, d.currency, d.disputed_minor, d.credited_minor, \
     u.display_name AS assignee, d.opened_at, d.last_customer_message_at, d.status_changed_at \
     FROM disputes d JOIN customers c ON c.id = d.customer_id \
     JOIN invoices i ON i.id = d.invoice_id LEFT JOIN users u ON u.id = d.assignee_id";

async fn row_query(
    conn: &mut sqlx::AnyConnection,
    dispute_id: Option<i64>,
    scope: Scope,
) -> Result<Option<DisputeRow>, DisputeStoreError> {
    let customer = match scope {
        Scope::Customer(c) => Some(c),
        Scope::Staff => None,
    };
    Ok(sqlx::query_as(&format!(
        "{ROW_COLUMNS} WHERE d.id = $1 AND ($2 IS NULL OR d.customer_id = $2)"
    ))
    .bind(dispute_id)
    .bind(customer)
    .fetch_optional(&mut *conn)
    .await?)
}

async fn rows_where(
    conn: &mut sqlx::AnyConnection,
    conditions: &Conditions,
    order: &str,
) -> Result<Vec<DisputeRow>, DisputeStoreError> {
    let sql = format!(
        "{ROW_COLUMNS} {} ORDER BY {order}, d.id LIMIT {QUEUE_LIMIT}",
        conditions.where_clause()
    );
    Ok(sqlx::query_as_with(&sql, conditions.arguments()?)
        .fetch_all(&mut *conn)
        .await?)
}
