//! Disputes in the database. Every change is one write transaction under the customer's lock
//! (the same lock payments take), so a hold and a payment can never race past each other.
//! Status changes are conditional updates on the status read, so two people acting at once
//! cannot both move the same dispute.

use chrono::{DateTime, Utc};
use sqlx::{Any, Row, Transaction};

use super::{
    Attachment, AttachmentMeta, DisputableLine, DisputeAction, DisputeDetail, DisputeError,
    DisputeForm, DisputeLineView, DisputeReason, DisputeRow, DisputeStatus, DisputedLine,
    NOTE_MAX_CHARS, Side, ThreadItem, available_actions, check_attachments, check_new,
    message_text, next_status,
};
use crate::adjustments::store::adjust_in;
use crate::adjustments::{AdjustmentHeader, AdjustmentRequest};
use crate::db::{Db, DbError, now_text};
use crate::money::{Currency, Money};
use crate::outbox::store::{Message, queue};
use crate::receivables::due_now;
use crate::receivables::store::{CashError, change_held_amount, lock_customer};

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

impl From<sqlx::Error> for DisputeStoreError {
    fn from(e: sqlx::Error) -> Self {
        DisputeStoreError::Db(DbError::Query(e))
    }
}

/// Who reads: a customer's contact sees that customer's disputes without internal notes;
/// staff see everything.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    Customer(i64),
    Staff,
}

impl Scope {
    fn side(self) -> Side {
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

#[derive(Debug, Clone)]
pub struct NewDispute<'a> {
    pub customer_id: i64,
    pub invoice_id: i64,
    pub opened_by: Actor<'a>,
    pub lines: Vec<DisputedLine>,
    pub message: String,
    pub attachments: Vec<Attachment>,
}

/// Opens a dispute and holds its amount. Returns the dispute id.
pub async fn open_dispute(db: &Db, new: &NewDispute<'_>) -> Result<i64, DisputeStoreError> {
    let message = check_new(&new.lines, &new.message)?;
    check_attachments(&new.attachments)?;
    if new.opened_by.scope != Scope::Customer(new.customer_id) {
        return Err(DisputeStoreError::NotFound);
    }
    let mut tx = db.begin_write().await?;
    let currency = lock_customer(&mut tx, db.engine(), new.customer_id).await?;
    let invoice = sqlx::query(
        "SELECT number, open_minor, held_minor, voided_at FROM invoices \
         WHERE id = $1 AND customer_id = $2",
    )
    .bind(new.invoice_id)
    .bind(new.customer_id)
    .fetch_optional(&mut *tx)
    .await?
    .ok_or(DisputeStoreError::NotFound)?;
    let number: String = invoice.try_get("number")?;
    let open: i64 = invoice.try_get("open_minor")?;
    let held: i64 = invoice.try_get("held_minor")?;
    let due = due_now(open, held);
    if invoice.try_get::<Option<String>, _>("voided_at")?.is_some() || due == 0 {
        return Err(DisputeError::NothingToDispute.into());
    }
    let mut total = 0i64;
    for line in &new.lines {
        let available = disputable(&mut tx, new.invoice_id, line.invoice_line_id).await?;
        if line.amount_minor > available {
            return Err(DisputeError::ExceedsLine {
                line: line_no(&mut tx, line.invoice_line_id).await?,
                available: Money::from_minor(available.max(0), currency).to_string(),
            }
            .into());
        }
        total += line.amount_minor;
    }
    if total > due {
        return Err(DisputeError::ExceedsInvoice {
            available: Money::from_minor(due, currency).to_string(),
        }
        .into());
    }
    let now = now_text();
    let id: i64 = sqlx::query(
        "INSERT INTO disputes (customer_id, invoice_id, status, currency, disputed_minor, \
         opened_by, opened_at, last_customer_message_at, status_changed_at) \
         VALUES ($1, $2, 'open', $3, $4, $5, $6, $6, $6) RETURNING id",
    )
    .bind(new.customer_id)
    .bind(new.invoice_id)
    .bind(currency.code())
    .bind(total)
    .bind(new.opened_by.user_id)
    .bind(&now)
    .fetch_one(&mut *tx)
    .await?
    .try_get(0)?;
    for line in &new.lines {
        sqlx::query(
            "INSERT INTO dispute_lines (dispute_id, invoice_line_id, reason, amount_minor) \
             VALUES ($1, $2, $3, $4)",
        )
        .bind(id)
        .bind(line.invoice_line_id)
        .bind(line.reason.as_str())
        .bind(line.amount_minor)
        .execute(&mut *tx)
        .await?;
    }
    insert_message(
        &mut tx,
        id,
        new.opened_by.user_id,
        "customer",
        &message,
        &new.attachments,
    )
    .await?;
    record_transition(
        &mut tx,
        id,
        None,
        DisputeStatus::Open,
        new.opened_by.user_id,
        "",
    )
    .await?;
    change_held_amount(&mut tx, new.invoice_id, total).await?;
    crate::audit::record(
        &mut *tx,
        Some(new.opened_by.user_id),
        new.opened_by.email,
        "dispute.opened",
        &format!("dispute:{id}"),
        &format!("{number}: {}", Money::from_minor(total, currency)),
        "",
    )
    .await?;
    notify_staff(
        &mut tx,
        None,
        &format!("New dispute #{id} on invoice {number}"),
        &format!(
            "{} disputes {} on invoice {number}.\n\n{message}",
            new.opened_by.email,
            Money::from_minor(total, currency)
        ),
    )
    .await?;
    tx.commit().await?;
    Ok(id)
}

/// Adds a message (or, for staff, an internal note) to the thread.
pub async fn post_message(
    db: &Db,
    dispute_id: i64,
    author: Actor<'_>,
    body: &str,
    internal: bool,
    attachments: &[Attachment],
) -> Result<i64, DisputeStoreError> {
    let body = message_text(body)?;
    check_attachments(attachments)?;
    let mut tx = db.begin_write().await?;
    let dispute = load(&mut tx, dispute_id, author.scope).await?;
    let visibility = match (author.scope, internal) {
        (Scope::Customer(_), _) => "customer",
        (Scope::Staff, true) => "internal",
        (Scope::Staff, false) => "staff",
    };
    if visibility != "internal" && !dispute.status.holds() {
        return Err(DisputeError::Closed.into());
    }
    let id = insert_message(
        &mut tx,
        dispute_id,
        author.user_id,
        visibility,
        &body,
        attachments,
    )
    .await?;
    let subject = format!(
        "Dispute #{dispute_id} on invoice {}",
        dispute.invoice_number
    );
    match visibility {
        "customer" => {
            sqlx::query("UPDATE disputes SET last_customer_message_at = $1 WHERE id = $2")
                .bind(now_text())
                .bind(dispute_id)
                .execute(&mut *tx)
                .await?;
            let text = format!("{} wrote:\n\n{body}", author.email);
            notify_staff(&mut tx, dispute.assignee_id, &subject, &text).await?;
        }
        "staff" => {
            let text = format!("Accounts receivable wrote:\n\n{body}");
            notify_customer(&mut tx, &dispute, &subject, &text).await?;
        }
        _ => {}
    }
    tx.commit().await?;
    Ok(id)
}

/// Per-line credit amounts for a proposal or a credit: (invoice line id, amount).
pub type LineCredits = Vec<(i64, i64)>;

/// Moves a dispute along the state machine and does what the move means for the money.
pub async fn act(
    db: &Db,
    dispute_id: i64,
    actor: Actor<'_>,
    action: DisputeAction,
    note: &str,
    credits: &LineCredits,
) -> Result<DisputeStatus, DisputeStoreError> {
    let note = note.trim();
    if note.chars().count() > NOTE_MAX_CHARS
        || (note.is_empty() && matches!(action, DisputeAction::Reject))
    {
        return Err(DisputeError::NoteRequired(action.label()).into());
    }
    let mut tx = db.begin_write().await?;
    let dispute = load(&mut tx, dispute_id, actor.scope).await?;
    lock_customer(&mut tx, db.engine(), dispute.customer_id).await?;
    let now = Utc::now();
    let to = next_status(
        dispute.status,
        action,
        actor.scope.side(),
        dispute.closed_at,
        now,
    )?;
    let lines = lines_view(&mut tx, dispute_id).await?;
    let currency = dispute.currency;
    let mut credited = 0i64;
    let mut adjustment_id: Option<i64> = None;
    match action {
        DisputeAction::Propose => {
            let credits = checked_credits(&lines, credits)?;
            for (line_id, amount) in &credits {
                sqlx::query(
                    "UPDATE dispute_lines SET proposed_minor = $1 \
                     WHERE dispute_id = $2 AND invoice_line_id = $3",
                )
                .bind(amount)
                .bind(dispute_id)
                .bind(line_id)
                .execute(&mut *tx)
                .await?;
            }
        }
        DisputeAction::AcceptProposal | DisputeAction::Credit => {
            let credits = if action == DisputeAction::AcceptProposal {
                let proposed: LineCredits = lines
                    .iter()
                    .map(|l| (l.invoice_line_id, l.proposed_minor))
                    .collect();
                if proposed.iter().all(|(_, a)| *a == 0) {
                    return Err(DisputeError::NoProposal.into());
                }
                proposed
            } else {
                checked_credits(&lines, credits)?
            };
            change_held_amount(&mut tx, dispute.invoice_id, -dispute.disputed_minor).await?;
            credited = credits.iter().map(|(_, a)| a).sum();
            let header = AdjustmentHeader::new(
                dispute.customer_id,
                &crate::keys::dispute_credit(dispute_id),
                &format!("Dispute #{dispute_id} resolved"),
                now.date_naive(),
            )
            .map_err(CashError::from)?;
            let request = AdjustmentRequest::CreditMemo {
                invoice_id: dispute.invoice_id,
                lines: credits
                    .iter()
                    .filter(|(_, a)| *a > 0)
                    .map(|(line, a)| (*line, Money::from_minor(*a, currency)))
                    .collect(),
            };
            adjustment_id = Some(
                adjust_in(&mut tx, db.engine(), &header, &request)
                    .await?
                    .adjustment_id,
            );
        }
        DisputeAction::Reject | DisputeAction::Withdraw => {
            change_held_amount(&mut tx, dispute.invoice_id, -dispute.disputed_minor).await?;
        }
        DisputeAction::Reopen => {
            // The lines may have been credited or paid since: hold only what is still there.
            for line in &lines {
                let available =
                    disputable(&mut tx, dispute.invoice_id, line.invoice_line_id).await?;
                if line.amount_minor > available {
                    return Err(DisputeError::ExceedsLine {
                        line: line.line_no,
                        available: Money::from_minor(available.max(0), currency).to_string(),
                    }
                    .into());
                }
            }
            change_held_amount(&mut tx, dispute.invoice_id, dispute.disputed_minor).await?;
            sqlx::query("UPDATE dispute_lines SET proposed_minor = 0 WHERE dispute_id = $1")
                .bind(dispute_id)
                .execute(&mut *tx)
                .await?;
        }
        DisputeAction::DeclineProposal => {
            sqlx::query("UPDATE dispute_lines SET proposed_minor = 0 WHERE dispute_id = $1")
                .bind(dispute_id)
                .execute(&mut *tx)
                .await?;
        }
        DisputeAction::StartReview => {}
    }
    let at = now_text();
    let closed_at = (!to.holds()).then(|| at.clone());
    let moved = sqlx::query(
        "UPDATE disputes SET status = $1, status_changed_at = $2, closed_at = $3, \
         credited_minor = credited_minor + $4, adjustment_id = COALESCE($5, adjustment_id), \
         assignee_id = CASE WHEN $6 THEN COALESCE(assignee_id, $7) ELSE assignee_id END \
         WHERE id = $8 AND status = $9",
    )
    .bind(to.as_str())
    .bind(&at)
    .bind(closed_at)
    .bind(credited)
    .bind(adjustment_id)
    .bind(action == DisputeAction::StartReview)
    .bind(actor.user_id)
    .bind(dispute_id)
    .bind(dispute.status.as_str())
    .execute(&mut *tx)
    .await?;
    if moved.rows_affected() != 1 {
        return Err(DisputeError::Stale.into());
    }
    record_transition(
        &mut tx,
        dispute_id,
        Some(dispute.status),
        to,
        actor.user_id,
        note,
    )
    .await?;
    let summary = transition_summary(action, credited, currency, note);
    crate::audit::record(
        &mut *tx,
        Some(actor.user_id),
        actor.email,
        &format!("dispute.{}", action.as_str()),
        &format!("dispute:{dispute_id}"),
        &summary,
        "",
    )
    .await?;
    let subject = format!(
        "Dispute #{dispute_id} on invoice {}: {}",
        dispute.invoice_number,
        to.label().to_lowercase()
    );
    match actor.scope.side() {
        Side::Staff => notify_customer(&mut tx, &dispute, &subject, &summary).await?,
        Side::Customer => {
            let text = format!("{} chose to {}.\n\n{summary}", actor.email, action.label());
            notify_staff(&mut tx, dispute.assignee_id, &subject, &text).await?
        }
    }
    tx.commit().await?;
    Ok(to)
}

/// Gives the dispute to a member of staff (or nobody).
pub async fn assign(
    db: &Db,
    dispute_id: i64,
    assignee_id: Option<i64>,
    actor: Actor<'_>,
) -> Result<(), DisputeStoreError> {
    if actor.scope != Scope::Staff {
        return Err(DisputeError::WrongSide {
            action: DisputeAction::StartReview,
        }
        .into());
    }
    let mut tx = db.begin_write().await?;
    load(&mut tx, dispute_id, Scope::Staff).await?;
    let assignee_email = match assignee_id {
        Some(id) => Some(
            sqlx::query(
                "SELECT email FROM users WHERE id = $1 AND role IN ('clerk', 'manager') \
                 AND disabled_at IS NULL",
            )
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or(DisputeError::Assignee)?
            .try_get::<String, _>(0)?,
        ),
        None => None,
    };
    sqlx::query("UPDATE disputes SET assignee_id = $1 WHERE id = $2")
        .bind(assignee_id)
        .bind(dispute_id)
        .execute(&mut *tx)
        .await?;
    crate::audit::record(
        &mut *tx,
        Some(actor.user_id),
        actor.email,
        "dispute.assigned",
        &format!("dispute:{dispute_id}"),
        assignee_email.as_deref().unwrap_or("nobody"),
        "",
    )
    .await?;
    if let (Some(email), Some(id)) = (&assignee_email, assignee_id)
        && id != actor.user_id
    {
        queue(
            &mut *tx,
            &Message {
                recipient: email,
                subject: &format!("Dispute #{dispute_id} was assigned to you"),
                body: &format!("{} assigned dispute #{dispute_id} to you.", actor.email),
                kind: "dispute",
            },
        )
        .await?;
    }
    tx.commit().await?;
    Ok(())
}

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
    let head = sqlx::query("SELECT assignee_id, closed_at FROM disputes WHERE id = $1")
        .bind(dispute_id)
        .fetch_one(&mut *conn)
        .await?;
    let closed_at = parse_time(head.try_get::<Option<String>, _>("closed_at")?)?;
    let lines = lines_view(&mut conn, dispute_id).await?;
    let proposed_minor = lines.iter().map(|l| l.proposed_minor).sum();
    let thread = thread(&mut conn, dispute_id, scope).await?;
    Ok(Some(DisputeDetail {
        actions: available_actions(row.status, scope.side(), closed_at, Utc::now()),
        assignee_id: head.try_get("assignee_id")?,
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
    let Some(invoice) = sqlx::query(
        "SELECT number, currency, open_minor, held_minor, voided_at FROM invoices \
         WHERE id = $1 AND customer_id = $2",
    )
    .bind(invoice_id)
    .bind(customer_id)
    .fetch_optional(db.pool())
    .await?
    else {
        return Ok(None);
    };
    let lines = sqlx::query(&format!(
        "SELECT l.id, l.line_no, l.description, l.net_minor + l.tax_minor AS gross, \
         {DISPUTABLE} AS disputable FROM invoice_lines l WHERE l.invoice_id = $1 ORDER BY l.line_no"
    ))
    .bind(invoice_id)
    .fetch_all(db.pool())
    .await?
    .iter()
    .map(|r| {
        Ok(DisputableLine {
            invoice_line_id: r.try_get("id")?,
            line_no: r.try_get("line_no")?,
            description: r.try_get("description")?,
            line_total_minor: r.try_get("gross")?,
            disputable_minor: r.try_get::<i64, _>("disputable")?.max(0),
        })
    })
    .collect::<Result<_, sqlx::Error>>()?;
    let open: i64 = invoice.try_get("open_minor")?;
    let held: i64 = invoice.try_get("held_minor")?;
    let void = invoice.try_get::<Option<String>, _>("voided_at")?.is_some();
    Ok(Some(DisputeForm {
        invoice_id,
        number: invoice.try_get("number")?,
        currency: crate::db::currency(&invoice.try_get::<String, _>("currency")?)?,
        open_minor: open,
        held_minor: held,
        disputable_minor: if void { 0 } else { due_now(open, held) },
        lines,
    }))
}

/// Active AR staff, for assigning disputes.
pub async fn staff_members(db: &Db) -> Result<Vec<(i64, String)>, DisputeStoreError> {
    sqlx::query(
        "SELECT id, display_name FROM users WHERE role IN ('clerk', 'manager') \
         AND disabled_at IS NULL ORDER BY display_name, id",
    )
    .fetch_all(db.pool())
    .await?
    .iter()
    .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
    .collect()
}

/// A customer's disputes, newest first.
pub async fn customer_disputes(
    db: &Db,
    customer_id: i64,
) -> Result<Vec<DisputeRow>, DisputeStoreError> {
    let mut conn = db.pool().acquire().await?;
    rows_where(
        &mut conn,
        "d.customer_id = $1",
        &[customer_id],
        "d.opened_at DESC",
    )
    .await
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
    // Only fixed fragments and numbered parameters go into the SQL.
    let list = statuses
        .iter()
        .map(|s| format!("'{}'", s.as_str()))
        .collect::<Vec<_>>()
        .join(", ");
    let mut clauses = vec![format!("d.status IN ({list})")];
    let mut binds = Vec::new();
    if let Some(customer) = filter.customer_id {
        binds.push(customer);
        clauses.push(format!("d.customer_id = ${}", binds.len()));
    }
    match filter.assignee {
        Some(AssigneeFilter::Unassigned) => clauses.push("d.assignee_id IS NULL".into()),
        Some(AssigneeFilter::User(id)) => {
            binds.push(id);
            clauses.push(format!("d.assignee_id = ${}", binds.len()));
        }
        None => {}
    }
    if let Some(min) = filter.min_amount_units {
        binds.push(min);
        let scale = Currency::ALL
            .iter()
            .map(|c| format!("WHEN '{}' THEN {}", c.code(), 10i64.pow(c.exponent())))
            .collect::<Vec<_>>()
            .join(" ");
        clauses.push(format!(
            "d.disputed_minor >= ${} * (CASE d.currency {scale} ELSE 100 END)",
            binds.len()
        ));
    }
    let older_than = filter.older_than_days.map(|days| {
        crate::db::timestamp_text(Utc::now() - chrono::Duration::days(days.clamp(0, 3650)))
    });
    if older_than.is_some() {
        clauses.push("d.opened_at <= $OLDER".into());
    }
    let order = match filter.sort {
        QueueSort::Oldest => "d.opened_at ASC",
        QueueSort::Newest => "d.opened_at DESC",
        QueueSort::LargestAmount => "d.disputed_minor DESC",
        QueueSort::LastCustomerMessage => "d.last_customer_message_at DESC",
    };
    let mut condition = clauses.join(" AND ");
    condition = condition.replace("$OLDER", &format!("${}", binds.len() + 1));
    let rows = rows_where_text(&mut conn, &condition, &binds, older_than.as_deref(), order).await?;
    let mut total_disputed: Vec<(Currency, i64)> = Vec::new();
    for row in &rows {
        match total_disputed.iter_mut().find(|(c, _)| *c == row.currency) {
            Some((_, sum)) => *sum += row.disputed_minor,
            None => total_disputed.push((row.currency, row.disputed_minor)),
        }
    }
    let counts = sqlx::query(
        "SELECT status, count(*) FROM disputes \
         WHERE status IN ('open', 'in_review', 'proposed') GROUP BY status",
    )
    .fetch_all(&mut *conn)
    .await?
    .iter()
    .map(|r| {
        let status: String = r.try_get(0)?;
        let count: i64 = r.try_get(1)?;
        Ok((parse_status(&status)?, count))
    })
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

/// What a line `l` can still be disputed for: its gross amount less credits already given on it
/// and amounts active disputes hold on it.
const DISPUTABLE: &str = "l.net_minor + l.tax_minor \
     - COALESCE((SELECT CAST(sum(a.amount_minor) AS BIGINT) FROM adjustment_lines a \
                 WHERE a.invoice_line_id = l.id), 0) \
     - COALESCE((SELECT CAST(sum(dl.amount_minor) AS BIGINT) FROM dispute_lines dl \
                 JOIN disputes d ON d.id = dl.dispute_id \
                 WHERE dl.invoice_line_id = l.id \
                   AND d.status IN ('open', 'in_review', 'proposed')), 0)";

async fn disputable(
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

async fn line_no(tx: &mut Transaction<'_, Any>, line_id: i64) -> Result<i64, DisputeStoreError> {
    Ok(
        sqlx::query("SELECT line_no FROM invoice_lines WHERE id = $1")
            .bind(line_id)
            .fetch_one(&mut **tx)
            .await?
            .try_get(0)?,
    )
}

/// Credits per disputed line: each between 0 and the line's disputed amount, more than 0 in all.
/// Lines left out get nothing.
fn checked_credits(
    lines: &[DisputeLineView],
    credits: &LineCredits,
) -> Result<LineCredits, DisputeError> {
    let mut checked = Vec::with_capacity(lines.len());
    for line in lines {
        let amount = credits
            .iter()
            .find(|(id, _)| *id == line.invoice_line_id)
            .map_or(0, |(_, a)| *a);
        if amount < 0 || amount > line.amount_minor {
            return Err(DisputeError::Proposal);
        }
        checked.push((line.invoice_line_id, amount));
    }
    let unknown = credits
        .iter()
        .any(|(id, _)| !lines.iter().any(|l| l.invoice_line_id == *id));
    if unknown || checked.iter().all(|(_, a)| *a == 0) {
        return Err(DisputeError::Proposal);
    }
    Ok(checked)
}

async fn insert_message(
    tx: &mut Transaction<'_, Any>,
    dispute_id: i64,
    author_id: i64,
    visibility: &str,
    body: &str,
    attachments: &[Attachment],
) -> Result<i64, DisputeStoreError> {
    let now = now_text();
    let id: i64 = sqlx::query(
        "INSERT INTO dispute_messages (dispute_id, author_id, visibility, body, created_at) \
         VALUES ($1, $2, $3, $4, $5) RETURNING id",
    )
    .bind(dispute_id)
    .bind(author_id)
    .bind(visibility)
    .bind(body)
    .bind(&now)
    .fetch_one(&mut **tx)
    .await?
    .try_get(0)?;
    for file in attachments {
        sqlx::query(
            "INSERT INTO dispute_attachments (dispute_id, message_id, file_name, content_type, \
             size_bytes, content, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(dispute_id)
        .bind(id)
        .bind(&file.file_name)
        .bind(file.content_type)
        .bind(file.content.len() as i64)
        .bind(file.content.as_slice())
        .bind(&now)
        .execute(&mut **tx)
        .await?;
    }
    Ok(id)
}

async fn record_transition(
    tx: &mut Transaction<'_, Any>,
    dispute_id: i64,
    from: Option<DisputeStatus>,
    to: DisputeStatus,
    actor_id: i64,
    note: &str,
) -> Result<(), DisputeStoreError> {
    sqlx::query(
        "INSERT INTO dispute_transitions (dispute_id, from_status, to_status, actor_id, note, at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(dispute_id)
    .bind(from.map(DisputeStatus::as_str))
    .bind(to.as_str())
    .bind(actor_id)
    .bind(note)
    .bind(now_text())
    .execute(&mut **tx)
    .await?;
    Ok(())
}

fn transition_summary(
    action: DisputeAction,
    credited: i64,
    currency: Currency,
    note: &str,
) -> String {
    let what = match action {
        DisputeAction::AcceptProposal | DisputeAction::Credit => format!(
            "A credit of {} was issued.",
            Money::from_minor(credited, currency)
        ),
        DisputeAction::Propose => "AR proposed a resolution; please accept or decline it.".into(),
        DisputeAction::Reject => "AR rejected the dispute; the amount is due again.".into(),
        DisputeAction::Withdraw => "The dispute was withdrawn; the amount is due again.".into(),
        DisputeAction::Reopen => "The dispute was reopened.".into(),
        DisputeAction::DeclineProposal => "The proposal was declined.".into(),
        DisputeAction::StartReview => "AR started reviewing the dispute.".into(),
    };
    if note.is_empty() {
        what
    } else {
        format!("{what}\n\n{note}")
    }
}

/// Messages for AR: to the assignee, or to every active member of staff while unassigned.
async fn notify_staff(
    tx: &mut Transaction<'_, Any>,
    assignee_id: Option<i64>,
    subject: &str,
    body: &str,
) -> Result<(), DisputeStoreError> {
    let recipients: Vec<String> = sqlx::query(
        "SELECT email FROM users WHERE role IN ('clerk', 'manager') AND disabled_at IS NULL \
         AND ($1 IS NULL OR id = $1) ORDER BY id",
    )
    .bind(assignee_id)
    .fetch_all(&mut **tx)
    .await?
    .iter()
    .map(|r| r.try_get(0))
    .collect::<Result<_, _>>()?;
    for recipient in &recipients {
        queue(
            &mut **tx,
            &Message {
                recipient,
                subject,
                body,
                kind: "dispute",
            },
        )
        .await?;
    }
    Ok(())
}

/// Messages for the customer: to the contact who opened the dispute, while they have access.
async fn notify_customer(
    tx: &mut Transaction<'_, Any>,
    dispute: &Loaded,
    subject: &str,
    body: &str,
) -> Result<(), DisputeStoreError> {
    let opener = sqlx::query(
        "SELECT u.email FROM users u JOIN disputes d ON d.opened_by = u.id \
         WHERE d.id = $1 AND u.disabled_at IS NULL",
    )
    .bind(dispute.id)
    .fetch_optional(&mut **tx)
    .await?;
    if let Some(row) = opener {
        let recipient: String = row.try_get(0)?;
        queue(
            &mut **tx,
            &Message {
                recipient: &recipient,
                subject,
                body,
                kind: "dispute",
            },
        )
        .await?;
    }
    Ok(())
}

/// The fields a change needs, read inside the write transaction.
struct Loaded {
    id: i64,
    customer_id: i64,
    invoice_id: i64,
    invoice_number: String,
    status: DisputeStatus,
    currency: Currency,
    disputed_minor: i64,
    assignee_id: Option<i64>,
    closed_at: Option<DateTime<Utc>>,
}

async fn load(
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

async fn lines_view(
    conn: &mut sqlx::AnyConnection,
    dispute_id: i64,
) -> Result<Vec<DisputeLineView>, DisputeStoreError> {
    sqlx::query(
        "SELECT dl.invoice_line_id, l.line_no, l.description, l.net_minor + l.tax_minor AS gross, \
         dl.reason, dl.amount_minor, dl.proposed_minor FROM dispute_lines dl \
         JOIN invoice_lines l ON l.id = dl.invoice_line_id WHERE dl.dispute_id = $1 \
         ORDER BY l.line_no",
    )
    .bind(dispute_id)
    .fetch_all(&mut *conn)
    .await?
    .iter()
    .map(|r| {
        let reason: String = r.try_get("reason")?;
        Ok(DisputeLineView {
            invoice_line_id: r.try_get("invoice_line_id")?,
            line_no: r.try_get("line_no")?,
            description: r.try_get("description")?,
            line_total_minor: r.try_get("gross")?,
            reason: DisputeReason::parse(&reason)
                .ok_or_else(|| DbError::Corrupt(format!("dispute reason {reason:?}")))?,
            amount_minor: r.try_get("amount_minor")?,
            proposed_minor: r.try_get("proposed_minor")?,
        })
    })
    .collect()
}

async fn thread(
    conn: &mut sqlx::AnyConnection,
    dispute_id: i64,
    scope: Scope,
) -> Result<Vec<ThreadItem>, DisputeStoreError> {
    let staff = scope == Scope::Staff;
    let attachments: Vec<(i64, AttachmentMeta)> = sqlx::query(
        "SELECT id, message_id, file_name, content_type, size_bytes FROM dispute_attachments \
         WHERE dispute_id = $1 ORDER BY id",
    )
    .bind(dispute_id)
    .fetch_all(&mut *conn)
    .await?
    .iter()
    .map(|r| {
        Ok((
            r.try_get("message_id")?,
            AttachmentMeta {
                id: r.try_get("id")?,
                file_name: r.try_get("file_name")?,
                content_type: r.try_get("content_type")?,
                size_bytes: r.try_get("size_bytes")?,
            },
        ))
    })
    .collect::<Result<_, sqlx::Error>>()?;
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
                    .filter(|(message, _)| *message == id)
                    .map(|(_, meta)| meta.clone())
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
    let row = sqlx::query(&format!(
        "{ROW_COLUMNS} WHERE d.id = $1 AND ($2 IS NULL OR d.customer_id = $2)"
    ))
    .bind(dispute_id)
    .bind(customer)
    .fetch_optional(&mut *conn)
    .await?;
    row.as_ref().map(dispute_row).transpose()
}

async fn rows_where(
    conn: &mut sqlx::AnyConnection,
    condition: &str,
    binds: &[i64],
    order: &str,
) -> Result<Vec<DisputeRow>, DisputeStoreError> {
    rows_where_text(conn, condition, binds, None, order).await
}

async fn rows_where_text(
    conn: &mut sqlx::AnyConnection,
    condition: &str,
    binds: &[i64],
    text: Option<&str>,
    order: &str,
) -> Result<Vec<DisputeRow>, DisputeStoreError> {
    let sql = format!("{ROW_COLUMNS} WHERE {condition} ORDER BY {order}, d.id LIMIT {QUEUE_LIMIT}");
    let mut query = sqlx::query(&sql);
    for bind in binds {
        query = query.bind(*bind);
    }
    if let Some(text) = text {
        query = query.bind(text);
    }
    query
        .fetch_all(&mut *conn)
        .await?
        .iter()
        .map(dispute_row)
        .collect()
}

fn dispute_row(r: &sqlx::any::AnyRow) -> Result<DisputeRow, DisputeStoreError> {
    Ok(DisputeRow {
        id: r.try_get("id")?,
        customer_id: r.try_get("customer_id")?,
        customer_name: r.try_get("customer_name")?,
        invoice_id: r.try_get("invoice_id")?,
        invoice_number: r.try_get("invoice_number")?,
        status: parse_status(&r.try_get::<String, _>("status")?)?,
        currency: crate::db::currency(&r.try_get::<String, _>("currency")?)?,
        disputed_minor: r.try_get("disputed_minor")?,
        credited_minor: r.try_get("credited_minor")?,
        assignee: r.try_get("assignee")?,
        opened_at: r.try_get("opened_at")?,
        last_customer_message_at: r.try_get("last_customer_message_at")?,
        status_changed_at: r.try_get("status_changed_at")?,
    })
}

fn parse_status(text: &str) -> Result<DisputeStatus, DisputeStoreError> {
    DisputeStatus::parse(text)
        .ok_or_else(|| DbError::Corrupt(format!("dispute status {text:?}")).into())
}

fn parse_time(text: Option<String>) -> Result<Option<DateTime<Utc>>, DisputeStoreError> {
    text.map(|t| {
        DateTime::parse_from_rfc3339(&t)
            .map(|at| at.with_timezone(&Utc))
            .map_err(|_| DbError::Corrupt(format!("timestamp {t:?}")).into())
    })
    .transpose()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checkout::store::full_amounts;
    use crate::disputes::DisputeReason;
    use crate::reports::store::account_summary;
    use crate::testing::fixtures::*;
    use crate::testing::fresh_db;
    use crate::users::Role;

    struct World {
        db: Db,
        customer: i64,
        invoice: i64,
        lines: Vec<i64>,
        payer: i64,
        clerk: i64,
    }

    /// One invoice: line 1 600.00 untaxed, line 2 400.00 + 10 % tax (440.00); 1,040.00 in all.
    async fn world() -> World {
        let db = fresh_db().await;
        let customer = customer(&db, "C-1", Currency::Usd, (30, 0, 0)).await;
        let invoice = invoice(
            &db,
            customer,
            "INV-1",
            Currency::Usd,
            "2026-03-01",
            &[(60_000, 0), (40_000, 1_000)],
        )
        .await;
        let lines = line_ids(&db, invoice).await;
        let payer = user(
            &db,
            "pat@c1.example",
            "a-long-password-1",
            Role::Payer,
            Some(customer),
        )
        .await;
        let clerk = user(
            &db,
            "clara@ar.example",
            "a-long-password-2",
            Role::Clerk,
            None,
        )
        .await;
        World {
            db,
            customer,
            invoice,
            lines,
            payer,
            clerk,
        }
    }

    impl World {
        fn customer_actor(&self) -> Actor<'static> {
            Actor {
                user_id: self.payer,
                email: "pat@c1.example",
                scope: Scope::Customer(self.customer),
            }
        }

        fn staff_actor(&self) -> Actor<'static> {
            Actor {
                user_id: self.clerk,
                email: "clara@ar.example",
                scope: Scope::Staff,
            }
        }

        /// Disputes `amount` on line 2 (the taxed one).
        async fn dispute(&self, amount: i64) -> Result<i64, DisputeStoreError> {
            open_dispute(
                &self.db,
                &NewDispute {
                    customer_id: self.customer,
                    invoice_id: self.invoice,
                    opened_by: self.customer_actor(),
                    lines: vec![DisputedLine {
                        invoice_line_id: self.lines[1],
                        reason: DisputeReason::Damaged,
                        amount_minor: amount,
                    }],
                    message: "Two boxes arrived crushed.".into(),
                    attachments: vec![
                        Attachment::new("photo.png", b"\x89PNG\r\n\x1a\nrest".to_vec()).unwrap(),
                    ],
                },
            )
            .await
        }

        async fn held(&self) -> i64 {
            sqlx::query("SELECT held_minor FROM invoices WHERE id = $1")
                .bind(self.invoice)
                .fetch_one(self.db.pool())
                .await
                .unwrap()
                .get(0)
        }

        async fn due_now(&self) -> (i64, i64) {
            let summary = account_summary(&self.db, self.customer, Utc::now().date_naive())
                .await
                .unwrap()
                .unwrap();
            let everything: i64 = full_amounts(&self.db, self.customer, &[])
                .await
                .unwrap()
                .iter()
                .map(|i| i.amount_minor)
                .sum();
            assert_eq!(summary.aging.due_now(), everything);
            (summary.in_dispute_minor, everything)
        }
    }

    #[tokio::test]
    async fn a_dispute_holds_its_amount_out_of_what_is_due_and_pay_everything() {
        let w = world().await;
        assert_eq!(w.due_now().await, (0, 104_000));
        w.dispute(10_000).await.unwrap();
        assert_eq!(w.held().await, 10_000);
        assert_eq!(w.due_now().await, (10_000, 94_000));
        assert_eq!(
            open_minor(&w.db, w.invoice).await,
            104_000,
            "nothing is posted"
        );
        assert_eq!(rows(&w.db, "outbox").await, 1, "AR is told");
        // The undisputed part stays payable; the held part is refused with the reason.
        let pay = |amount_minor| {
            vec![crate::checkout::PayItem {
                invoice_id: w.invoice,
                amount_minor,
            }]
        };
        let today = Utc::now().date_naive();
        assert!(
            crate::checkout::store::review(&w.db, w.customer, &pay(94_000), today)
                .await
                .is_ok()
        );
        let refused = crate::checkout::store::review(&w.db, w.customer, &pay(94_001), today).await;
        assert!(matches!(
            refused,
            Err(crate::checkout::store::CheckoutStoreError::Refused(
                crate::checkout::CheckoutError::InDispute { .. }
            ))
        ));
    }

    #[tokio::test]
    async fn a_line_cannot_be_disputed_beyond_what_is_left_on_it_and_nothing_is_written() {
        let w = world().await;
        let refused = w.dispute(44_001).await.unwrap_err();
        assert!(matches!(
            refused,
            DisputeStoreError::Rule(DisputeError::ExceedsLine { line: 2, .. })
        ));
        w.dispute(40_000).await.unwrap();
        let refused = w.dispute(4_001).await.unwrap_err();
        assert!(matches!(
            refused,
            DisputeStoreError::Rule(DisputeError::ExceedsLine { .. })
        ));
        assert_eq!(rows(&w.db, "disputes").await, 1);
        assert_eq!(w.held().await, 40_000);
    }

    #[tokio::test]
    async fn a_credit_from_an_accepted_proposal_posts_a_balanced_credit_memo_on_exactly_the_disputed_line()
     {
        let w = world().await;
        let id = w.dispute(20_000).await.unwrap();
        act(
            &w.db,
            id,
            w.staff_actor(),
            DisputeAction::StartReview,
            "",
            &vec![],
        )
        .await
        .unwrap();
        act(
            &w.db,
            id,
            w.staff_actor(),
            DisputeAction::Propose,
            "Half, as agreed by phone.",
            &vec![(w.lines[1], 12_000)],
        )
        .await
        .unwrap();
        assert_eq!(w.held().await, 20_000, "a proposal still holds");
        let status = act(
            &w.db,
            id,
            w.customer_actor(),
            DisputeAction::AcceptProposal,
            "",
            &vec![],
        )
        .await
        .unwrap();
        assert_eq!(status, DisputeStatus::Credited);
        assert_eq!(w.held().await, 0);
        assert_eq!(open_minor(&w.db, w.invoice).await, 104_000 - 12_000);
        let credited: Vec<(i64, i64)> =
            sqlx::query("SELECT invoice_line_id, amount_minor FROM adjustment_lines ORDER BY id")
                .fetch_all(w.db.pool())
                .await
                .unwrap()
                .iter()
                .map(|r| (r.get(0), r.get(1)))
                .collect();
        assert_eq!(credited, vec![(w.lines[1], 12_000)]);
        assert_eq!(
            w.due_now().await,
            (0, 92_000),
            "the rest of the disputed amount is due again"
        );
        let detail = detail(&w.db, id, Scope::Customer(w.customer))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(detail.row.credited_minor, 12_000);
        assert_ledger_healthy(&w.db).await;
    }

    #[tokio::test]
    async fn a_rejection_restores_the_amount_due_and_needs_an_explanation() {
        let w = world().await;
        let id = w.dispute(20_000).await.unwrap();
        let refused = act(
            &w.db,
            id,
            w.staff_actor(),
            DisputeAction::Reject,
            " ",
            &vec![],
        )
        .await;
        assert!(matches!(
            refused,
            Err(DisputeStoreError::Rule(DisputeError::NoteRequired(_)))
        ));
        act(
            &w.db,
            id,
            w.staff_actor(),
            DisputeAction::Reject,
            "Delivery note signed without remarks.",
            &vec![],
        )
        .await
        .unwrap();
        assert_eq!(w.due_now().await, (0, 104_000));
        assert_eq!(open_minor(&w.db, w.invoice).await, 104_000);
    }

    #[tokio::test]
    async fn a_withdrawn_dispute_releases_the_hold_and_can_be_reopened_to_hold_again() {
        let w = world().await;
        let id = w.dispute(20_000).await.unwrap();
        act(
            &w.db,
            id,
            w.customer_actor(),
            DisputeAction::Withdraw,
            "",
            &vec![],
        )
        .await
        .unwrap();
        assert_eq!(w.held().await, 0);
        act(
            &w.db,
            id,
            w.customer_actor(),
            DisputeAction::Reopen,
            "",
            &vec![],
        )
        .await
        .unwrap();
        assert_eq!(w.held().await, 20_000);
    }

    #[tokio::test]
    async fn illegal_moves_are_refused_and_change_nothing() {
        let w = world().await;
        let id = w.dispute(20_000).await.unwrap();
        let wrong_side = act(
            &w.db,
            id,
            w.customer_actor(),
            DisputeAction::Credit,
            "",
            &vec![(w.lines[1], 1)],
        )
        .await;
        assert!(matches!(
            wrong_side,
            Err(DisputeStoreError::Rule(DisputeError::WrongSide { .. }))
        ));
        let no_proposal = act(
            &w.db,
            id,
            w.customer_actor(),
            DisputeAction::AcceptProposal,
            "",
            &vec![],
        )
        .await;
        assert!(matches!(
            no_proposal,
            Err(DisputeStoreError::Rule(
                DisputeError::InvalidTransition { .. }
            ))
        ));
        let too_much = act(
            &w.db,
            id,
            w.staff_actor(),
            DisputeAction::Credit,
            "",
            &vec![(w.lines[1], 20_001)],
        )
        .await;
        assert!(matches!(
            too_much,
            Err(DisputeStoreError::Rule(DisputeError::Proposal))
        ));
        let other_line = act(
            &w.db,
            id,
            w.staff_actor(),
            DisputeAction::Credit,
            "",
            &vec![(w.lines[0], 100)],
        )
        .await;
        assert!(matches!(
            other_line,
            Err(DisputeStoreError::Rule(DisputeError::Proposal))
        ));
        act(
            &w.db,
            id,
            w.staff_actor(),
            DisputeAction::Credit,
            "Agreed.",
            &vec![(w.lines[1], 20_000)],
        )
        .await
        .unwrap();
        let again = act(
            &w.db,
            id,
            w.staff_actor(),
            DisputeAction::Credit,
            "",
            &vec![(w.lines[1], 1)],
        )
        .await;
        assert!(matches!(
            again,
            Err(DisputeStoreError::Rule(
                DisputeError::InvalidTransition { .. }
            ))
        ));
        let reopen = act(
            &w.db,
            id,
            w.customer_actor(),
            DisputeAction::Reopen,
            "",
            &vec![],
        )
        .await;
        assert!(matches!(
            reopen,
            Err(DisputeStoreError::Rule(
                DisputeError::InvalidTransition { .. }
            ))
        ));
        assert_eq!(rows(&w.db, "adjustments").await, 1);
        assert_eq!(open_minor(&w.db, w.invoice).await, 84_000);
        assert_ledger_healthy(&w.db).await;
    }

    #[tokio::test]
    async fn another_customer_never_reaches_the_dispute_and_customers_never_see_internal_notes() {
        let w = world().await;
        let id = w.dispute(20_000).await.unwrap();
        post_message(
            &w.db,
            id,
            w.staff_actor(),
            "Customer is on credit hold, be firm.",
            true,
            &[],
        )
        .await
        .unwrap();
        post_message(
            &w.db,
            id,
            w.staff_actor(),
            "We are looking into it.",
            false,
            &[],
        )
        .await
        .unwrap();
        let stranger = Scope::Customer(w.customer + 1000);
        assert!(detail(&w.db, id, stranger).await.unwrap().is_none());
        let foreign = Actor {
            user_id: w.payer,
            email: "x@y.example",
            scope: stranger,
        };
        assert!(matches!(
            post_message(&w.db, id, foreign, "hello", false, &[]).await,
            Err(DisputeStoreError::NotFound)
        ));
        assert!(matches!(
            act(&w.db, id, foreign, DisputeAction::Withdraw, "", &vec![]).await,
            Err(DisputeStoreError::NotFound)
        ));
        let attachment_id: i64 = sqlx::query("SELECT id FROM dispute_attachments")
            .fetch_one(w.db.pool())
            .await
            .unwrap()
            .get(0);
        assert!(
            attachment(&w.db, id, attachment_id, stranger)
                .await
                .unwrap()
                .is_none()
        );
        assert!(
            attachment(&w.db, id, attachment_id, Scope::Customer(w.customer))
                .await
                .unwrap()
                .is_some()
        );

        let seen = detail(&w.db, id, Scope::Customer(w.customer))
            .await
            .unwrap()
            .unwrap();
        let bodies: Vec<String> = seen
            .thread
            .iter()
            .filter_map(|item| match item {
                ThreadItem::Message { body, .. } => Some(body.clone()),
                ThreadItem::Transition { .. } => None,
            })
            .collect();
        assert_eq!(
            bodies,
            vec!["Two boxes arrived crushed.", "We are looking into it."]
        );
        let staff = detail(&w.db, id, Scope::Staff).await.unwrap().unwrap();
        assert!(
            staff
                .thread
                .iter()
                .any(|item| matches!(item, ThreadItem::Message { internal: true, .. }))
        );
    }

    #[tokio::test]
    async fn the_queue_filters_by_status_assignee_and_amount_and_totals_what_it_lists() {
        let w = world().await;
        let small = w.dispute(5_000).await.unwrap();
        let large = w.dispute(30_000).await.unwrap();
        act(
            &w.db,
            large,
            w.staff_actor(),
            DisputeAction::StartReview,
            "",
            &vec![],
        )
        .await
        .unwrap();
        let all = queue_for_staff(&w.db, &QueueFilter::default())
            .await
            .unwrap();
        assert_eq!(
            all.rows.iter().map(|r| r.id).collect::<Vec<_>>(),
            vec![small, large]
        );
        assert_eq!(all.total_disputed, vec![(Currency::Usd, 35_000)]);
        let mine = QueueFilter {
            assignee: Some(AssigneeFilter::User(w.clerk)),
            ..QueueFilter::default()
        };
        assert_eq!(queue_for_staff(&w.db, &mine).await.unwrap().rows.len(), 1);
        let big = QueueFilter {
            min_amount_units: Some(100),
            sort: QueueSort::LargestAmount,
            ..QueueFilter::default()
        };
        let rows = queue_for_staff(&w.db, &big).await.unwrap().rows;
        assert_eq!(rows.iter().map(|r| r.id).collect::<Vec<_>>(), vec![large]);
        let closed = QueueFilter {
            statuses: vec![DisputeStatus::Credited],
            ..QueueFilter::default()
        };
        assert!(
            queue_for_staff(&w.db, &closed)
                .await
                .unwrap()
                .rows
                .is_empty()
        );
    }
}
