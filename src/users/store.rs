use argon2::Argon2;
use argon2::password_hash::{PasswordHasher, SaltString, rand_core::OsRng};
use sqlx::{Any, Row, Transaction};

use super::{Email, NewPassword, Role};
use crate::db::{DbError, now_text};

#[derive(Debug, thiserror::Error)]
pub enum CreateUserError {
    #[error("password hashing failed: {0}")]
    Hash(String),
    #[error("{0} is already registered")]
    EmailTaken(Email),
    #[error(transparent)]
    Db(#[from] DbError),
}

/// Argon2id with the crate defaults (m = 19 MiB, t = 2, p = 1), as docs/security.md asks.
pub fn hash_password(password: &NewPassword) -> Result<String, CreateUserError> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.expose().as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|e| CreateUserError::Hash(e.to_string()))
}

pub async fn create_user(
    tx: &mut Transaction<'_, Any>,
    email: &Email,
    display_name: &str,
    role: Role,
    customer_id: Option<i64>,
    password: Option<&NewPassword>,
) -> Result<i64, CreateUserError> {
    let hash = password.map(hash_password).transpose()?;
    let row = sqlx::query(
        "INSERT INTO users (email, display_name, password_hash, role, customer_id, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (email) DO NOTHING RETURNING id",
    )
    .bind(email.as_str())
    .bind(display_name)
    .bind(hash)
    .bind(role.as_str())
    .bind(customer_id)
    .bind(now_text())
    .fetch_optional(&mut **tx)
    .await
    .map_err(DbError::Query)?
    .ok_or_else(|| CreateUserError::EmailTaken(email.clone()))?;
    Ok(row.try_get(0).map_err(DbError::Query)?)
}

/// Active AR staff (clerks and managers), by name: who disputes and accounts can be assigned to.
pub async fn staff_members(db: &crate::db::Db) -> Result<Vec<(i64, String)>, DbError> {
    Ok(sqlx::query_as(
        "SELECT id, display_name FROM users WHERE role IN ('clerk', 'manager') \
         AND disabled_at IS NULL ORDER BY display_name, id",
    )
    .fetch_all(db.pool())
    .await?)
}
