//! Two-factor sign-in: an authenticator app's codes (TOTP, RFC 6238: SHA-1, 6 digits, 30-second
//! steps, as every authenticator app reads an `otpauth://` address) and single-use recovery codes.
//! Enrolment, the sign-in's second step, new recovery codes, turning it off, and a manager's
//! reset when a device is lost. Every change is audited in its transaction and mailed to the user.

use chrono::{DateTime, Duration, Utc};
use sqlx::{Any, Row, Transaction};
use totp_rs::{Algorithm, Secret, TOTP};

use super::Caller;
use super::store::{enforce_limits, notify_in, open_session, record_attempt, revoke_in};
use crate::audit;
use crate::db::{Db, DbError, timestamp_text};
use crate::locale::{Explain, Locale};
use crate::tr;
use crate::users::Role;

/// An authenticator's code changes every this many seconds.
pub const STEP_SECONDS: i64 = 30;
/// Steps either side of now a code is accepted for: a phone's clock may drift, and a code read
/// off at the end of its step arrives in the next.
const SKEW_STEPS: i64 = 1;
/// Wrong codes against one sign-in before it must start again from the password.
pub const CODE_FAILURES: i64 = 5;
/// Recovery codes issued at a time.
pub const RECOVERY_CODES: usize = 10;
/// The name an authenticator app shows beside the code.
const ISSUER: &str = "Ledgerport";
/// A recovery code: 16 characters of Crockford's base32 (80 random bits), shown in groups of four.
const RECOVERY_CODE_LENGTH: usize = 16;

#[derive(Debug, thiserror::Error)]
pub enum TwoFactorError {
    #[error("{}", self.explain(Locale::En))]
    WrongCode,
    #[error("{}", self.explain(Locale::En))]
    CodeUsed,
    #[error("{}", self.explain(Locale::En))]
    SignInExpired,
    #[error("{}", self.explain(Locale::En))]
    TooManyAttempts { retry_after_minutes: i64 },
    #[error("{}", self.explain(Locale::En))]
    AlreadyOn,
    #[error("{}", self.explain(Locale::En))]
    NotOn,
    #[error("{}", self.explain(Locale::En))]
    NotStarted,
    #[error("{}", self.explain(Locale::En))]
    ManagersKeepIt,
    #[error("{}", self.explain(Locale::En))]
    CodeNotProved,
    #[error("{}", self.explain(Locale::En))]
    PasskeyFirst,
    #[error("{}", self.explain(Locale::En))]
    ManagerOnly,
    #[error("{}", self.explain(Locale::En))]
    OwnAccess,
    #[error("{}", self.explain(Locale::En))]
    UnknownUser,
    #[error(transparent)]
    Db(#[from] DbError),
}

impl Explain for TwoFactorError {
    fn explain(&self, locale: Locale) -> String {
        let text = match self {
            TwoFactorError::WrongCode => locale.pick(
                "that code is not right; check the time on your phone and try the newest code",
                "dieser Code stimmt nicht; prüfen Sie die Uhrzeit Ihres Telefons und versuchen Sie den neuesten Code",
            ),
            TwoFactorError::CodeUsed => locale.pick(
                "that code was already used; wait for the next one",
                "dieser Code wurde schon verwendet; warten Sie auf den nächsten",
            ),
            TwoFactorError::SignInExpired => locale.pick(
                "this sign-in timed out or was ended; sign in with your password again",
                "diese Anmeldung ist abgelaufen oder wurde beendet; melden Sie sich erneut mit Ihrem Passwort an",
            ),
            TwoFactorError::TooManyAttempts {
                retry_after_minutes,
            } => return super::too_many_attempts(locale, *retry_after_minutes),
            TwoFactorError::AlreadyOn => locale.pick(
                "two-factor sign-in is already on",
                "die Anmeldung mit zweitem Faktor ist bereits eingeschaltet",
            ),
            TwoFactorError::NotOn => locale.pick(
                "two-factor sign-in is not on",
                "die Anmeldung mit zweitem Faktor ist nicht eingeschaltet",
            ),
            TwoFactorError::NotStarted => locale.pick(
                "start setting up two-factor sign-in first",
                "richten Sie zuerst die Anmeldung mit zweitem Faktor ein",
            ),
            TwoFactorError::ManagersKeepIt => locale.pick(
                "AR managers keep two-factor sign-in on; another manager can reset it",
                "Leiter der Debitorenbuchhaltung behalten den zweiten Faktor; ein anderer Leiter kann ihn zurücksetzen",
            ),
            TwoFactorError::CodeNotProved => locale.pick(
                "sign in with your code first",
                "melden Sie sich zuerst mit Ihrem Code an",
            ),
            TwoFactorError::PasskeyFirst => locale.pick(
                "you have a passkey: sign in with it first",
                "Sie haben einen Passkey: melden Sie sich zuerst damit an",
            ),
            TwoFactorError::ManagerOnly => locale.pick(
                "only an AR manager can do that",
                "das kann nur die Leitung unseres Teams",
            ),
            TwoFactorError::OwnAccess => locale.pick(
                "you cannot reset your own two-factor sign-in; ask another manager",
                "Sie können Ihren eigenen zweiten Faktor nicht zurücksetzen; bitten Sie einen anderen Leiter",
            ),
            TwoFactorError::UnknownUser => {
                locale.pick("there is no such user", "diesen Benutzer gibt es nicht")
            }
            TwoFactorError::Db(e) => return e.to_string(),
        };
        text.into()
    }
}

crate::from_sqlx_error!(TwoFactorError);

impl From<super::store::AuthError> for TwoFactorError {
    fn from(e: super::store::AuthError) -> Self {
        match e {
            super::store::AuthError::SignIn(super::SignInError::TooManyAttempts {
                retry_after_minutes,
            }) => TwoFactorError::TooManyAttempts {
                retry_after_minutes,
            },
            super::store::AuthError::SignIn(super::SignInError::WrongCredentials) => {
                TwoFactorError::WrongCode
            }
            super::store::AuthError::Db(e) => TwoFactorError::Db(e),
        }
    }
}

/// An authenticator for a base32 secret. `account` names the user in the app (no `:`).
fn authenticator(secret: &str, account: &str) -> Result<TOTP, DbError> {
    let bytes = Secret::Encoded(secret.to_string())
        .to_bytes()
        .map_err(|_| DbError::Corrupt("a TOTP secret is not base32".into()))?;
    TOTP::new(
        Algorithm::SHA1,
        6,
        0,
        STEP_SECONDS as u64,
        bytes,
        Some(ISSUER.to_string()),
        account.replace(':', ""),
    )
    .map_err(|e| DbError::Corrupt(format!("a TOTP secret is unusable: {e}")))
}

/// The code an authenticator shows at `unix_seconds` (demo sign-in, tests).
pub fn code_at(secret: &str, unix_seconds: i64) -> Result<String, DbError> {
    Ok(authenticator(secret, "")?.generate(unix_seconds.max(0) as u64))
}

/// The step, within the drift allowed around `now`, whose code `code` is (each compared in
/// constant time).
fn step_of(secret: &str, code: &str, now: DateTime<Utc>) -> Result<Option<i64>, DbError> {
    let totp = authenticator(secret, "")?;
    let current = now.timestamp() / STEP_SECONDS;
    Ok((current - SKEW_STEPS..=current + SKEW_STEPS)
        .find(|step| totp.check(code, (step * STEP_SECONDS).max(0) as u64)))
}

/// What a user typed: six digits from the app, or a recovery code (case, blanks and dashes
/// ignored; Crockford's look-alikes read as the digits they stand for).
#[derive(Debug, Clone, PartialEq, Eq)]
enum TypedCode {
    Authenticator(String),
    Recovery(String),
}

impl TypedCode {
    fn parse(text: &str) -> Option<TypedCode> {
        let compact: String = text
            .chars()
            .filter(|c| !c.is_whitespace() && *c != '-')
            .collect();
        if compact.len() == 6 && compact.chars().all(|c| c.is_ascii_digit()) {
            return Some(TypedCode::Authenticator(compact));
        }
        crate::secrets::typed_crockford(&compact, RECOVERY_CODE_LENGTH).map(TypedCode::Recovery)
    }
}

/// Which factor a code proved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Proof {
    Authenticator,
    RecoveryCode,
}

impl Proof {
    fn as_str(self) -> &'static str {
        match self {
            Proof::Authenticator => "authenticator",
            Proof::RecoveryCode => "recovery code",
        }
    }
}

/// Checks a code against a user's confirmed authenticator or unused recovery codes, and uses it
/// up: an authenticator's step moves forward (a conditional update, so of two sign-ins with one
/// code one wins), a recovery code is marked used.
async fn use_code_in(
    tx: &mut Transaction<'_, Any>,
    user_id: i64,
    code: &str,
    now: DateTime<Utc>,
) -> Result<Proof, TwoFactorError> {
    match TypedCode::parse(code).ok_or(TwoFactorError::WrongCode)? {
        TypedCode::Authenticator(digits) => {
            let row = sqlx::query(
                "SELECT secret, last_step FROM totp_factors \
                 WHERE user_id = $1 AND confirmed_at IS NOT NULL",
            )
            .bind(user_id)
            .fetch_optional(&mut **tx)
            .await?
            .ok_or(TwoFactorError::NotOn)?;
            let secret: String = row.try_get("secret")?;
            let step = step_of(&secret, &digits, now)?.ok_or(TwoFactorError::WrongCode)?;
            let moved = sqlx::query(
                "UPDATE totp_factors SET last_step = $1 WHERE user_id = $2 AND last_step < $1",
            )
            .bind(step)
            .bind(user_id)
            .execute(&mut **tx)
            .await?;
            if moved.rows_affected() != 1 {
                return Err(TwoFactorError::CodeUsed);
            }
            Ok(Proof::Authenticator)
        }
        TypedCode::Recovery(normal) => {
            let used = sqlx::query(
                "UPDATE recovery_codes SET used_at = $1 \
                 WHERE user_id = $2 AND code_hash = $3 AND used_at IS NULL",
            )
            .bind(timestamp_text(now))
            .bind(user_id)
            .bind(crate::secrets::digest_hex(&normal))
            .execute(&mut **tx)
            .await?;
            if used.rows_affected() != 1 {
                return Err(TwoFactorError::WrongCode);
            }
            Ok(Proof::RecoveryCode)
        }
    }
}

/// The second step of a sign-in: the challenge a right password (or link) left in the browser
/// and a code. A wrong code counts against the sign-in rate limits and the challenge; after
/// `CODE_FAILURES` the password must be entered again.
pub async fn complete_sign_in(
    db: &Db,
    challenge: &str,
    code: &str,
    ip: &str,
) -> Result<Caller, TwoFactorError> {
    let now = Utc::now();
    let token_hash = crate::secrets::digest_hex(challenge);
    let pending = sqlx::query(
        "SELECT l.id, l.user_id, u.email FROM access_links l JOIN users u ON u.id = l.user_id \
         WHERE l.token_hash = $1 AND l.purpose = 'second_factor' AND l.used_at IS NULL \
           AND l.expires_at > $2 AND u.disabled_at IS NULL",
    )
    .bind(&token_hash)
    .bind(timestamp_text(now))
    .fetch_optional(db.pool())
    .await?
    .ok_or(TwoFactorError::SignInExpired)?;
    let link_id: i64 = pending.try_get("id")?;
    let user_id: i64 = pending.try_get("user_id")?;
    let email: String = pending.try_get("email")?;
    enforce_limits(db, Some(&email), ip, now).await?;

    let mut tx = db.begin_write().await?;
    match use_code_in(&mut tx, user_id, code, now).await {
        Ok(proof) => {
            // The challenge is single-use: of two submissions racing with right codes, one wins.
            let claimed = sqlx::query(
                "UPDATE access_links SET used_at = $1 WHERE id = $2 AND used_at IS NULL",
            )
            .bind(timestamp_text(now))
            .bind(link_id)
            .execute(&mut *tx)
            .await?;
            if claimed.rows_affected() != 1 {
                return Err(TwoFactorError::SignInExpired);
            }
            record_attempt(&mut tx, &email, ip, now, true).await?;
            let caller = open_session(&mut tx, user_id, ip, now, true).await?;
            audit::record(
                &mut *tx,
                Some(user_id),
                &email,
                "sign_in",
                "",
                proof.as_str(),
                ip,
            )
            .await?;
            if proof == Proof::RecoveryCode {
                let left = recovery_codes_left_in(&mut tx, user_id).await?;
                let write = |locale: Locale| {
                    let body = tr!(
                        locale,
                        "two_factor.recovery_code_used.body",
                        name = caller.display_name,
                        left = left
                    );
                    (tr!(locale, "two_factor.recovery_code_used.subject"), body)
                };
                notify_in(&mut tx, &email, write).await?;
            }
            tx.commit().await?;
            Ok(caller)
        }
        Err(refused @ (TwoFactorError::WrongCode | TwoFactorError::CodeUsed)) => {
            sqlx::query(
                "UPDATE access_links SET failures = failures + 1, \
                   used_at = CASE WHEN failures + 1 >= $1 THEN $2 ELSE used_at END \
                 WHERE id = $3",
            )
            .bind(CODE_FAILURES)
            .bind(timestamp_text(now))
            .bind(link_id)
            .execute(&mut *tx)
            .await?;
            record_attempt(&mut tx, &email, ip, now, false).await?;
            audit::record(
                &mut *tx,
                Some(user_id),
                &email,
                "sign_in_code_failed",
                "",
                "",
                ip,
            )
            .await?;
            tx.commit().await?;
            Err(refused)
        }
        Err(other) => Err(other),
    }
}

/// A user's two-factor sign-in as their profile shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TwoFactorState {
    /// When it was turned on.
    pub on_since: Option<String>,
    /// Enrolment started and waiting for the first code.
    pub pending: Option<Enrolment>,
    pub recovery_codes_left: i64,
    /// The user has a passkey and this session has not used it: an app is set up only after.
    pub passkey_first: bool,
}

/// What an authenticator app needs to add the account: the `otpauth://` address (shown as a QR
/// code) and the same secret to type in by hand.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Enrolment {
    pub secret: String,
    pub otpauth_url: String,
}

pub async fn state(db: &Db, caller: &Caller) -> Result<TwoFactorState, TwoFactorError> {
    let factor = sqlx::query("SELECT secret, confirmed_at FROM totp_factors WHERE user_id = $1")
        .bind(caller.user_id)
        .fetch_optional(db.pool())
        .await?;
    let left: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM recovery_codes WHERE user_id = $1 AND used_at IS NULL",
    )
    .bind(caller.user_id)
    .fetch_one(db.pool())
    .await?;
    let mut state = TwoFactorState {
        on_since: None,
        pending: None,
        recovery_codes_left: left,
        passkey_first: passkey_first(db.pool(), caller).await?,
    };
    if let Some(row) = factor {
        let secret: String = row.try_get("secret")?;
        match row.try_get::<Option<String>, _>("confirmed_at")? {
            Some(at) => state.on_since = Some(at),
            None => {
                state.pending = Some(Enrolment {
                    otpauth_url: authenticator(&secret, &caller.email)?.get_url(),
                    secret,
                })
            }
        }
    }
    Ok(state)
}

/// Starts enrolment: a new secret (160 random bits, as RFC 4226 recommends) waiting for the
/// first code. Starting again replaces a secret that was never confirmed.
pub async fn begin(db: &Db, caller: &Caller) -> Result<Enrolment, TwoFactorError> {
    let secret = Secret::Raw(crate::secrets::random_bytes(20))
        .to_encoded()
        .to_string();
    let mut tx = db.begin_write().await?;
    refuse_beside_a_passkey_unproved(&mut tx, caller).await?;
    let confirmed =
        sqlx::query("SELECT 1 FROM totp_factors WHERE user_id = $1 AND confirmed_at IS NOT NULL")
            .bind(caller.user_id)
            .fetch_optional(&mut *tx)
            .await?;
    if confirmed.is_some() {
        return Err(TwoFactorError::AlreadyOn);
    }
    sqlx::query("DELETE FROM totp_factors WHERE user_id = $1")
        .bind(caller.user_id)
        .execute(&mut *tx)
        .await?;
    sqlx::query("INSERT INTO totp_factors (user_id, secret, created_at) VALUES ($1, $2, $3)")
        .bind(caller.user_id)
        .bind(&secret)
        .bind(timestamp_text(Utc::now()))
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(Enrolment {
        otpauth_url: authenticator(&secret, &caller.email)?.get_url(),
        secret,
    })
}

/// A user who has a passkey sets up an app only from a session that proved a factor: finishing
/// enrolment proves one, so otherwise a stolen password would make itself a second factor (and
/// then add the thief's passkey). True when this session must sign in with the passkey first.
async fn passkey_first<'e, E>(executor: E, caller: &Caller) -> Result<bool, DbError>
where
    E: sqlx::Executor<'e, Database = Any>,
{
    if caller.second_factor {
        return Ok(false);
    }
    let passkeys: i64 = sqlx::query_scalar("SELECT count(*) FROM passkeys WHERE user_id = $1")
        .bind(caller.user_id)
        .fetch_one(executor)
        .await?;
    Ok(passkeys > 0)
}

async fn refuse_beside_a_passkey_unproved(
    tx: &mut Transaction<'_, Any>,
    caller: &Caller,
) -> Result<(), TwoFactorError> {
    if passkey_first(&mut **tx, caller).await? {
        return Err(TwoFactorError::PasskeyFirst);
    }
    Ok(())
}

/// Finishes enrolment with the app's first code: two-factor sign-in is on, this session counts
/// as having proved it, every other session ends, and the recovery codes are returned (shown
/// once; only their hashes are kept).
pub async fn confirm(
    db: &Db,
    caller: &Caller,
    code: &str,
    ip: &str,
) -> Result<Vec<String>, TwoFactorError> {
    let now = Utc::now();
    let Some(TypedCode::Authenticator(digits)) = TypedCode::parse(code) else {
        return Err(TwoFactorError::WrongCode);
    };
    let mut tx = db.begin_write().await?;
    refuse_beside_a_passkey_unproved(&mut tx, caller).await?;
    let secret: String = sqlx::query_scalar(
        "SELECT secret FROM totp_factors WHERE user_id = $1 AND confirmed_at IS NULL",
    )
    .bind(caller.user_id)
    .fetch_optional(&mut *tx)
    .await?
    .ok_or(TwoFactorError::NotStarted)?;
    let step = step_of(&secret, &digits, now)?.ok_or(TwoFactorError::WrongCode)?;
    let confirmed = sqlx::query(
        "UPDATE totp_factors SET confirmed_at = $1, last_step = $2 \
         WHERE user_id = $3 AND confirmed_at IS NULL",
    )
    .bind(timestamp_text(now))
    .bind(step)
    .bind(caller.user_id)
    .execute(&mut *tx)
    .await?;
    if confirmed.rows_affected() != 1 {
        return Err(TwoFactorError::AlreadyOn);
    }
    super::store::prove_second_factor_in(&mut tx, &caller.session_id, now).await?;
    revoke_in(&mut tx, caller.user_id, Some(&caller.session_id)).await?;
    let codes = replace_recovery_codes_in(&mut tx, caller.user_id, now).await?;
    audit::record(
        &mut *tx,
        Some(caller.user_id),
        &caller.email,
        "two_factor_on",
        &format!("user {}", caller.user_id),
        "",
        ip,
    )
    .await?;
    let write = |locale: Locale| {
        (
            tr!(locale, "two_factor.on.subject"),
            tr!(locale, "two_factor.on.body", name = caller.display_name),
        )
    };
    notify_in(&mut tx, &caller.email, write).await?;
    tx.commit().await?;
    Ok(codes)
}

/// New recovery codes in place of the old ones (all of which stop working), from a session that
/// proved a second factor.
pub async fn new_recovery_codes(
    db: &Db,
    caller: &Caller,
    ip: &str,
) -> Result<Vec<String>, TwoFactorError> {
    if !caller.second_factor {
        return Err(TwoFactorError::CodeNotProved);
    }
    let now = Utc::now();
    let mut tx = db.begin_write().await?;
    let on =
        sqlx::query("SELECT 1 FROM totp_factors WHERE user_id = $1 AND confirmed_at IS NOT NULL")
            .bind(caller.user_id)
            .fetch_optional(&mut *tx)
            .await?;
    if on.is_none() {
        return Err(TwoFactorError::NotOn);
    }
    let codes = replace_recovery_codes_in(&mut tx, caller.user_id, now).await?;
    audit::record(
        &mut *tx,
        Some(caller.user_id),
        &caller.email,
        "recovery_codes_replaced",
        &format!("user {}", caller.user_id),
        "",
        ip,
    )
    .await?;
    let write = |locale: Locale| {
        (
            tr!(locale, "two_factor.new_recovery_codes.subject"),
            tr!(
                locale,
                "two_factor.new_recovery_codes.body",
                name = caller.display_name
            ),
        )
    };
    notify_in(&mut tx, &caller.email, write).await?;
    tx.commit().await?;
    Ok(codes)
}

/// Turns two-factor sign-in off with a current code (or a recovery code). Managers cannot: it
/// is what lets them reach the staff pages. A wrong code counts against the sign-in limits, so
/// a borrowed session cannot guess its way to turning it off.
pub async fn turn_off(
    db: &Db,
    caller: &Caller,
    code: &str,
    ip: &str,
) -> Result<(), TwoFactorError> {
    if caller.role == Role::Manager {
        return Err(TwoFactorError::ManagersKeepIt);
    }
    let now = Utc::now();
    enforce_limits(db, Some(&caller.email), ip, now).await?;
    let mut tx = db.begin_write().await?;
    let proof = match use_code_in(&mut tx, caller.user_id, code, now).await {
        Ok(proof) => proof,
        Err(refused @ (TwoFactorError::WrongCode | TwoFactorError::CodeUsed)) => {
            record_attempt(&mut tx, &caller.email, ip, now, false).await?;
            tx.commit().await?;
            return Err(refused);
        }
        Err(other) => return Err(other),
    };
    remove_in(&mut tx, caller.user_id).await?;
    audit::record(
        &mut *tx,
        Some(caller.user_id),
        &caller.email,
        "two_factor_off",
        &format!("user {}", caller.user_id),
        proof.as_str(),
        ip,
    )
    .await?;
    let write = |locale: Locale| {
        (
            tr!(locale, "two_factor.off.subject"),
            tr!(locale, "two_factor.off.body", name = caller.display_name),
        )
    };
    notify_in(&mut tx, &caller.email, write).await?;
    tx.commit().await?;
    Ok(())
}

/// A manager resets another user's two-factor sign-in (a lost phone and no recovery code): the
/// authenticator and recovery codes are removed, the user's sessions end, and they are told. A
/// manager whose factor is reset sets up a new one at their next sign-in.
pub async fn reset(db: &Db, actor: &Caller, user_id: i64, ip: &str) -> Result<(), TwoFactorError> {
    // A manager's session counts only with its second factor (`Caller::is_staff`).
    if actor.role != Role::Manager || !actor.is_staff() {
        return Err(TwoFactorError::ManagerOnly);
    }
    if actor.user_id == user_id {
        return Err(TwoFactorError::OwnAccess);
    }
    let by = ResetBy {
        user_id: Some(actor.user_id),
        audit_name: &actor.email,
        shown_name: &actor.display_name,
    };
    reset_user(db, user_id, by, ip).await
}

/// The operator's reset, from the command line: for a manager who lost both phone and recovery
/// codes when no other manager can reset it.
pub async fn reset_from_command_line(db: &Db, email: &str) -> Result<(), TwoFactorError> {
    let user_id: i64 = sqlx::query_scalar("SELECT id FROM users WHERE email = $1")
        .bind(email.trim().to_lowercase())
        .fetch_optional(db.pool())
        .await?
        .ok_or(TwoFactorError::UnknownUser)?;
    let by = ResetBy {
        user_id: None,
        audit_name: "command line",
        shown_name: "The portal's operator",
    };
    reset_user(db, user_id, by, "").await
}

/// Who reset a factor, as the audit log and the user's notice name them.
struct ResetBy<'a> {
    user_id: Option<i64>,
    audit_name: &'a str,
    shown_name: &'a str,
}

async fn reset_user(
    db: &Db,
    user_id: i64,
    by: ResetBy<'_>,
    ip: &str,
) -> Result<(), TwoFactorError> {
    let mut tx = db.begin_write().await?;
    let user = sqlx::query("SELECT email, display_name FROM users WHERE id = $1")
        .bind(user_id)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or(TwoFactorError::UnknownUser)?;
    let email: String = user.try_get("email")?;
    let name: String = user.try_get("display_name")?;
    // A passkey is a second factor too: a lost phone may have held both.
    let authenticator_was_on = remove_in(&mut tx, user_id).await?;
    let passkeys_removed = super::passkeys::remove_all_in(&mut tx, user_id).await?;
    if !authenticator_was_on && passkeys_removed == 0 {
        return Err(TwoFactorError::NotOn);
    }
    revoke_in(&mut tx, user_id, None).await?;
    audit::record(
        &mut *tx,
        by.user_id,
        by.audit_name,
        "two_factor_reset",
        &format!("user {user_id} ({email})"),
        "",
        ip,
    )
    .await?;
    let write = |locale: Locale| {
        // The operator's reset names no person; a manager's names them.
        let by_name = match by.user_id {
            Some(_) => by.shown_name,
            None => locale.pick(by.shown_name, "der Betreiber des Portals"),
        };
        let body = tr!(locale, "two_factor.reset.body", name = name, by = by_name);
        (tr!(locale, "two_factor.reset.subject"), body)
    };
    notify_in(&mut tx, &email, write).await?;
    tx.commit().await?;
    Ok(())
}

/// Removes a user's authenticator and recovery codes; true when an authenticator was on.
async fn remove_in(tx: &mut Transaction<'_, Any>, user_id: i64) -> Result<bool, DbError> {
    let removed = sqlx::query("DELETE FROM totp_factors WHERE user_id = $1 RETURNING confirmed_at")
        .bind(user_id)
        .fetch_optional(&mut **tx)
        .await?;
    sqlx::query("DELETE FROM recovery_codes WHERE user_id = $1")
        .bind(user_id)
        .execute(&mut **tx)
        .await?;
    Ok(match removed {
        Some(row) => row.try_get::<Option<String>, _>(0)?.is_some(),
        None => false,
    })
}

/// Ten new recovery codes in place of a user's old ones, as shown (`xxxx-xxxx-xxxx-xxxx`).
async fn replace_recovery_codes_in(
    tx: &mut Transaction<'_, Any>,
    user_id: i64,
    now: DateTime<Utc>,
) -> Result<Vec<String>, DbError> {
    sqlx::query("DELETE FROM recovery_codes WHERE user_id = $1")
        .bind(user_id)
        .execute(&mut **tx)
        .await?;
    // Ten rows, one statement each: sqlx's `Any` query builder writes `?`, which PostgreSQL refuses.
    let codes: Vec<String> = (0..RECOVERY_CODES).map(|_| new_recovery_code()).collect();
    for code in &codes {
        sqlx::query(
            "INSERT INTO recovery_codes (user_id, code_hash, created_at) VALUES ($1, $2, $3)",
        )
        .bind(user_id)
        .bind(crate::secrets::digest_hex(code))
        .bind(timestamp_text(now))
        .execute(&mut **tx)
        .await?;
    }
    Ok(codes.iter().map(|code| in_groups_of_four(code)).collect())
}

fn new_recovery_code() -> String {
    crate::secrets::random_crockford(RECOVERY_CODE_LENGTH)
}

fn in_groups_of_four(code: &str) -> String {
    crate::printed::in_groups_of_four(code, "-")
}

async fn recovery_codes_left_in(
    tx: &mut Transaction<'_, Any>,
    user_id: i64,
) -> Result<i64, DbError> {
    Ok(sqlx::query_scalar(
        "SELECT count(*) FROM recovery_codes WHERE user_id = $1 AND used_at IS NULL",
    )
    .bind(user_id)
    .fetch_one(&mut **tx)
    .await?)
}

/// Seeds a confirmed authenticator (demo data and tests).
pub async fn seed_factor_in(
    tx: &mut Transaction<'_, Any>,
    user_id: i64,
    secret: &str,
) -> Result<(), DbError> {
    let now = timestamp_text(Utc::now() - Duration::days(1));
    sqlx::query(
        "INSERT INTO totp_factors (user_id, secret, created_at, confirmed_at) VALUES ($1, $2, $3, $3)",
    )
    .bind(user_id)
    .bind(secret)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

#[cfg(all(test, feature = "test-support"))]
mod tests;
