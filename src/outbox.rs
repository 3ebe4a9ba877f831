//! The outbox: every message the portal sends (invitations, password resets, receipts,
//! reminders) is first written here, in the same transaction as the change it announces. A
//! sender delivers queued rows over SMTP; without SMTP they stay here for an AR manager to read.

use serde::{Deserialize, Serialize};

/// A message as staff see it in the outbox.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow))]
pub struct OutboxMessage {
    pub id: i64,
    pub created_at: String,
    pub recipient: String,
    pub subject: String,
    pub body: String,
    pub kind: String,
    pub status: String,
    pub attempts: i64,
    pub sent_at: Option<String>,
    /// Why the last delivery attempt failed; empty when none did.
    pub last_error: String,
}

/// Attempts before a message is marked failed for good.
pub const MAX_ATTEMPTS: i64 = 5;

impl OutboxMessage {
    /// The message as staff may read it: the secret of any sign-in link is hidden, so reading
    /// the outbox never lets anyone set someone else's password.
    pub fn with_links_hidden(mut self) -> Self {
        let mut shown = String::with_capacity(self.body.len());
        let mut rest = self.body.as_str();
        while let Some(at) = rest.find("token=") {
            let (before, after) = rest.split_at(at + "token=".len());
            shown.push_str(before);
            shown.push_str("[hidden]");
            rest = after.trim_start_matches(|c: char| c.is_ascii_alphanumeric());
        }
        shown.push_str(rest);
        self.body = shown;
        self
    }
}

#[cfg(feature = "ssr")]
pub mod store {
    use sqlx::{Any, Executor, Row};

    use super::OutboxMessage;
    use crate::db::{Db, DbError, now_text};

    /// A message to queue.
    pub struct Message<'a> {
        pub recipient: &'a str,
        pub subject: &'a str,
        pub body: &'a str,
        pub kind: &'a str,
    }

    /// Queues one message to each address (in the caller's transaction).
    pub async fn queue_to_each(
        conn: &mut sqlx::AnyConnection,
        recipients: &[String],
        subject: &str,
        body: &str,
        kind: &str,
    ) -> Result<(), DbError> {
        for recipient in recipients {
            queue(
                &mut *conn,
                &Message {
                    recipient,
                    subject,
                    body,
                    kind,
                },
            )
            .await?;
        }
        Ok(())
    }

    /// Queues one message to each active member of AR staff ([`staff_emails`]), in the caller's
    /// transaction.
    pub async fn queue_to_staff(
        conn: &mut sqlx::AnyConnection,
        subject: &str,
        body: &str,
        kind: &str,
    ) -> Result<(), DbError> {
        let staff = staff_emails(&mut *conn).await?;
        queue_to_each(conn, &staff, subject, body, kind).await
    }

    /// The addresses of active AR staff (clerks and managers): who hears about money events
    /// that need a person (a failed or returned bank debit).
    pub async fn staff_emails<'e, E>(executor: E) -> Result<Vec<String>, DbError>
    where
        E: Executor<'e, Database = Any>,
    {
        Ok(sqlx::query_scalar(
            "SELECT email FROM users WHERE role IN ('clerk', 'manager') AND disabled_at IS NULL \
             ORDER BY id",
        )
        .fetch_all(executor)
        .await?)
    }

    /// Queues a message; returns its id.
    pub async fn queue<'e, E>(executor: E, message: &Message<'_>) -> Result<i64, DbError>
    where
        E: Executor<'e, Database = Any>,
    {
        let row = sqlx::query(
            "INSERT INTO outbox (created_at, recipient, subject, body, kind) \
             VALUES ($1, $2, $3, $4, $5) RETURNING id",
        )
        .bind(now_text())
        .bind(message.recipient)
        .bind(message.subject)
        .bind(message.body)
        .bind(message.kind)
        .fetch_one(executor)
        .await?;
        Ok(row.try_get(0)?)
    }

    const COLUMNS: &str = "SELECT id, created_at, recipient, subject, body, kind, status, \
         attempts, sent_at, last_error FROM outbox";

    /// Claims the oldest queued message that no one holds, until `lease_until`; `None` when
    /// there is nothing to send. The conditional update is the claim: two senders (on two
    /// server instances) never hold one message at once.
    pub async fn claim_next(
        db: &Db,
        now: &str,
        lease_until: &str,
    ) -> Result<Option<OutboxMessage>, DbError> {
        let free = "status = 'queued' AND (claimed_until IS NULL OR claimed_until < $2)";
        Ok(sqlx::query_as(&format!(
            "UPDATE outbox SET claimed_until = $1, attempts = attempts + 1 \
             WHERE id = (SELECT id FROM outbox WHERE {free} ORDER BY id LIMIT 1) AND {free} \
             RETURNING id, created_at, recipient, subject, body, kind, status, attempts, sent_at, last_error"
        ))
        .bind(lease_until)
        .bind(now)
        .fetch_optional(db.pool())
        .await?)
    }

    /// The message went out.
    pub async fn mark_sent(db: &Db, id: i64) -> Result<(), DbError> {
        sqlx::query(
            "UPDATE outbox SET status = 'sent', sent_at = $1, claimed_until = NULL, last_error = '' \
             WHERE id = $2",
        )
        .bind(now_text())
        .bind(id)
        .execute(db.pool())
        .await?;
        Ok(())
    }

    /// The attempt failed: try again after `retry_at`, or give up after [`MAX_ATTEMPTS`].
    pub async fn mark_failed(
        db: &Db,
        message: &OutboxMessage,
        error: &str,
        retry_at: &str,
    ) -> Result<(), DbError> {
        let status = if message.attempts >= super::MAX_ATTEMPTS {
            "failed"
        } else {
            "queued"
        };
        sqlx::query(
            "UPDATE outbox SET status = $1, claimed_until = $2, last_error = $3 WHERE id = $4",
        )
        .bind(status)
        .bind(retry_at)
        .bind(error.chars().take(500).collect::<String>())
        .bind(message.id)
        .execute(db.pool())
        .await?;
        Ok(())
    }

    /// The newest messages first.
    pub async fn recent(db: &Db, limit: i64) -> Result<Vec<OutboxMessage>, DbError> {
        Ok(
            sqlx::query_as(&format!("{COLUMNS} ORDER BY id DESC LIMIT $1"))
                .bind(limit)
                .fetch_all(db.pool())
                .await?,
        )
    }

    /// One message by id.
    pub async fn message(db: &Db, id: i64) -> Result<Option<OutboxMessage>, DbError> {
        Ok(sqlx::query_as(&format!("{COLUMNS} WHERE id = $1"))
            .bind(id)
            .fetch_optional(db.pool())
            .await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn link_secrets_are_hidden_from_staff() {
        let message = OutboxMessage {
            id: 1,
            created_at: String::new(),
            recipient: "a@b.example".into(),
            subject: "s".into(),
            body: "Set it here:\nhttp://x/accept-invitation?token=abc123def\nThanks".into(),
            kind: "invitation".into(),
            status: "queued".into(),
            attempts: 0,
            sent_at: None,
            last_error: String::new(),
        };
        assert_eq!(
            message.with_links_hidden().body,
            "Set it here:\nhttp://x/accept-invitation?token=[hidden]\nThanks"
        );
    }
}
