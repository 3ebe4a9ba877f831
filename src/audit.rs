//! The audit log: who did what, when, from where. Written in the same transaction as the change
//! it describes wherever there is one.

use sqlx::{Any, Executor};

use crate::db::{DbError, now_text};

/// Appends one audit record.
pub async fn record<'e, E>(
    executor: E,
    actor_user_id: Option<i64>,
    actor: &str,
    action: &str,
    subject: &str,
    detail: &str,
    ip: &str,
) -> Result<(), DbError>
where
    E: Executor<'e, Database = Any>,
{
    sqlx::query(
        "INSERT INTO audit_log (at, actor_user_id, actor, action, subject, detail, ip) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(now_text())
    .bind(actor_user_id)
    .bind(actor)
    .bind(action)
    .bind(subject)
    .bind(detail)
    .bind(ip)
    .execute(executor)
    .await?;
    Ok(())
}
