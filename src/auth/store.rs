//! Signing in and out, and turning a token's session id back into a caller.

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordVerifier};
use chrono::{DateTime, Duration, Utc};
use sqlx::{Any, Row, Transaction};

use super::{
    CODE_STEP_SECONDS, Caller, RENEW_AFTER_SECONDS, SESSION_MAX_SECONDS, SignInError, TOKEN_SECONDS,
};
use crate::audit;
use crate::db::{Db, DbError, timestamp_text};
use crate::users::{Email, Role};

/// Failed sign-ins counted over this window; every limit lifts when the window passes, so an
/// attacker can delay a real user by at most this long.
const WINDOW_MINUTES: i64 = 15;
/// Failures allowed per account from one address, per address over all accounts, and per
/// account over all addresses (slows distributed guessing without an easy lock-out).
const PER_ACCOUNT_AND_ADDRESS: i64 = 5;
const PER_ADDRESS: i64 = 30;
const PER_ACCOUNT: i64 = 100;

#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error(transparent)]
    SignIn(#[from] SignInError),
    #[error(transparent)]
    Db(#[from] DbError),
}

crate::from_sqlx_error!(AuthError);

/// A hash to verify against when the email is unknown, so both cases take the same time.
const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$0Jt8sx3dwn7G1HgQbkQ7lLh0o6HkbAjW1kEYaaS2hXQ";

/// Where a right password (or an emailed sign-in link) leads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignedIn {
    /// Signed in: a new session.
    Session(Caller),
    /// The user has two-factor sign-in: a code is asked for next. `challenge` is the secret the
    /// browser keeps until then (a short-lived cookie); only its hash is stored.
    CodeNeeded { challenge: String },
}

impl SignedIn {
    /// The session of a sign-in that needed no code (tests).
    #[cfg(any(test, feature = "test-support"))]
    pub fn into_session(self) -> Caller {
        match self {
            SignedIn::Session(caller) => caller,
            SignedIn::CodeNeeded { .. } => panic!("this sign-in asks for a code"),
        }
    }
}

/// Checks the password, applies the rate limits, records the attempt and opens a session, or
/// asks for the second factor of a user who has one.
pub async fn sign_in(
    db: &Db,
    email: &str,
    password: &str,
    ip: &str,
) -> Result<SignedIn, AuthError> {
    let now = Utc::now();
    // Control characters never belong to an address (and PostgreSQL refuses NUL in text).
    let email_text: String = email
        .trim()
        .to_lowercase()
        .chars()
        .filter(|c| !c.is_control())
        .collect();
    enforce_limits(db, Some(&email_text), ip, now).await?;

    let user = match Email::parse(&email_text) {
        Ok(email) => {
            sqlx::query(
                "SELECT id, email, display_name, password_hash, role, customer_id FROM users \
             WHERE email = $1 AND disabled_at IS NULL",
            )
            .bind(email.as_str())
            .fetch_optional(db.pool())
            .await?
        }
        Err(_) => None,
    };
    let stored_hash = match &user {
        Some(row) => row.try_get::<Option<String>, _>("password_hash")?,
        None => None,
    };
    let verified = hash_matches(stored_hash.as_deref().unwrap_or(DUMMY_HASH), password)
        && stored_hash.is_some();

    let mut tx = db.begin_write().await?;
    record_attempt(&mut tx, &email_text, ip, now, verified).await?;
    let (Some(row), true) = (user, verified) else {
        audit::record(&mut *tx, None, &email_text, "sign_in_failed", "", "", ip).await?;
        tx.commit().await?;
        return Err(SignInError::WrongCredentials.into());
    };
    let user_id: i64 = row.try_get("id")?;
    let signed_in = session_or_code(&mut tx, user_id, &email_text, "password", ip, now).await?;
    tx.commit().await?;
    Ok(signed_in)
}

/// One sign-in attempt, counted by the rate limits (a wrong second-factor code counts too).
pub(super) async fn record_attempt(
    tx: &mut Transaction<'_, Any>,
    email: &str,
    ip: &str,
    now: DateTime<Utc>,
    succeeded: bool,
) -> Result<(), DbError> {
    sqlx::query("INSERT INTO login_attempts (email, ip, at, succeeded) VALUES ($1, $2, $3, $4)")
        .bind(email)
        .bind(ip)
        .bind(timestamp_text(now))
        .bind(succeeded)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// After a first factor (a password, an emailed link) proved who this is: a session, or for a
/// user with two-factor sign-in the challenge a code must answer. Audited either way, with
/// `how` the first factor was proved.
pub(super) async fn session_or_code(
    tx: &mut Transaction<'_, Any>,
    user_id: i64,
    email: &str,
    how: &str,
    ip: &str,
    now: DateTime<Utc>,
) -> Result<SignedIn, DbError> {
    let has_factor =
        sqlx::query("SELECT 1 FROM totp_factors WHERE user_id = $1 AND confirmed_at IS NOT NULL")
            .bind(user_id)
            .fetch_optional(&mut **tx)
            .await?
            .is_some();
    if has_factor {
        let challenge = crate::secrets::random_hex(32);
        sqlx::query(
            "INSERT INTO access_links (token_hash, user_id, purpose, created_at, expires_at) \
             VALUES ($1, $2, 'second_factor', $3, $4)",
        )
        .bind(crate::secrets::digest_hex(&challenge))
        .bind(user_id)
        .bind(timestamp_text(now))
        .bind(timestamp_text(now + Duration::seconds(CODE_STEP_SECONDS)))
        .execute(&mut **tx)
        .await?;
        audit::record(
            &mut **tx,
            Some(user_id),
            email,
            "sign_in_code_asked",
            "",
            how,
            ip,
        )
        .await?;
        return Ok(SignedIn::CodeNeeded { challenge });
    }
    let caller = open_session(tx, user_id, ip, now, false).await?;
    audit::record(&mut **tx, Some(user_id), email, "sign_in", "", how, ip).await?;
    Ok(SignedIn::Session(caller))
}

/// Opens a new session for a user (a new id on every sign-in) and returns the caller.
/// `second_factor`: the sign-in proved one (a code), so the session may reach what needs it.
pub(super) async fn open_session(
    tx: &mut Transaction<'_, Any>,
    user_id: i64,
    ip: &str,
    now: DateTime<Utc>,
    second_factor: bool,
) -> Result<Caller, DbError> {
    let session_id = new_session_id();
    sqlx::query(
        "INSERT INTO sessions (id, user_id, created_at, last_seen_at, expires_at, ip, second_factor_at) \
         VALUES ($1, $2, $3, $3, $4, $5, $6)",
    )
    .bind(&session_id)
    .bind(user_id)
    .bind(timestamp_text(now))
    .bind(timestamp_text(now + Duration::seconds(SESSION_MAX_SECONDS)))
    .bind(ip)
    .bind(second_factor.then(|| timestamp_text(now)))
    .execute(&mut **tx)
    .await?;
    let row = sqlx::query(&format!(
        "SELECT {CALLER_COLUMNS} FROM users u {CALLER_ACCOUNT_JOIN} WHERE u.id = $1"
    ))
    .bind(user_id)
    .fetch_one(&mut **tx)
    .await?;
    caller_from_row(&row, session_id, second_factor)
}

pub(super) fn hash_matches(hash: &str, password: &str) -> bool {
    PasswordHash::new(hash)
        .map(|parsed| {
            Argon2::default()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok()
        })
        .unwrap_or(false)
}

/// Refuses a sign-in while the address, or the account (`email`, when the sign-in names one by
/// what it knows, a password or code), has failed too often lately. A passkey names no account
/// that can be guessed, so its sign-ins are limited by address only: guessing a user's password
/// does not lock that user's passkey out.
pub(super) async fn enforce_limits(
    db: &Db,
    email: Option<&str>,
    ip: &str,
    now: DateTime<Utc>,
) -> Result<(), AuthError> {
    let since = timestamp_text(now - Duration::minutes(WINDOW_MINUTES));
    let row = sqlx::query(
        "SELECT \
           (SELECT count(*) FROM login_attempts WHERE email = $1 AND ip = $2 AND at > $3 AND NOT succeeded), \
           (SELECT count(*) FROM login_attempts WHERE ip = $2 AND at > $3 AND NOT succeeded), \
           (SELECT count(*) FROM login_attempts WHERE email = $1 AND at > $3 AND NOT succeeded)",
    )
    .bind(email.unwrap_or_default())
    .bind(ip)
    .bind(since)
    .fetch_one(db.pool())
    .await?;
    let (pair, address, account): (i64, i64, i64) =
        (row.try_get(0)?, row.try_get(1)?, row.try_get(2)?);
    let account_over =
        email.is_some() && (pair >= PER_ACCOUNT_AND_ADDRESS || account >= PER_ACCOUNT);
    if account_over || address >= PER_ADDRESS {
        return Err(SignInError::TooManyAttempts {
            retry_after_minutes: WINDOW_MINUTES,
        }
        .into());
    }
    Ok(())
}

fn new_session_id() -> String {
    crate::secrets::random_hex(16)
}

/// What `caller_from_row` reads: the user and, for a contact, the account's name.
const CALLER_COLUMNS: &str =
    "u.id, u.email, u.display_name, u.role, u.customer_id, u.locale, c.name AS customer_name";
const CALLER_ACCOUNT_JOIN: &str = "LEFT JOIN customers c ON c.id = u.customer_id";

fn caller_from_row(
    row: &sqlx::any::AnyRow,
    session_id: String,
    second_factor: bool,
) -> Result<Caller, DbError> {
    let role: String = row.try_get("role")?;
    Ok(Caller {
        user_id: row.try_get("id")?,
        session_id,
        email: row.try_get("email")?,
        display_name: row.try_get("display_name")?,
        role: role
            .parse::<Role>()
            .map_err(|_| DbError::Corrupt(format!("role {role:?}")))?,
        customer_id: row.try_get("customer_id")?,
        customer_name: row.try_get("customer_name")?,
        second_factor,
        locale: crate::locale::Locale::parse(&row.try_get::<String, _>("locale")?),
    })
}

/// The caller behind a verified token's session, if that session is still open: not signed
/// out or revoked, inside its absolute lifetime, used within the idle timeout, user enabled.
pub async fn resolve_session(
    db: &Db,
    session_id: &str,
    user_id: i64,
) -> Result<Option<Caller>, DbError> {
    let now = Utc::now();
    let row = sqlx::query(&format!(
        "SELECT {CALLER_COLUMNS}, s.last_seen_at, s.second_factor_at \
         FROM sessions s JOIN users u ON u.id = s.user_id {CALLER_ACCOUNT_JOIN} \
         WHERE s.id = $1 AND s.user_id = $2 AND s.revoked_at IS NULL AND s.expires_at > $3 \
           AND s.last_seen_at > $4 AND u.disabled_at IS NULL"
    ))
    .bind(session_id)
    .bind(user_id)
    .bind(timestamp_text(now))
    .bind(timestamp_text(now - Duration::seconds(TOKEN_SECONDS)))
    .fetch_optional(db.pool())
    .await?;
    let Some(row) = row else {
        return Ok(None);
    };
    let last_seen: String = row.try_get("last_seen_at")?;
    if last_seen < timestamp_text(now - Duration::seconds(RENEW_AFTER_SECONDS)) {
        sqlx::query("UPDATE sessions SET last_seen_at = $1 WHERE id = $2")
            .bind(timestamp_text(now))
            .bind(session_id)
            .execute(db.write_pool())
            .await?;
    }
    let second_factor = row
        .try_get::<Option<String>, _>("second_factor_at")?
        .is_some();
    caller_from_row(&row, session_id.to_string(), second_factor).map(Some)
}

/// Ends one session (sign-out).
pub async fn sign_out(db: &Db, caller: &Caller, ip: &str) -> Result<(), DbError> {
    let mut tx = db.begin_write().await?;
    sqlx::query("UPDATE sessions SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL")
        .bind(timestamp_text(Utc::now()))
        .bind(&caller.session_id)
        .execute(&mut *tx)
        .await?;
    audit::record(
        &mut *tx,
        Some(caller.user_id),
        &caller.email,
        "sign_out",
        "",
        "",
        ip,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Ends every session of a user but `keep` (password change, role change, revocation).
pub(super) async fn revoke_in(
    tx: &mut Transaction<'_, Any>,
    user_id: i64,
    keep: Option<&str>,
) -> Result<u64, DbError> {
    let done = sqlx::query(
        "UPDATE sessions SET revoked_at = $1 \
         WHERE user_id = $2 AND revoked_at IS NULL AND id <> $3",
    )
    .bind(timestamp_text(Utc::now()))
    .bind(user_id)
    .bind(keep.unwrap_or(""))
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected())
}

/// The session proved a second factor (by finishing the set-up of one in it).
pub(super) async fn prove_second_factor_in(
    tx: &mut Transaction<'_, Any>,
    session_id: &str,
    now: DateTime<Utc>,
) -> Result<(), DbError> {
    sqlx::query("UPDATE sessions SET second_factor_at = $1 WHERE id = $2")
        .bind(timestamp_text(now))
        .bind(session_id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// How many second factors a user has: a confirmed authenticator app and each passkey.
pub(super) async fn second_factors<'e, E>(executor: E, user_id: i64) -> Result<i64, DbError>
where
    E: sqlx::Executor<'e, Database = Any>,
{
    Ok(sqlx::query_scalar(
        "SELECT (SELECT count(*) FROM totp_factors WHERE user_id = $1 AND confirmed_at IS NOT NULL) \
              + (SELECT count(*) FROM passkeys WHERE user_id = $1)",
    )
    .bind(user_id)
    .fetch_one(executor)
    .await?)
}

/// Tells a user of a change to their sign-in, in their language: `write(locale)` gives the
/// subject and body.
pub(super) async fn notify_in(
    tx: &mut Transaction<'_, Any>,
    recipient: &str,
    write: impl Fn(crate::locale::Locale) -> (String, String),
) -> Result<(), DbError> {
    let recipients = [recipient.to_string()];
    crate::outbox::store::queue_in_their_language(tx, &recipients, "security_notice", None, write)
        .await
}

#[cfg(all(test, feature = "test-support"))]
mod tests {
    use super::*;
    use crate::seed::{DEMO_LOGINS, seed_demo};
    use crate::testing::fresh_db;

    #[tokio::test]
    async fn the_demo_payer_signs_in_and_the_session_resolves_until_sign_out() {
        let db = fresh_db().await;
        seed_demo(&db).await.unwrap();
        let login = &DEMO_LOGINS[0];
        let caller = sign_in(&db, login.email, login.password, "127.0.0.1")
            .await
            .unwrap()
            .into_session();
        assert_eq!(caller.role, Role::Payer);
        assert!(caller.customer_id.is_some());
        let resolved = resolve_session(&db, &caller.session_id, caller.user_id)
            .await
            .unwrap();
        assert_eq!(resolved.as_ref(), Some(&caller));
        // Another user's id with this session id resolves to nobody.
        assert_eq!(
            resolve_session(&db, &caller.session_id, caller.user_id + 1)
                .await
                .unwrap(),
            None
        );
        sign_out(&db, &caller, "127.0.0.1").await.unwrap();
        assert_eq!(
            resolve_session(&db, &caller.session_id, caller.user_id)
                .await
                .unwrap(),
            None
        );
    }

    #[test]
    fn the_stand_in_hash_for_unknown_emails_is_a_real_argon2id_hash() {
        assert!(PasswordHash::new(DUMMY_HASH).is_ok());
        assert!(!hash_matches(DUMMY_HASH, "anything"));
    }

    #[tokio::test]
    async fn a_wrong_password_and_an_unknown_email_give_the_same_answer() {
        let db = fresh_db().await;
        seed_demo(&db).await.unwrap();
        let wrong = sign_in(&db, DEMO_LOGINS[0].email, "not the password", "127.0.0.1")
            .await
            .unwrap_err();
        let unknown = sign_in(&db, "nobody@example.com", "whatever123", "127.0.0.1")
            .await
            .unwrap_err();
        assert_eq!(wrong.to_string(), unknown.to_string());
        assert_eq!(wrong.to_string(), "the email or password is wrong");
    }

    #[tokio::test]
    async fn repeated_failures_from_one_address_are_slowed_but_other_addresses_still_sign_in() {
        let db = fresh_db().await;
        seed_demo(&db).await.unwrap();
        let login = &DEMO_LOGINS[0];
        for _ in 0..PER_ACCOUNT_AND_ADDRESS {
            let _ = sign_in(&db, login.email, "guess-guess", "203.0.113.9").await;
        }
        let blocked = sign_in(&db, login.email, login.password, "203.0.113.9")
            .await
            .unwrap_err();
        assert!(
            matches!(
                blocked,
                AuthError::SignIn(SignInError::TooManyAttempts { .. })
            ),
            "{blocked}"
        );
        // The real user, elsewhere, is not locked out.
        assert!(
            sign_in(&db, login.email, login.password, "198.51.100.4")
                .await
                .is_ok()
        );
    }
}
