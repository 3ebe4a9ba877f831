//! Passkeys (WebAuthn): sign-in without a password or code, by a key the user's phone, laptop or
//! security key keeps and unlocks with their fingerprint, face or PIN. The browser does the
//! ceremony (`public/passkeys.js`); `webauthn-rs` checks every answer (origin, challenge,
//! signature, user verification). A passkey proves two factors, so its session counts as having
//! proved a second factor, as a code does: an AR manager who signs in with one reaches the staff
//! pages.
//!
//! Each ceremony's challenge is kept here until its answer arrives: single-use, five minutes.
//! Adding a passkey is for the user themself, and once they have any second factor only from a
//! session that proved one, so a stolen password cannot add an attacker's passkey. Every change
//! is audited in its transaction and mailed to the user.

use chrono::{DateTime, Duration, Utc};
use sqlx::{Any, Row, Transaction};
use webauthn_rs::prelude::{
    CreationChallengeResponse, DiscoverableAuthentication, Passkey, PasskeyRegistration,
    PublicKeyCredential, RegisterPublicKeyCredential, Url, Uuid, Webauthn, WebauthnBuilder,
};

use super::Caller;
use super::store::{
    AuthError, enforce_limits, notify_in, open_session, prove_second_factor_in, record_attempt,
    second_factors,
};
use crate::audit;
use crate::db::{Db, DbError, timestamp_text};
use crate::locale::{Explain, Locale};
use crate::tr;
use crate::users::Role;

/// A ceremony's answer must arrive within this long (the browser's own timeout is the same).
pub const CEREMONY_SECONDS: i64 = 5 * 60;
/// Sign-in ceremonies one address may have open at once: each is a row until it expires.
/// (Only abandoned ones count: an answered ceremony is gone. Thirty leaves room for an office
/// behind one address.)
const OPEN_SIGN_INS_PER_ADDRESS: i64 = 30;
/// Passkeys one user may keep (a phone, a laptop, a spare security key, …).
pub const MAX_PASSKEYS: i64 = 10;
/// The longest name a passkey may have.
pub const NAME_MAX_CHARS: usize = 60;

#[derive(Debug, thiserror::Error)]
pub enum PasskeyError {
    #[error("{}", self.explain(Locale::En))]
    BadAnswer,
    #[error("{}", self.explain(Locale::En))]
    CeremonyExpired,
    #[error("{}", self.explain(Locale::En))]
    NotRecognised,
    #[error("{}", self.explain(Locale::En))]
    NotAccepted,
    #[error("{}", self.explain(Locale::En))]
    SecondFactorFirst,
    #[error("{}", self.explain(Locale::En))]
    TooManyPasskeys,
    #[error("{}", self.explain(Locale::En))]
    NameInvalid,
    #[error("{}", self.explain(Locale::En))]
    AlreadyAdded,
    #[error("{}", self.explain(Locale::En))]
    UnknownPasskey,
    #[error("{}", self.explain(Locale::En))]
    ManagersKeepOne,
    #[error("{}", self.explain(Locale::En))]
    TooManyAttempts { retry_after_minutes: i64 },
    #[error(transparent)]
    Db(#[from] DbError),
}

impl Explain for PasskeyError {
    fn explain(&self, locale: Locale) -> String {
        let text = match self {
            PasskeyError::BadAnswer => locale.pick(
                "your browser's answer could not be read; try again",
                "die Antwort Ihres Browsers war nicht lesbar; bitte versuchen Sie es erneut",
            ),
            PasskeyError::CeremonyExpired => locale.pick(
                "this passkey request timed out or was already used; try again",
                "diese Passkey-Anfrage ist abgelaufen oder wurde schon verwendet; bitte versuchen Sie es erneut",
            ),
            PasskeyError::NotRecognised => locale.pick(
                "we do not know this passkey; sign in with your password",
                "diesen Passkey kennen wir nicht; melden Sie sich mit Ihrem Passwort an",
            ),
            PasskeyError::NotAccepted => locale.pick(
                "this passkey could not be added: your device did not confirm it with your fingerprint, face or PIN; try again",
                "dieser Passkey konnte nicht hinzugefügt werden: Ihr Gerät hat ihn nicht mit Fingerabdruck, Gesicht oder PIN bestätigt; bitte versuchen Sie es erneut",
            ),
            PasskeyError::SecondFactorFirst => locale.pick(
                "sign in with your passkey or your code first",
                "melden Sie sich zuerst mit Ihrem Passkey oder Ihrem Code an",
            ),
            PasskeyError::TooManyPasskeys => {
                return locale.pick(
                    format!("you have {MAX_PASSKEYS} passkeys already; remove one first"),
                    format!(
                        "Sie haben bereits {MAX_PASSKEYS} Passkeys; entfernen Sie zuerst einen"
                    ),
                );
            }
            PasskeyError::NameInvalid => {
                return locale.pick(
                    format!("give the passkey a name of up to {NAME_MAX_CHARS} characters"),
                    format!("geben Sie dem Passkey einen Namen mit bis zu {NAME_MAX_CHARS} Zeichen"),
                );
            }
            PasskeyError::AlreadyAdded => locale.pick(
                "this passkey is added already",
                "dieser Passkey ist bereits hinzugefügt",
            ),
            PasskeyError::UnknownPasskey => {
                locale.pick("there is no such passkey", "diesen Passkey gibt es nicht")
            }
            PasskeyError::ManagersKeepOne => locale.pick(
                "AR managers keep a second factor; set up an authenticator app or another passkey first",
                "Leiter der Debitorenbuchhaltung behalten einen zweiten Faktor; richten Sie zuerst eine Authenticator-App oder einen weiteren Passkey ein",
            ),
            PasskeyError::TooManyAttempts {
                retry_after_minutes,
            } => return super::too_many_attempts(locale, *retry_after_minutes),
            PasskeyError::Db(e) => return e.to_string(),
        };
        text.into()
    }
}

crate::from_sqlx_error!(PasskeyError);

impl From<AuthError> for PasskeyError {
    fn from(e: AuthError) -> Self {
        match e {
            AuthError::SignIn(super::SignInError::TooManyAttempts {
                retry_after_minutes,
            }) => PasskeyError::TooManyAttempts {
                retry_after_minutes,
            },
            AuthError::SignIn(super::SignInError::WrongCredentials) => PasskeyError::NotRecognised,
            AuthError::Db(e) => PasskeyError::Db(e),
        }
    }
}

/// The portal as a WebAuthn relying party: passkeys are bound to its origin's domain name.
#[derive(Debug)]
pub struct RelyingParty {
    webauthn: Webauthn,
    origin: String,
}

/// Why an origin cannot carry passkeys.
#[derive(Debug, thiserror::Error)]
pub enum RelyingPartyError {
    #[error("{0:?} is not an http(s) address")]
    NotAnAddress(String),
    #[error(
        "{0:?} names its host by an IP address; passkeys are bound to a domain name (localhost will do on this machine)"
    )]
    NoDomainName(String),
    #[error("{0:?} is plain http; browsers offer passkeys only on https (or localhost)")]
    PlainHttp(String),
    #[error("webauthn-rs refused {0:?}: {1}")]
    Refused(String, String),
}

impl RelyingParty {
    /// Passkeys for the portal at `origin` (`https://billing.example.com`, or
    /// `http://localhost:3000` on a developer's machine, which browsers also trust).
    pub fn new(origin: &str) -> Result<RelyingParty, RelyingPartyError> {
        let url =
            Url::parse(origin).map_err(|_| RelyingPartyError::NotAnAddress(origin.to_string()))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(RelyingPartyError::NotAnAddress(origin.to_string()));
        }
        let domain = url
            .domain()
            .ok_or_else(|| RelyingPartyError::NoDomainName(origin.to_string()))?
            .to_string();
        // Browsers offer passkeys only to a secure origin: https, or this machine's localhost.
        let local = domain == "localhost" || domain.ends_with(".localhost");
        if url.scheme() == "http" && !local {
            return Err(RelyingPartyError::PlainHttp(origin.to_string()));
        }
        let webauthn = WebauthnBuilder::new(&domain, &url)
            .and_then(|builder| builder.rp_name("Ledgerport").build())
            .map_err(|e| RelyingPartyError::Refused(origin.to_string(), e.to_string()))?;
        Ok(RelyingParty {
            webauthn,
            origin: url.origin().ascii_serialization(),
        })
    }

    /// The origin the browser must be on (`https://billing.example.com`).
    pub fn origin(&self) -> &str {
        &self.origin
    }
}

/// A ceremony handed to the browser: its id (kept by the page until the answer goes back) and
/// the options for `navigator.credentials` as JSON (binary fields in base64url).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ceremony {
    pub id: String,
    pub options_json: String,
}

/// A passkey as its owner's profile lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasskeySummary {
    pub id: i64,
    pub name: String,
    pub created_at: String,
    pub last_used_at: Option<String>,
}

/// A user's passkeys and whether this session may add one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasskeyList {
    pub passkeys: Vec<PasskeySummary>,
    pub may_add: bool,
}

pub async fn list(db: &Db, caller: &Caller) -> Result<PasskeyList, PasskeyError> {
    let rows = sqlx::query(
        "SELECT id, name, created_at, last_used_at FROM passkeys WHERE user_id = $1 ORDER BY id",
    )
    .bind(caller.user_id)
    .fetch_all(db.pool())
    .await?;
    let passkeys = rows
        .iter()
        .map(|row| {
            Ok(PasskeySummary {
                id: row.try_get("id")?,
                name: row.try_get("name")?,
                created_at: row.try_get("created_at")?,
                last_used_at: row.try_get("last_used_at")?,
            })
        })
        .collect::<Result<Vec<_>, sqlx::Error>>()?;
    let may_add = caller.second_factor || second_factors(db.pool(), caller.user_id).await? == 0;
    Ok(PasskeyList { passkeys, may_add })
}

/// The rule for adding a passkey, checked when the ceremony starts and again when it ends: a
/// session that proved a second factor, or a user who has none yet (for them a passkey is a first
/// second factor, as setting up an authenticator app is), and fewer than `MAX_PASSKEYS`.
async fn check_may_add_in(
    tx: &mut Transaction<'_, Any>,
    caller: &Caller,
) -> Result<(), PasskeyError> {
    if !caller.second_factor && second_factors(&mut **tx, caller.user_id).await? > 0 {
        return Err(PasskeyError::SecondFactorFirst);
    }
    let keys: i64 = sqlx::query_scalar("SELECT count(*) FROM passkeys WHERE user_id = $1")
        .bind(caller.user_id)
        .fetch_one(&mut **tx)
        .await?;
    if keys >= MAX_PASSKEYS {
        return Err(PasskeyError::TooManyPasskeys);
    }
    Ok(())
}

/// Starts adding a passkey for the signed-in user: the options for `navigator.credentials.create`,
/// which ask for a discoverable key (so it signs in without an email address) unlocked by the
/// user (fingerprint, face or PIN), and list the user's keys so one device is not added twice.
pub async fn begin_adding(
    db: &Db,
    rp: &RelyingParty,
    caller: &Caller,
    ip: &str,
) -> Result<Ceremony, PasskeyError> {
    let now = Utc::now();
    let mut tx = db.begin_write().await?;
    check_may_add_in(&mut tx, caller).await?;
    // One addition in flight per user: starting again replaces one never finished.
    sqlx::query(
        "DELETE FROM passkey_ceremonies \
         WHERE expires_at <= $1 OR (purpose = 'add' AND user_id = $2)",
    )
    .bind(timestamp_text(now))
    .bind(caller.user_id)
    .execute(&mut *tx)
    .await?;
    let handle = user_handle_in(&mut tx, caller.user_id).await?;
    let known = passkeys_of_in(&mut tx, caller.user_id)
        .await?
        .iter()
        .map(|key| key.cred_id().clone())
        .collect();
    let (mut options, state) = rp
        .webauthn
        .start_passkey_registration(handle, &caller.email, &caller.display_name, Some(known))
        .map_err(|e| DbError::Corrupt(format!("webauthn-rs could not start a ceremony: {e}")))?;
    ask_for_a_discoverable_key(&mut options);
    let ceremony = store_ceremony_in(
        &mut tx,
        "add",
        Some(caller.user_id),
        &state,
        &options,
        ip,
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(ceremony)
}

/// webauthn-rs asks for a server-side key; a passkey that signs in without an email address
/// must live on the authenticator (a discoverable credential). What the browser is asked for
/// changes nothing the answer is checked against.
fn ask_for_a_discoverable_key(options: &mut CreationChallengeResponse) {
    if let Some(selection) = options.public_key.authenticator_selection.as_mut() {
        selection.require_resident_key = true;
        selection.resident_key = Some(webauthn_rs_proto::ResidentKeyRequirement::Required);
    }
}

/// Finishes adding a passkey with the browser's answer: checked, named and stored. If this
/// session had not proved a second factor (the user had none), it now has.
pub async fn finish_adding(
    db: &Db,
    rp: &RelyingParty,
    caller: &Caller,
    ceremony_id: &str,
    name: &str,
    answer_json: &str,
    ip: &str,
) -> Result<(), PasskeyError> {
    let now = Utc::now();
    let name = passkey_name(name)?;
    let answer: RegisterPublicKeyCredential =
        serde_json::from_str(answer_json).map_err(|_| PasskeyError::BadAnswer)?;
    let mut tx = db.begin_write().await?;
    let state: PasskeyRegistration =
        claim_ceremony_in(&mut tx, ceremony_id, "add", Some(caller.user_id), now).await?;
    // From here the ceremony is used up whatever the outcome: an answer is checked once.
    if let Err(refused) = check_may_add_in(&mut tx, caller).await {
        tx.commit().await?;
        return Err(refused);
    }
    let passkey = match rp.webauthn.finish_passkey_registration(&answer, &state) {
        Ok(passkey) => passkey,
        Err(refused) => {
            audit::record(
                &mut *tx,
                Some(caller.user_id),
                &caller.email,
                "passkey_refused",
                &format!("user {}", caller.user_id),
                &refused.to_string(),
                ip,
            )
            .await?;
            tx.commit().await?;
            return Err(PasskeyError::NotAccepted);
        }
    };
    let credential_id = crate::secrets::hex(passkey.cred_id());
    let taken = sqlx::query("SELECT 1 FROM passkeys WHERE credential_id = $1")
        .bind(&credential_id)
        .fetch_optional(&mut *tx)
        .await?;
    if taken.is_some() {
        tx.commit().await?;
        return Err(PasskeyError::AlreadyAdded);
    }
    sqlx::query(
        "INSERT INTO passkeys (user_id, credential_id, name, credential, created_at) \
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(caller.user_id)
    .bind(&credential_id)
    .bind(&name)
    .bind(stored(&passkey)?)
    .bind(timestamp_text(now))
    .execute(&mut *tx)
    .await?;
    if !caller.second_factor {
        prove_second_factor_in(&mut tx, &caller.session_id, now).await?;
    }
    let write = |locale: Locale| {
        (
            tr!(locale, "passkeys.added.subject"),
            tr!(
                locale,
                "passkeys.added.body",
                name = caller.display_name,
                passkey = name
            ),
        )
    };
    audit_and_tell_in(&mut tx, caller, "passkey_added", &name, ip, write).await?;
    tx.commit().await?;
    Ok(())
}

/// Removes one of the caller's passkeys, from a session that proved a second factor. An AR
/// manager keeps at least one second factor.
pub async fn remove(
    db: &Db,
    caller: &Caller,
    passkey_id: i64,
    ip: &str,
) -> Result<(), PasskeyError> {
    if !caller.second_factor {
        return Err(PasskeyError::SecondFactorFirst);
    }
    let mut tx = db.begin_write().await?;
    // The user's row is locked first, so two removals at once count what the other left.
    sqlx::query("UPDATE users SET passkey_handle = passkey_handle WHERE id = $1")
        .bind(caller.user_id)
        .execute(&mut *tx)
        .await?;
    let name: String =
        sqlx::query_scalar("DELETE FROM passkeys WHERE id = $1 AND user_id = $2 RETURNING name")
            .bind(passkey_id)
            .bind(caller.user_id)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or(PasskeyError::UnknownPasskey)?;
    if caller.role == Role::Manager && second_factors(&mut *tx, caller.user_id).await? == 0 {
        return Err(PasskeyError::ManagersKeepOne);
    }
    let write = |locale: Locale| {
        (
            tr!(locale, "passkeys.removed.subject"),
            tr!(
                locale,
                "passkeys.removed.body",
                name = caller.display_name,
                passkey = name
            ),
        )
    };
    audit_and_tell_in(&mut tx, caller, "passkey_removed", &name, ip, write).await?;
    tx.commit().await?;
    Ok(())
}

/// Starts a sign-in by passkey: options for `navigator.credentials.get` that name no user, so
/// the browser offers every passkey it holds for this portal. Expired ceremonies are cleared
/// here, and one address may hold only a few open ones.
pub async fn begin_sign_in(db: &Db, rp: &RelyingParty, ip: &str) -> Result<Ceremony, PasskeyError> {
    let now = Utc::now();
    let mut tx = db.begin_write().await?;
    sqlx::query("DELETE FROM passkey_ceremonies WHERE expires_at <= $1")
        .bind(timestamp_text(now))
        .execute(&mut *tx)
        .await?;
    let open: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM passkey_ceremonies WHERE ip = $1 AND purpose = 'sign_in'",
    )
    .bind(ip)
    .fetch_one(&mut *tx)
    .await?;
    if open >= OPEN_SIGN_INS_PER_ADDRESS {
        return Err(PasskeyError::TooManyAttempts {
            retry_after_minutes: CEREMONY_SECONDS / 60,
        });
    }
    let (options, state) = rp
        .webauthn
        .start_discoverable_authentication()
        .map_err(|e| DbError::Corrupt(format!("webauthn-rs could not start a ceremony: {e}")))?;
    let ceremony = store_ceremony_in(&mut tx, "sign_in", None, &state, &options, ip, now).await?;
    tx.commit().await?;
    Ok(ceremony)
}

/// Finishes a sign-in by passkey: the answer names the user (the handle their authenticator
/// keeps) and the key; it must be theirs, the user enabled, and it must be signed over this
/// ceremony's challenge on this portal's origin with the user verified. Opens a session that
/// counts as two factors. An answer that fails its check counts against the address's sign-in
/// limit (not the account's: a passkey cannot be guessed, so a password guesser does not lock
/// the user's passkey out).
pub async fn finish_sign_in(
    db: &Db,
    rp: &RelyingParty,
    ceremony_id: &str,
    answer_json: &str,
    ip: &str,
) -> Result<Caller, PasskeyError> {
    let now = Utc::now();
    let answer: PublicKeyCredential =
        serde_json::from_str(answer_json).map_err(|_| PasskeyError::BadAnswer)?;
    let (handle, credential_id) = rp
        .webauthn
        .identify_discoverable_authentication(&answer)
        .map_err(|_| PasskeyError::BadAnswer)?;
    enforce_limits(db, None, ip, now).await?;

    let mut tx = db.begin_write().await?;
    let state: DiscoverableAuthentication =
        claim_ceremony_in(&mut tx, ceremony_id, "sign_in", None, now).await?;
    // Read in the transaction that uses it: a key removed or a user disabled a moment ago does
    // not sign in.
    let owner = sqlx::query(
        "SELECT u.id, u.email, p.id AS passkey_id, p.credential FROM users u \
         JOIN passkeys p ON p.user_id = u.id AND p.credential_id = $2 \
         WHERE u.passkey_handle = $1 AND u.disabled_at IS NULL",
    )
    .bind(handle.to_string())
    .bind(crate::secrets::hex(credential_id))
    .fetch_optional(&mut *tx)
    .await?;
    let (owner_id, email) = match &owner {
        Some(row) => (Some(row.try_get::<i64, _>("id")?), row.try_get("email")?),
        None => (None, String::new()),
    };
    // Why a sign-in was refused goes to the audit log.
    let checked = match &owner {
        Some(row) => {
            let stored_credential: String = row.try_get("credential")?;
            let mut passkey: Passkey = loaded(&stored_credential)?;
            match rp
                .webauthn
                .finish_discoverable_authentication_v2(&answer, state, &passkey)
            {
                Ok(result) => {
                    // The signature counter and backup state move on with each use; of two
                    // sign-ins with one key at once, the one that read an older state loses.
                    passkey.update_credential(&result);
                    let moved_on = sqlx::query(
                        "UPDATE passkeys SET credential = $1, last_used_at = $2 \
                         WHERE id = $3 AND credential = $4",
                    )
                    .bind(stored(&passkey)?)
                    .bind(timestamp_text(now))
                    .bind(row.try_get::<i64, _>("passkey_id")?)
                    .bind(&stored_credential)
                    .execute(&mut *tx)
                    .await?;
                    if moved_on.rows_affected() == 1 {
                        Ok(row.try_get::<i64, _>("id")?)
                    } else {
                        Err("the key was used by another sign-in at the same moment".to_string())
                    }
                }
                Err(refused) => Err(refused.to_string()),
            }
        }
        None => Err("no enabled user has this passkey".to_string()),
    };
    let user_id = match checked {
        Ok(user_id) => user_id,
        Err(why) => {
            // Against the address only (no email): a bad answer for someone's key must not use up
            // their password's attempts.
            record_attempt(&mut tx, "", ip, now, false).await?;
            audit::record(
                &mut *tx,
                owner_id,
                &email,
                "sign_in_passkey_failed",
                "",
                &why,
                ip,
            )
            .await?;
            tx.commit().await?;
            return Err(PasskeyError::NotRecognised);
        }
    };
    record_attempt(&mut tx, &email, ip, now, true).await?;
    let caller = open_session(&mut tx, user_id, ip, now, true).await?;
    audit::record(
        &mut *tx,
        Some(user_id),
        &email,
        "sign_in",
        "",
        "passkey",
        ip,
    )
    .await?;
    tx.commit().await?;
    Ok(caller)
}

/// Audits a change to the caller's passkeys and mails them of it (`write(locale)` gives the
/// subject and body), in the change's transaction.
async fn audit_and_tell_in(
    tx: &mut Transaction<'_, Any>,
    caller: &Caller,
    action: &str,
    passkey_name: &str,
    ip: &str,
    write: impl Fn(Locale) -> (String, String),
) -> Result<(), DbError> {
    audit::record(
        &mut **tx,
        Some(caller.user_id),
        &caller.email,
        action,
        &format!("user {}", caller.user_id),
        passkey_name,
        ip,
    )
    .await?;
    notify_in(tx, &caller.email, write).await
}

/// Removes every passkey of a user (a manager's or the operator's reset of their second factor).
pub(super) async fn remove_all_in(
    tx: &mut Transaction<'_, Any>,
    user_id: i64,
) -> Result<u64, DbError> {
    Ok(sqlx::query("DELETE FROM passkeys WHERE user_id = $1")
        .bind(user_id)
        .execute(&mut **tx)
        .await?
        .rows_affected())
}

/// A passkey's name as typed: trimmed, one line, 1 to 60 characters.
fn passkey_name(typed: &str) -> Result<String, PasskeyError> {
    let name = typed.trim();
    let length = name.chars().count();
    if length == 0 || length > NAME_MAX_CHARS || name.chars().any(char::is_control) {
        return Err(PasskeyError::NameInvalid);
    }
    Ok(name.to_string())
}

/// The user's passkey handle, made on first use: a random UUID, so an authenticator's stored
/// user id names no one outside the portal.
async fn user_handle_in(tx: &mut Transaction<'_, Any>, user_id: i64) -> Result<Uuid, DbError> {
    sqlx::query("UPDATE users SET passkey_handle = $1 WHERE id = $2 AND passkey_handle IS NULL")
        .bind(Uuid::new_v4().to_string())
        .bind(user_id)
        .execute(&mut **tx)
        .await?;
    let handle: String = sqlx::query_scalar("SELECT passkey_handle FROM users WHERE id = $1")
        .bind(user_id)
        .fetch_one(&mut **tx)
        .await?;
    Uuid::parse_str(&handle).map_err(|_| DbError::Corrupt(format!("passkey handle {handle:?}")))
}

async fn passkeys_of_in(
    tx: &mut Transaction<'_, Any>,
    user_id: i64,
) -> Result<Vec<Passkey>, DbError> {
    let stored: Vec<String> =
        sqlx::query_scalar("SELECT credential FROM passkeys WHERE user_id = $1")
            .bind(user_id)
            .fetch_all(&mut **tx)
            .await?;
    stored.iter().map(|text| loaded(text)).collect()
}

async fn store_ceremony_in(
    tx: &mut Transaction<'_, Any>,
    purpose: &str,
    user_id: Option<i64>,
    state: &impl serde::Serialize,
    options: &impl serde::Serialize,
    ip: &str,
    now: DateTime<Utc>,
) -> Result<Ceremony, DbError> {
    let id = crate::secrets::random_hex(32);
    sqlx::query(
        "INSERT INTO passkey_ceremonies (token_hash, purpose, user_id, state, ip, expires_at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(crate::secrets::digest_hex(&id))
    .bind(purpose)
    .bind(user_id)
    .bind(stored(state)?)
    .bind(ip)
    .bind(timestamp_text(now + Duration::seconds(CEREMONY_SECONDS)))
    .execute(&mut **tx)
    .await?;
    Ok(Ceremony {
        id,
        options_json: stored(options)?,
    })
}

/// Takes a ceremony's state and uses the ceremony up (of two answers racing, one gets it).
async fn claim_ceremony_in<T: serde::de::DeserializeOwned>(
    tx: &mut Transaction<'_, Any>,
    ceremony_id: &str,
    purpose: &str,
    user_id: Option<i64>,
    now: DateTime<Utc>,
) -> Result<T, PasskeyError> {
    let state: String = sqlx::query_scalar(
        "DELETE FROM passkey_ceremonies \
         WHERE token_hash = $1 AND purpose = $2 AND expires_at > $3 \
           AND COALESCE(user_id, 0) = $4 \
         RETURNING state",
    )
    .bind(crate::secrets::digest_hex(ceremony_id))
    .bind(purpose)
    .bind(timestamp_text(now))
    .bind(user_id.unwrap_or(0))
    .fetch_optional(&mut **tx)
    .await?
    .ok_or(PasskeyError::CeremonyExpired)?;
    Ok(loaded(&state)?)
}

fn stored(value: &impl serde::Serialize) -> Result<String, DbError> {
    serde_json::to_string(value).map_err(|e| DbError::Corrupt(format!("passkey state: {e}")))
}

fn loaded<T: serde::de::DeserializeOwned>(text: &str) -> Result<T, DbError> {
    serde_json::from_str(text).map_err(|e| DbError::Corrupt(format!("passkey state: {e}")))
}

#[cfg(all(test, feature = "test-support"))]
mod tests;
