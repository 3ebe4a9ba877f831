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
    /// A document attached when the message is sent ([`Attachment`] as text).
    pub attachment: Option<String>,
}

/// A document the sender makes and attaches as it delivers the message: made from the books at
/// that moment, so the outbox keeps a reference instead of a copy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Attachment {
    /// A payment's PDF receipt, as its page offers it.
    Receipt { customer_id: i64, payment_id: i64 },
}

impl Attachment {
    /// As stored: `receipt:<customer id>:<payment id>`.
    pub fn to_text(self) -> String {
        match self {
            Attachment::Receipt {
                customer_id,
                payment_id,
            } => format!("receipt:{customer_id}:{payment_id}"),
        }
    }

    pub fn parse(text: &str) -> Option<Attachment> {
        let mut parts = text.split(':');
        match (parts.next(), parts.next(), parts.next(), parts.next()) {
            (Some("receipt"), Some(customer), Some(payment), None) => Some(Attachment::Receipt {
                customer_id: customer.parse().ok()?,
                payment_id: payment.parse().ok()?,
            }),
            _ => None,
        }
    }
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

    use super::{Attachment, OutboxMessage};
    use crate::db::{Db, DbError, now_text};
    use crate::locale::Locale;

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
            let message = Message {
                recipient,
                subject,
                body,
                kind,
            };
            insert(&mut *conn, &message, None).await?;
        }
        Ok(())
    }

    /// Queues one message to each address, written in the recipient's language: `write(locale)`
    /// gives its subject and body (in the caller's transaction).
    pub async fn queue_in_their_language(
        conn: &mut sqlx::AnyConnection,
        recipients: &[String],
        kind: &str,
        attachment: Option<Attachment>,
        write: impl Fn(Locale) -> (String, String),
    ) -> Result<(), DbError> {
        for recipient in recipients {
            let locale = crate::users::store::locale_of(&mut *conn, recipient).await?;
            let (subject, body) = write(locale);
            let message = Message {
                recipient,
                subject: &subject,
                body: &body,
                kind,
            };
            insert(&mut *conn, &message, attachment).await?;
        }
        Ok(())
    }

    /// A day as an email to a customer writes it: in German as pages do (`15. Nov. 2026`), in
    /// English as these emails always have (`2026-11-15`).
    pub fn email_day(locale: Locale, day: chrono::NaiveDate) -> String {
        match locale {
            Locale::En => day.to_string(),
            Locale::De => locale.date(day),
        }
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

    /// The customer contacts who chose not to receive a kind: the rule [`insert`] and
    /// [`who_wants`] share. Staff cannot opt out (a clerk must hear of their own disputes).
    const OPTED_OUT: &str = "SELECT u.email FROM email_opt_outs o \
         JOIN users u ON u.id = o.user_id WHERE u.customer_id IS NOT NULL";

    /// Of `recipients`, those who receive messages of `kind`: a job that records what it sent
    /// (reminders) asks first, so a message no one receives is not counted as sent.
    pub async fn who_wants(
        conn: &mut sqlx::AnyConnection,
        recipients: Vec<String>,
        kind: &str,
    ) -> Result<Vec<String>, DbError> {
        let refused: Vec<String> = sqlx::query_scalar(&format!("{OPTED_OUT} AND o.kind = $1"))
            .bind(kind)
            .fetch_all(&mut *conn)
            .await?;
        Ok(recipients
            .into_iter()
            .filter(|recipient| !refused.contains(recipient))
            .collect())
    }

    /// Queues a message; returns its id, or `None` when the recipient chose not to receive its
    /// kind.
    pub async fn queue<'e, E>(executor: E, message: &Message<'_>) -> Result<Option<i64>, DbError>
    where
        E: Executor<'e, Database = Any>,
    {
        insert(executor, message, None).await
    }

    async fn insert<'e, E>(
        executor: E,
        message: &Message<'_>,
        attachment: Option<Attachment>,
    ) -> Result<Option<i64>, DbError>
    where
        E: Executor<'e, Database = Any>,
    {
        // Not to a customer contact who chose not to receive this kind (users::EmailChoice).
        let row = sqlx::query(&format!(
            "INSERT INTO outbox (created_at, recipient, subject, body, kind, attachment) \
             SELECT $1, $2, $3, $4, $5, $6 WHERE NOT EXISTS ({OPTED_OUT} AND u.email = $2 \
             AND o.kind = $5) RETURNING id"
        ))
        .bind(now_text())
        .bind(message.recipient)
        .bind(message.subject)
        .bind(message.body)
        .bind(message.kind)
        .bind(attachment.map(Attachment::to_text))
        .fetch_optional(executor)
        .await?;
        Ok(row.map(|row| row.try_get(0)).transpose()?)
    }

    const COLUMNS: &str = "SELECT id, created_at, recipient, subject, body, kind, status, \
         attempts, sent_at, last_error, attachment FROM outbox";

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
             RETURNING id, created_at, recipient, subject, body, kind, status, attempts, sent_at, \
             last_error, attachment"
        ))
        .bind(lease_until)
        .bind(now)
        .fetch_optional(db.write_pool())
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
        .execute(db.write_pool())
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
        .execute(db.write_pool())
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
    fn an_attachment_reads_back_as_it_was_written_and_nothing_else_reads() {
        let receipt = Attachment::Receipt {
            customer_id: 7,
            payment_id: 42,
        };
        assert_eq!(receipt.to_text(), "receipt:7:42");
        assert_eq!(Attachment::parse("receipt:7:42"), Some(receipt));
        for text in [
            "receipt:7",
            "receipt:7:42:1",
            "invoice:7:42",
            "receipt:x:42",
            "",
        ] {
            assert_eq!(Attachment::parse(text), None, "{text:?}");
        }
    }

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
            attachment: None,
        };
        assert_eq!(
            message.with_links_hidden().body,
            "Set it here:\nhttp://x/accept-invitation?token=[hidden]\nThanks"
        );
    }
}
