//! The messages a dispute change sends: to AR (the assignee, or all staff while unassigned) and
//! to the customer's contact who opened it. Queued in the change's own transaction.

use sqlx::{Any, Row, Transaction};

use super::{DisputeStoreError, Loaded};
use crate::disputes::DisputeAction;
use crate::money::Currency;
use crate::outbox::store::{Message, queue, queue_in_their_language};
use crate::tr;

/// What a transition means, with the note of whoever made it, in a language (the audit log and
/// AR read it in English).
pub(super) fn transition_summary(
    locale: crate::locale::Locale,
    action: DisputeAction,
    credited: i64,
    currency: Currency,
    note: &str,
) -> String {
    let what = match action {
        DisputeAction::AcceptProposal | DisputeAction::Credit => tr!(
            locale,
            "dispute.credited",
            amount = locale.money(credited, currency)
        ),
        DisputeAction::Propose => tr!(locale, "dispute.proposed"),
        DisputeAction::Reject => tr!(locale, "dispute.rejected"),
        DisputeAction::Withdraw => tr!(locale, "dispute.withdrawn"),
        DisputeAction::Reopen => tr!(locale, "dispute.reopened"),
        DisputeAction::DeclineProposal => tr!(locale, "dispute.proposal_declined"),
        DisputeAction::StartReview => tr!(locale, "dispute.review_started"),
    };
    if note.is_empty() {
        what
    } else {
        format!("{what}\n\n{note}")
    }
}

/// Messages for AR: to the assignee, or to every active member of staff while unassigned.
pub(super) async fn notify_staff(
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

/// Messages for the customer: to the contact who opened the dispute, while they have access; a
/// short-pay case staff opened goes to the account's paying contacts. Each reads it in their
/// language: `write(locale)` gives the subject and body.
pub(super) async fn notify_customer(
    tx: &mut Transaction<'_, Any>,
    dispute: &Loaded,
    write: impl Fn(crate::locale::Locale) -> (String, String),
) -> Result<(), DisputeStoreError> {
    let recipients: Vec<String> = sqlx::query_scalar(
        "SELECT u.email FROM users u JOIN disputes d ON d.id = $1 \
         WHERE u.disabled_at IS NULL AND u.customer_id = d.customer_id \
         AND (u.id = d.opened_by OR (d.bank_line_id IS NOT NULL AND u.role = 'payer')) \
         ORDER BY u.id",
    )
    .bind(dispute.id)
    .fetch_all(&mut **tx)
    .await?;
    queue_in_their_language(tx, &recipients, "dispute", None, write).await?;
    Ok(())
}
