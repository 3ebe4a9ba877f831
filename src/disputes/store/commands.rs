//! Changes to disputes: opening one, the thread, transitions and assignment. Each is one write
//! transaction under the customer's lock, with its audit row and its messages inside it.

use chrono::Utc;
use sqlx::{Any, Row, Transaction};

use super::notices::{notify_customer, notify_staff, transition_summary};
use super::{Actor, DISPUTABLE, DisputeStoreError, Scope, disputable, lines_view, load};
use crate::adjustments::store::adjust_in;
use crate::adjustments::{AdjustmentHeader, AdjustmentRequest};
use crate::db::{Db, now_text};
use crate::disputes::effects::{LineCredits, ProposalChange, money_effect};
use crate::disputes::{
    Attachment, DisputeAction, DisputeError, DisputeStatus, DisputedLine, NOTE_MAX_CHARS, Side,
    check_attachments, check_new, message_text, next_status,
};
use crate::money::{Currency, Money};
use crate::outbox::store::{Message, email_day, queue};
use crate::receivables::due_now;
use crate::receivables::store::{CashError, change_held_amount, lock_customer};
use crate::tr;

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
        "SELECT number, open_minor, held_minor, pending_minor, voided_at FROM invoices \
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
    let due = due_now(open, held, invoice.try_get("pending_minor")?);
    if invoice.try_get::<Option<String>, _>("voided_at")?.is_some() || due == 0 {
        return Err(DisputeError::NothingToDispute.into());
    }
    let mut total = 0i64;
    for line in &new.lines {
        let available = disputable(&mut tx, new.invoice_id, line.invoice_line_id).await?;
        if line.amount_minor > available {
            return Err(DisputeError::ExceedsLine {
                line: line_no(&mut tx, line.invoice_line_id).await?,
                available: Money::from_minor(available.max(0), currency),
            }
            .into());
        }
        total += line.amount_minor;
    }
    if total > due {
        return Err(DisputeError::ExceedsInvoice {
            available: Money::from_minor(due, currency),
        }
        .into());
    }
    let id = insert_dispute(
        &mut tx,
        &Opening {
            customer_id: new.customer_id,
            invoice_id: new.invoice_id,
            currency,
            opened_by: new.opened_by.user_id,
            lines: &new.lines,
            bank_line_id: None,
        },
    )
    .await?;
    insert_message(
        &mut tx,
        id,
        new.opened_by.user_id,
        "customer",
        &message,
        &new.attachments,
    )
    .await?;
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

/// A new dispute's rows, whoever opens it.
struct Opening<'a> {
    customer_id: i64,
    invoice_id: i64,
    currency: Currency,
    opened_by: i64,
    lines: &'a [DisputedLine],
    /// The bank line whose short payment the case is about.
    bank_line_id: Option<i64>,
}

/// Writes an open dispute, its lines and first transition, and holds its amount (ledger
/// invariant 10), under the customer's lock the caller holds. Returns its id.
async fn insert_dispute(
    tx: &mut Transaction<'_, Any>,
    opening: &Opening<'_>,
) -> Result<i64, DisputeStoreError> {
    let total: i64 = opening.lines.iter().map(|l| l.amount_minor).sum();
    let now = now_text();
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO disputes (customer_id, invoice_id, status, currency, disputed_minor, \
         opened_by, opened_at, last_customer_message_at, status_changed_at, bank_line_id) \
         VALUES ($1, $2, 'open', $3, $4, $5, $6, $6, $6, $7) RETURNING id",
    )
    .bind(opening.customer_id)
    .bind(opening.invoice_id)
    .bind(opening.currency.code())
    .bind(total)
    .bind(opening.opened_by)
    .bind(&now)
    .bind(opening.bank_line_id)
    .fetch_one(&mut **tx)
    .await?;
    for line in opening.lines {
        sqlx::query(
            "INSERT INTO dispute_lines (dispute_id, invoice_line_id, reason, amount_minor) \
             VALUES ($1, $2, $3, $4)",
        )
        .bind(id)
        .bind(line.invoice_line_id)
        .bind(line.reason.as_str())
        .bind(line.amount_minor)
        .execute(&mut **tx)
        .await?;
    }
    record_transition(tx, id, None, DisputeStatus::Open, opening.opened_by, "").await?;
    change_held_amount(tx, opening.invoice_id, total).await?;
    Ok(id)
}

/// A short payment staff could not explain: opens a case on the invoice for what the bank line
/// left unpaid (`short_minor`, at most what is due on it), spread over the invoice's lines in
/// their order, held out of what is due while it is open, and tells the customer's paying
/// contacts. Runs in the caller's transaction, under the customer's lock it holds.
pub async fn open_short_pay_case_in(
    tx: &mut Transaction<'_, Any>,
    case: &ShortPayCase<'_>,
) -> Result<i64, DisputeStoreError> {
    let lines = sqlx::query(&format!(
        "SELECT l.id, {DISPUTABLE} AS available FROM invoice_lines l WHERE l.invoice_id = $1 \
         ORDER BY l.line_no"
    ))
    .bind(case.invoice_id)
    .fetch_all(&mut **tx)
    .await?;
    let mut left = case.short.to_minor();
    let mut disputed = Vec::new();
    for line in &lines {
        let part = line.try_get::<i64, _>("available")?.min(left);
        if part > 0 {
            disputed.push(DisputedLine {
                invoice_line_id: line.try_get("id")?,
                reason: crate::disputes::DisputeReason::Other,
                amount_minor: part,
            });
            left -= part;
        }
    }
    if left > 0 || disputed.is_empty() {
        return Err(DisputeError::NothingToDispute.into());
    }
    let id = insert_dispute(
        tx,
        &Opening {
            customer_id: case.customer_id,
            invoice_id: case.invoice_id,
            currency: case.short.currency(),
            opened_by: case.staff.user_id,
            lines: &disputed,
            bank_line_id: Some(case.bank_line_id),
        },
    )
    .await?;
    let message = case.message(crate::locale::Locale::En);
    insert_message(tx, id, case.staff.user_id, "staff", &message, &[]).await?;
    crate::audit::record(
        &mut **tx,
        Some(case.staff.user_id),
        case.staff.email,
        "dispute.short_pay_opened",
        &format!("dispute:{id}"),
        &format!("{}: {} short", case.invoice_number, case.short),
        "",
    )
    .await?;
    let dispute = load(tx, id, Scope::Staff).await?;
    notify_customer(tx, &dispute, |locale| {
        let subject = tr!(
            locale,
            "dispute.short_pay.subject",
            number = case.invoice_number
        );
        (subject, case.message(locale))
    })
    .await?;
    Ok(id)
}

/// What [`open_short_pay_case_in`] opens.
#[derive(Debug, Clone)]
pub struct ShortPayCase<'a> {
    pub customer_id: i64,
    pub invoice_id: i64,
    pub invoice_number: &'a str,
    pub short: Money,
    pub bank_line_id: i64,
    pub staff: Actor<'a>,
    /// What the bank line brought, the day the bank booked it and its reference.
    pub received: Money,
    pub booked_on: chrono::NaiveDate,
    pub bank_reference: &'a str,
}

impl ShortPayCase<'_> {
    /// What the customer reads: what arrived, what is missing, what to do. The case's thread
    /// keeps it in English; each contact's email is in their language.
    pub fn message(&self, locale: crate::locale::Locale) -> String {
        let money = |amount: Money| locale.money(amount.to_minor(), amount.currency());
        tr!(
            locale,
            "dispute.short_pay.body",
            received = money(self.received),
            date = email_day(locale, self.booked_on),
            reference = self.bank_reference,
            short = money(self.short),
            number = self.invoice_number
        )
    }
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
            let write = |locale: crate::locale::Locale| {
                let subject = tr!(
                    locale,
                    "dispute.subject",
                    id = dispute_id,
                    number = dispute.invoice_number
                );
                (subject, tr!(locale, "dispute.staff_wrote", message = body))
            };
            notify_customer(&mut tx, &dispute, write).await?;
        }
        _ => {}
    }
    tx.commit().await?;
    Ok(id)
}

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
        return Err(DisputeError::NoteRequired(action).into());
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
    let effect = money_effect(action, &lines, credits, dispute.disputed_minor)?;
    if effect.recheck_lines {
        for line in &lines {
            let available = disputable(&mut tx, dispute.invoice_id, line.invoice_line_id).await?;
            if line.amount_minor > available {
                return Err(DisputeError::ExceedsLine {
                    line: line.line_no,
                    available: Money::from_minor(available.max(0), currency),
                }
                .into());
            }
        }
    }
    // The hold is released before the credit lowers the open amount (held never exceeds open).
    if effect.hold_change != 0 {
        change_held_amount(&mut tx, dispute.invoice_id, effect.hold_change).await?;
    }
    match &effect.proposal {
        ProposalChange::Keep => {}
        ProposalChange::Set(proposal) => {
            for (line_id, amount) in proposal {
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
        ProposalChange::Clear => {
            sqlx::query("UPDATE dispute_lines SET proposed_minor = 0 WHERE dispute_id = $1")
                .bind(dispute_id)
                .execute(&mut *tx)
                .await?;
        }
    }
    let credited = effect.credited();
    let adjustment_id = if effect.credit.is_empty() {
        None
    } else {
        let header = AdjustmentHeader::new(
            dispute.customer_id,
            &crate::keys::dispute_credit(dispute_id),
            &format!("Dispute #{dispute_id} resolved"),
            now.date_naive(),
        )
        .map_err(CashError::from)?;
        let request = AdjustmentRequest::CreditMemo {
            invoice_id: dispute.invoice_id,
            lines: effect
                .credit
                .iter()
                .map(|(line, amount)| (*line, Money::from_minor(*amount, currency)))
                .collect(),
        };
        Some(
            adjust_in(&mut tx, db.engine(), &header, &request)
                .await?
                .adjustment_id,
        )
    };
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
    let summary = transition_summary(crate::locale::Locale::En, action, credited, currency, note);
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
        Side::Staff => {
            let write = |locale: crate::locale::Locale| {
                // German capitalises its nouns: its labels stay as they are.
                let status = match locale {
                    crate::locale::Locale::En => to.label().to_lowercase(),
                    crate::locale::Locale::De => to.label_in(locale).to_string(),
                };
                let subject = tr!(
                    locale,
                    "dispute.status_subject",
                    id = dispute_id,
                    number = dispute.invoice_number,
                    status = status
                );
                (
                    subject,
                    transition_summary(locale, action, credited, currency, note),
                )
            };
            notify_customer(&mut tx, &dispute, write).await?
        }
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

async fn line_no(tx: &mut Transaction<'_, Any>, line_id: i64) -> Result<i64, DisputeStoreError> {
    Ok(
        sqlx::query("SELECT line_no FROM invoice_lines WHERE id = $1")
            .bind(line_id)
            .fetch_one(&mut **tx)
            .await?
            .try_get(0)?,
    )
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
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO dispute_messages (dispute_id, author_id, visibility, body, created_at) \
         VALUES ($1, $2, $3, $4, $5) RETURNING id",
    )
    .bind(dispute_id)
    .bind(author_id)
    .bind(visibility)
    .bind(body)
    .bind(&now)
    .fetch_one(&mut **tx)
    .await?;
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
