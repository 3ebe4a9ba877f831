//! The outbox: every message the portal sends (invitations, password resets, receipts,
//! reminders) is first written here, in the same transaction as the change it announces. A
//! sender delivers queued rows over SMTP; without SMTP they stay here for an AR manager to read.

use serde::{Deserialize, Serialize};

/// A message as staff see it in the outbox.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutboxMessage {
    pub id: i64,
    pub created_at: String,
    pub recipient: String,
    pub subject: String,
    pub body: String,
    pub kind: String,
    pub status: String,
}

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

    const COLUMNS: &str =
        "SELECT id, created_at, recipient, subject, body, kind, status FROM outbox";

    /// The newest messages first.
    pub async fn recent(db: &Db, limit: i64) -> Result<Vec<OutboxMessage>, DbError> {
        let rows = sqlx::query(&format!("{COLUMNS} ORDER BY id DESC LIMIT $1"))
            .bind(limit)
            .fetch_all(db.pool())
            .await?;
        Ok(rows.iter().map(from_row).collect::<Result<_, _>>()?)
    }

    /// One message by id.
    pub async fn message(db: &Db, id: i64) -> Result<Option<OutboxMessage>, DbError> {
        let row = sqlx::query(&format!("{COLUMNS} WHERE id = $1"))
            .bind(id)
            .fetch_optional(db.pool())
            .await?;
        Ok(row.as_ref().map(from_row).transpose()?)
    }

    fn from_row(row: &sqlx::any::AnyRow) -> Result<OutboxMessage, sqlx::Error> {
        Ok(OutboxMessage {
            id: row.try_get("id")?,
            created_at: row.try_get("created_at")?,
            recipient: row.try_get("recipient")?,
            subject: row.try_get("subject")?,
            body: row.try_get("body")?,
            kind: row.try_get("kind")?,
            status: row.try_get("status")?,
        })
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
        };
        assert_eq!(
            message.with_links_hidden().body,
            "Set it here:\nhttp://x/accept-invitation?token=[hidden]\nThanks"
        );
    }
}
