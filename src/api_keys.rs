//! API keys for ERP integrations: a manager creates one, sees it once, and can revoke it. Only
//! the SHA-256 of a key is stored.

use serde::{Deserialize, Serialize};

/// A key as managers see it in the list (never the key itself).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow))]
pub struct ApiKeyRow {
    pub id: i64,
    pub label: String,
    /// The email of the manager who created it.
    #[cfg_attr(feature = "ssr", sqlx(rename = "email"))]
    pub created_by: String,
    pub created_at: String,
    pub last_used_at: Option<String>,
    pub revoked_at: Option<String>,
}

/// Every key starts with this, so a leaked one is easy to recognise (and to scan for).
pub const PREFIX: &str = "lpk_";

#[cfg(feature = "ssr")]
pub mod store {
    use sha2::{Digest, Sha256};
    use sqlx::Row;

    use super::{ApiKeyRow, PREFIX};
    use crate::db::{Db, DbError, now_text};

    fn hash(key: &str) -> String {
        crate::secrets::hex(&Sha256::digest(key.as_bytes()))
    }

    #[derive(Debug, thiserror::Error)]
    pub enum ApiKeyError {
        #[error("a key's label must be 1 to 100 characters")]
        Label,
        #[error("there is no such key")]
        NotFound,
        #[error(transparent)]
        Db(#[from] DbError),
    }

    crate::from_sqlx_error!(ApiKeyError);

    /// Creates a key; returns its id and the key, which is shown once and never again.
    pub async fn create(
        db: &Db,
        label: &str,
        actor_user_id: i64,
        actor: &str,
    ) -> Result<(i64, String), ApiKeyError> {
        let label = label.trim();
        if label.is_empty() || label.chars().count() > 100 {
            return Err(ApiKeyError::Label);
        }
        let key = format!("{PREFIX}{}", crate::secrets::random_hex(24));
        let mut tx = db.begin_write().await?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO api_keys (label, secret_hash, created_by, created_at) \
             VALUES ($1, $2, $3, $4) RETURNING id",
        )
        .bind(label)
        .bind(hash(&key))
        .bind(actor_user_id)
        .bind(now_text())
        .fetch_one(&mut *tx)
        .await?;
        crate::audit::record(
            &mut *tx,
            Some(actor_user_id),
            actor,
            "api_key.created",
            &format!("api_key:{id}"),
            label,
            "",
        )
        .await?;
        tx.commit().await?;
        Ok((id, key))
    }

    /// The id of the live key `key`, or `None` for an unknown or revoked key.
    pub async fn verify(db: &Db, key: &str) -> Result<Option<i64>, DbError> {
        if !key.starts_with(PREFIX) || key.len() > 100 {
            return Ok(None);
        }
        let row = sqlx::query(
            "SELECT id, last_used_at FROM api_keys WHERE secret_hash = $1 AND revoked_at IS NULL",
        )
        .bind(hash(key))
        .fetch_optional(db.pool())
        .await?;
        let Some(row) = row else { return Ok(None) };
        let id: i64 = row.try_get(0)?;
        let last_used: Option<String> = row.try_get(1)?;
        // Written at most once a minute, so a busy integration does not write on every call.
        let minute_ago =
            crate::db::timestamp_text(chrono::Utc::now() - chrono::Duration::minutes(1));
        if last_used.is_none_or(|at| at < minute_ago) {
            sqlx::query("UPDATE api_keys SET last_used_at = $1 WHERE id = $2")
                .bind(now_text())
                .bind(id)
                .execute(db.write_pool())
                .await?;
        }
        Ok(Some(id))
    }

    pub async fn list(db: &Db) -> Result<Vec<ApiKeyRow>, DbError> {
        Ok(sqlx::query_as(
            "SELECT k.id, k.label, u.email, k.created_at, k.last_used_at, k.revoked_at \
             FROM api_keys k JOIN users u ON u.id = k.created_by ORDER BY k.id DESC",
        )
        .fetch_all(db.pool())
        .await?)
    }

    /// Revokes a key at once; revoking it again changes nothing.
    pub async fn revoke(
        db: &Db,
        id: i64,
        actor_user_id: i64,
        actor: &str,
    ) -> Result<(), ApiKeyError> {
        let mut tx = db.begin_write().await?;
        let revoked =
            sqlx::query("UPDATE api_keys SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL")
                .bind(now_text())
                .bind(id)
                .execute(&mut *tx)
                .await?;
        if revoked.rows_affected() == 1 {
            crate::audit::record(
                &mut *tx,
                Some(actor_user_id),
                actor,
                "api_key.revoked",
                &format!("api_key:{id}"),
                "",
                "",
            )
            .await?;
        } else {
            let exists = sqlx::query("SELECT 1 FROM api_keys WHERE id = $1")
                .bind(id)
                .fetch_optional(&mut *tx)
                .await?;
            if exists.is_none() {
                return Err(ApiKeyError::NotFound);
            }
        }
        tx.commit().await?;
        Ok(())
    }
}
