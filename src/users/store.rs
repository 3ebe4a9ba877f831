use argon2::Argon2;
use argon2::password_hash::{PasswordHasher, SaltString, rand_core::OsRng};
use sqlx::{Any, Row, Transaction};

use super::{Email, EmailChoice, NewPassword, Role};
use crate::db::{DbError, now_text};
use crate::locale::Locale;

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

/// Which of the [`EmailChoice`] messages `user_id` receives, each with whether they want it.
pub async fn email_choices(
    db: &crate::db::Db,
    user_id: i64,
) -> Result<Vec<(EmailChoice, bool)>, DbError> {
    let refused: Vec<String> =
        sqlx::query_scalar("SELECT kind FROM email_opt_outs WHERE user_id = $1")
            .bind(user_id)
            .fetch_all(db.pool())
            .await?;
    Ok(EmailChoice::ALL
        .iter()
        .map(|choice| (*choice, !refused.iter().any(|kind| kind == choice.as_str())))
        .collect())
}

/// A signed-in person chooses which optional messages they receive (audited). The outbox then
/// skips the others to their address as they are queued.
pub async fn save_email_choices(
    db: &crate::db::Db,
    caller: &crate::auth::Caller,
    wanted: &[EmailChoice],
    ip: &str,
) -> Result<(), DbError> {
    let mut tx = db.begin_write().await?;
    sqlx::query("DELETE FROM email_opt_outs WHERE user_id = $1")
        .bind(caller.user_id)
        .execute(&mut *tx)
        .await?;
    let refused: Vec<EmailChoice> = EmailChoice::ALL
        .into_iter()
        .filter(|choice| !wanted.contains(choice))
        .collect();
    for choice in &refused {
        sqlx::query("INSERT INTO email_opt_outs (user_id, kind) VALUES ($1, $2)")
            .bind(caller.user_id)
            .bind(choice.as_str())
            .execute(&mut *tx)
            .await?;
    }
    let names = |choices: Vec<&str>| match choices.is_empty() {
        true => "none".to_string(),
        false => choices.join(", "),
    };
    crate::audit::record(
        &mut *tx,
        Some(caller.user_id),
        &caller.email,
        "email_choices_changed",
        &format!("user {}", caller.user_id),
        &format!(
            "receives {}; not {}",
            names(wanted.iter().map(|c| c.as_str()).collect()),
            names(refused.iter().map(|c| c.as_str()).collect())
        ),
        ip,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// A person chooses the language of their pages, PDFs and emails (audited).
pub async fn save_locale(
    db: &crate::db::Db,
    caller: &crate::auth::Caller,
    locale: Locale,
    ip: &str,
) -> Result<(), DbError> {
    let mut tx = db.begin_write().await?;
    sqlx::query("UPDATE users SET locale = $1 WHERE id = $2")
        .bind(locale.code())
        .bind(caller.user_id)
        .execute(&mut *tx)
        .await?;
    crate::audit::record(
        &mut *tx,
        Some(caller.user_id),
        &caller.email,
        "language_changed",
        &format!("user {}", caller.user_id),
        locale.name(),
        ip,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// The language of the person with this address (English for an address we do not know, or
/// someone who never chose), for what is sent to them.
pub async fn locale_of<'e, E>(executor: E, email: &str) -> Result<Locale, DbError>
where
    E: sqlx::Executor<'e, Database = Any>,
{
    let locale: Option<String> = sqlx::query_scalar("SELECT locale FROM users WHERE email = $1")
        .bind(email)
        .fetch_optional(executor)
        .await?;
    Ok(locale
        .as_deref()
        .and_then(Locale::parse)
        .unwrap_or_default())
}

/// At sign-in, a person who never chose a language gets the one their browser asks for, so
/// their emails and PDFs read like their pages from the start.
pub async fn adopt_browser_locale(
    db: &crate::db::Db,
    user_id: i64,
    locale: Locale,
) -> Result<(), DbError> {
    sqlx::query("UPDATE users SET locale = $1 WHERE id = $2 AND locale = ''")
        .bind(locale.code())
        .bind(user_id)
        .execute(db.write_pool())
        .await?;
    Ok(())
}

#[cfg(all(test, feature = "test-support"))]
mod tests {
    use super::*;
    use crate::outbox::store::queue_to_each;
    use crate::seed::{DEMO_LOGINS, seed_demo};
    use crate::testing::{fresh_db, sign_in_demo};

    async fn queued_to(db: &crate::db::Db, kind: &str) -> Vec<String> {
        sqlx::query_scalar("SELECT recipient FROM outbox WHERE kind = $1 ORDER BY id")
            .bind(kind)
            .fetch_all(db.pool())
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn a_contact_who_turns_reminders_off_gets_none_but_still_gets_what_always_arrives() {
        let db = fresh_db().await;
        seed_demo(&db).await.unwrap();
        let pat = sign_in_demo(&db, &DEMO_LOGINS[0]).await;
        save_email_choices(&db, &pat, &[EmailChoice::Receipts], "127.0.0.1")
            .await
            .unwrap();
        assert_eq!(
            email_choices(&db, pat.user_id).await.unwrap(),
            vec![
                (EmailChoice::Reminders, false),
                (EmailChoice::Receipts, true),
                (EmailChoice::Disputes, false)
            ]
        );
        let both = [
            "pat@acme.example".to_string(),
            "ap@acme.example".to_string(),
        ];
        let mut conn = db.pool().acquire().await.unwrap();
        for kind in ["reminder", "receipt", "payment_failed"] {
            queue_to_each(&mut conn, &both, "Subject", "Body", kind)
                .await
                .unwrap();
        }
        drop(conn);
        assert_eq!(queued_to(&db, "reminder").await, ["ap@acme.example"]);
        assert_eq!(queued_to(&db, "receipt").await, both);
        assert_eq!(queued_to(&db, "payment_failed").await, both, "always sent");
        let detail: String = sqlx::query_scalar(
            "SELECT detail FROM audit_log WHERE action = 'email_choices_changed'",
        )
        .fetch_one(db.pool())
        .await
        .unwrap();
        assert_eq!(detail, "receives receipt; not reminder, dispute");

        // Turned back on, reminders arrive again.
        save_email_choices(&db, &pat, &EmailChoice::ALL, "")
            .await
            .unwrap();
        let mut conn = db.pool().acquire().await.unwrap();
        queue_to_each(&mut conn, &both, "Subject", "Body", "reminder")
            .await
            .unwrap();
        drop(conn);
        assert_eq!(
            queued_to(&db, "reminder").await,
            ["ap@acme.example", "pat@acme.example", "ap@acme.example"]
        );
    }
}
