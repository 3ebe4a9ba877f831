//! Getting access and changing it: invitations, password resets, password changes, contact roles
//! and revocation. Links are single-use, expire, and only their SHA-256 is stored.

use chrono::{Duration, Utc};
use sha2::{Digest, Sha256};
use sqlx::{Any, Row, Transaction};

use super::store::{hash_matches, open_session, revoke_in};
use super::{Caller, ContactSummary};
use crate::audit;
use crate::db::{Db, DbError, timestamp_text};
use crate::outbox::store::{Message, queue};
use crate::users::store::{CreateUserError, create_user, hash_password};
use crate::users::{Email, NewPassword, Role, UserError};

/// An invitation link works this long.
pub const INVITATION_DAYS: i64 = 7;
/// A password-reset link works this long.
pub const RESET_MINUTES: i64 = 60;
/// Reset links issued per account per hour; more requests are answered the same but send nothing.
const RESETS_PER_HOUR: i64 = 3;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkPurpose {
    Invitation,
    PasswordReset,
}

impl LinkPurpose {
    fn as_str(self) -> &'static str {
        match self {
            LinkPurpose::Invitation => "invitation",
            LinkPurpose::PasswordReset => "password_reset",
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum AccessError {
    #[error("only AR staff can do that")]
    StaffOnly,
    #[error("only an AR manager can do that")]
    ManagerOnly,
    #[error("there is no such customer")]
    UnknownCustomer,
    #[error("there is no such user")]
    UnknownUser,
    #[error("a customer contact is a viewer or a payer")]
    NotAContactRole,
    #[error("staff roles are clerk or manager")]
    NotAStaffRole,
    #[error("you cannot change your own access")]
    OwnAccess,
    #[error(
        "this link does not work any more: it was already used, it expired, or it is incomplete"
    )]
    InvalidLink,
    #[error("a name has at most 120 characters and no control characters")]
    DisplayName,
    #[error("the current password is wrong")]
    WrongPassword,
    #[error(transparent)]
    Invalid(#[from] UserError),
    #[error(transparent)]
    CreateUser(#[from] CreateUserError),
    #[error(transparent)]
    Db(#[from] DbError),
}

impl From<sqlx::Error> for AccessError {
    fn from(e: sqlx::Error) -> Self {
        AccessError::Db(DbError::Query(e))
    }
}

/// Where links point: `{base}/accept-invitation?token=…` and `{base}/reset-password?token=…`.
pub struct LinkBase<'a>(pub &'a str);

impl LinkBase<'_> {
    fn url(&self, purpose: LinkPurpose, secret: &str) -> String {
        let page = match purpose {
            LinkPurpose::Invitation => "accept-invitation",
            LinkPurpose::PasswordReset => "reset-password",
        };
        format!("{}/{page}?token={secret}", self.0.trim_end_matches('/'))
    }
}

fn hash_secret(secret: &str) -> String {
    crate::secrets::hex(&Sha256::digest(secret.trim().as_bytes()))
}

/// Stores a new link for a user and returns its URL.
async fn issue_link(
    tx: &mut Transaction<'_, Any>,
    user_id: i64,
    purpose: LinkPurpose,
    created_by: Option<i64>,
    base: &LinkBase<'_>,
) -> Result<String, DbError> {
    let secret = crate::secrets::random_hex(32);
    let now = Utc::now();
    let lifetime = match purpose {
        LinkPurpose::Invitation => Duration::days(INVITATION_DAYS),
        LinkPurpose::PasswordReset => Duration::minutes(RESET_MINUTES),
    };
    sqlx::query(
        "INSERT INTO access_links (token_hash, user_id, purpose, created_at, expires_at, created_by) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(hash_secret(&secret))
    .bind(user_id)
    .bind(purpose.as_str())
    .bind(timestamp_text(now))
    .bind(timestamp_text(now + lifetime))
    .bind(created_by)
    .execute(&mut **tx)
    .await?;
    Ok(base.url(purpose, &secret))
}

/// Ends every unused link of a user: once a password is set or access ends, older invitation
/// and reset links must not work.
async fn expire_links(tx: &mut Transaction<'_, Any>, user_id: i64) -> Result<(), DbError> {
    sqlx::query("UPDATE access_links SET used_at = $1 WHERE user_id = $2 AND used_at IS NULL")
        .bind(timestamp_text(Utc::now()))
        .bind(user_id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// What an invitation created: the new contact and the queued message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invited {
    pub user_id: i64,
    pub outbox_id: i64,
}

/// Staff invite a contact to a customer account: the contact is created without a password and
/// an invitation link is queued in the outbox.
pub async fn invite_contact(
    db: &Db,
    actor: &Caller,
    customer_id: i64,
    email: &str,
    display_name: &str,
    role: Role,
    base: &LinkBase<'_>,
) -> Result<Invited, AccessError> {
    if !actor.is_staff() {
        return Err(AccessError::StaffOnly);
    }
    if role.is_staff() {
        return Err(AccessError::NotAContactRole);
    }
    let email = Email::parse(email)?;
    let display_name = display_name.trim();
    if display_name.chars().count() > 120 || display_name.chars().any(char::is_control) {
        return Err(AccessError::DisplayName);
    }
    let display_name = if display_name.is_empty() {
        email.as_str().split('@').next().unwrap_or_default()
    } else {
        display_name
    };
    let mut tx = db.begin_write().await?;
    let customer = sqlx::query("SELECT name FROM customers WHERE id = $1")
        .bind(customer_id)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or(AccessError::UnknownCustomer)?;
    let customer_name: String = customer.try_get(0)?;
    let user_id = create_user(&mut tx, &email, display_name, role, Some(customer_id), None).await?;
    let url = issue_link(
        &mut tx,
        user_id,
        LinkPurpose::Invitation,
        Some(actor.user_id),
        base,
    )
    .await?;
    let body = format!(
        "Hello {display_name},\n\n{} invited you to see and pay {customer_name}'s account in \
         Ledgerport as a {}.\n\nSet your password here (the link works once, for {INVITATION_DAYS} \
         days):\n{url}\n",
        actor.display_name,
        role.as_str()
    );
    let outbox_id = queue(
        &mut *tx,
        &Message {
            recipient: email.as_str(),
            subject: "Your invitation to the Ledgerport payment portal",
            body: &body,
            kind: "invitation",
        },
    )
    .await?;
    audit::record(
        &mut *tx,
        Some(actor.user_id),
        &actor.email,
        "invitation_sent",
        &format!("user {user_id} ({email}) at customer {customer_id}"),
        role.as_str(),
        "",
    )
    .await?;
    tx.commit().await?;
    Ok(Invited { user_id, outbox_id })
}

/// Anyone may ask for a reset link; the answer is the same whether or not the account exists.
/// Returns the queued message id when one was sent, for tests and the development log.
pub async fn request_password_reset(
    db: &Db,
    email: &str,
    ip: &str,
    base: &LinkBase<'_>,
) -> Result<Option<i64>, AccessError> {
    let Ok(email) = Email::parse(email) else {
        return Ok(None);
    };
    let mut tx = db.begin_write().await?;
    let user =
        sqlx::query("SELECT id, display_name FROM users WHERE email = $1 AND disabled_at IS NULL")
            .bind(email.as_str())
            .fetch_optional(&mut *tx)
            .await?;
    let Some(user) = user else {
        return Ok(None);
    };
    let user_id: i64 = user.try_get("id")?;
    let display_name: String = user.try_get("display_name")?;
    let recent: i64 = sqlx::query(
        "SELECT count(*) FROM access_links WHERE user_id = $1 AND purpose = 'password_reset' \
         AND created_at > $2",
    )
    .bind(user_id)
    .bind(timestamp_text(Utc::now() - Duration::hours(1)))
    .fetch_one(&mut *tx)
    .await?
    .try_get(0)?;
    if recent >= RESETS_PER_HOUR {
        return Ok(None);
    }
    let url = issue_link(&mut tx, user_id, LinkPurpose::PasswordReset, None, base).await?;
    let body = format!(
        "Hello {display_name},\n\nSomeone asked to reset your Ledgerport password. If it was you, \
         choose a new one here (the link works once, for {RESET_MINUTES} minutes):\n{url}\n\n\
         If it was not you, ignore this message; your password stays as it is.\n"
    );
    let outbox_id = queue(
        &mut *tx,
        &Message {
            recipient: email.as_str(),
            subject: "Reset your Ledgerport password",
            body: &body,
            kind: "password_reset",
        },
    )
    .await?;
    audit::record(
        &mut *tx,
        Some(user_id),
        email.as_str(),
        "password_reset_requested",
        "",
        "",
        ip,
    )
    .await?;
    tx.commit().await?;
    Ok(Some(outbox_id))
}

/// Redeems an invitation or reset link: sets the password, ends every other session of the user
/// and signs them in. A link works once and only before it expires.
pub async fn redeem_link(
    db: &Db,
    purpose: LinkPurpose,
    secret: &str,
    password: &str,
    ip: &str,
) -> Result<Caller, AccessError> {
    let password = NewPassword::parse(password)?;
    let now = Utc::now();
    let token_hash = hash_secret(secret);
    // Only a live link earns the (deliberately slow) password hashing.
    let live = sqlx::query(
        "SELECT 1 FROM access_links \
         WHERE token_hash = $1 AND purpose = $2 AND used_at IS NULL AND expires_at > $3",
    )
    .bind(&token_hash)
    .bind(purpose.as_str())
    .bind(timestamp_text(now))
    .fetch_optional(db.pool())
    .await?;
    if live.is_none() {
        return Err(AccessError::InvalidLink);
    }
    let hash = hash_password(&password)?;
    let mut tx = db.begin_write().await?;
    // The conditional update is the single-use check: of two concurrent redemptions one wins.
    let link = sqlx::query(
        "UPDATE access_links SET used_at = $1 \
         WHERE token_hash = $2 AND purpose = $3 AND used_at IS NULL AND expires_at > $1 \
         RETURNING user_id",
    )
    .bind(timestamp_text(now))
    .bind(&token_hash)
    .bind(purpose.as_str())
    .fetch_optional(&mut *tx)
    .await?
    .ok_or(AccessError::InvalidLink)?;
    let user_id: i64 = link.try_get(0)?;
    let changed =
        sqlx::query("UPDATE users SET password_hash = $1 WHERE id = $2 AND disabled_at IS NULL")
            .bind(&hash)
            .bind(user_id)
            .execute(&mut *tx)
            .await?;
    if changed.rows_affected() != 1 {
        return Err(AccessError::InvalidLink);
    }
    revoke_in(&mut tx, user_id, None).await?;
    expire_links(&mut tx, user_id).await?;
    let caller = open_session(&mut tx, user_id, ip, now).await?;
    let action = match purpose {
        LinkPurpose::Invitation => "invitation_accepted",
        LinkPurpose::PasswordReset => "password_reset",
    };
    audit::record(&mut *tx, Some(user_id), &caller.email, action, "", "", ip).await?;
    tx.commit().await?;
    Ok(caller)
}

/// A signed-in user changes their password; every other session of theirs ends.
pub async fn change_password(
    db: &Db,
    caller: &Caller,
    current: &str,
    new: &str,
    ip: &str,
) -> Result<(), AccessError> {
    let stored: Option<String> = sqlx::query("SELECT password_hash FROM users WHERE id = $1")
        .bind(caller.user_id)
        .fetch_one(db.pool())
        .await?
        .try_get(0)?;
    if !stored.is_some_and(|hash| hash_matches(&hash, current)) {
        return Err(AccessError::WrongPassword);
    }
    let hash = hash_password(&NewPassword::parse(new)?)?;
    let mut tx = db.begin_write().await?;
    sqlx::query("UPDATE users SET password_hash = $1 WHERE id = $2")
        .bind(&hash)
        .bind(caller.user_id)
        .execute(&mut *tx)
        .await?;
    revoke_in(&mut tx, caller.user_id, Some(&caller.session_id)).await?;
    expire_links(&mut tx, caller.user_id).await?;
    audit::record(
        &mut *tx,
        Some(caller.user_id),
        &caller.email,
        "password_changed",
        "",
        "",
        ip,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// The contacts of one customer account, for staff.
pub async fn contacts(
    db: &Db,
    actor: &Caller,
    customer_id: i64,
) -> Result<Vec<ContactSummary>, AccessError> {
    if !actor.is_staff() {
        return Err(AccessError::StaffOnly);
    }
    let rows = sqlx::query(
        "SELECT id, email, display_name, role, \
                CASE WHEN password_hash IS NULL THEN 0 ELSE 1 END AS active, \
                CASE WHEN disabled_at IS NULL THEN 0 ELSE 1 END AS disabled \
         FROM users WHERE customer_id = $1 ORDER BY display_name, id",
    )
    .bind(customer_id)
    .fetch_all(db.pool())
    .await?;
    rows.iter()
        .map(|row| {
            let role: String = row.try_get("role")?;
            Ok(ContactSummary {
                user_id: row.try_get("id")?,
                email: row.try_get("email")?,
                display_name: row.try_get("display_name")?,
                role: role.parse()?,
                accepted: row.try_get::<i64, _>("active")? != 0,
                disabled: row.try_get::<i64, _>("disabled")? != 0,
            })
        })
        .collect()
}

/// A manager changes a user's role within its kind (contact roles for contacts, staff roles for
/// staff). The user's sessions end so the new role applies at once.
pub async fn change_role(
    db: &Db,
    actor: &Caller,
    user_id: i64,
    role: Role,
) -> Result<(), AccessError> {
    if actor.role != Role::Manager {
        return Err(AccessError::ManagerOnly);
    }
    if actor.user_id == user_id {
        return Err(AccessError::OwnAccess);
    }
    let mut tx = db.begin_write().await?;
    let before: String = sqlx::query("SELECT role FROM users WHERE id = $1")
        .bind(user_id)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or(AccessError::UnknownUser)?
        .try_get(0)?;
    let before: Role = before.parse()?;
    match (before.is_staff(), role.is_staff()) {
        (false, true) => return Err(AccessError::NotAContactRole),
        (true, false) => return Err(AccessError::NotAStaffRole),
        _ => {}
    }
    sqlx::query("UPDATE users SET role = $1 WHERE id = $2")
        .bind(role.as_str())
        .bind(user_id)
        .execute(&mut *tx)
        .await?;
    revoke_in(&mut tx, user_id, None).await?;
    audit::record(
        &mut *tx,
        Some(actor.user_id),
        &actor.email,
        "role_changed",
        &format!("user {user_id}"),
        &format!("{} -> {}", before.as_str(), role.as_str()),
        "",
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// A manager ends a user's access: the account is disabled and every session ends now.
pub async fn revoke_access(
    db: &Db,
    actor: &Caller,
    user_id: i64,
    reason: &str,
) -> Result<(), AccessError> {
    if actor.role != Role::Manager {
        return Err(AccessError::ManagerOnly);
    }
    if actor.user_id == user_id {
        return Err(AccessError::OwnAccess);
    }
    let mut tx = db.begin_write().await?;
    let disabled =
        sqlx::query("UPDATE users SET disabled_at = $1 WHERE id = $2 AND disabled_at IS NULL")
            .bind(timestamp_text(Utc::now()))
            .bind(user_id)
            .execute(&mut *tx)
            .await?;
    if disabled.rows_affected() == 0 {
        let exists = sqlx::query("SELECT 1 FROM users WHERE id = $1")
            .bind(user_id)
            .fetch_optional(&mut *tx)
            .await?;
        if exists.is_none() {
            return Err(AccessError::UnknownUser);
        }
    }
    revoke_in(&mut tx, user_id, None).await?;
    expire_links(&mut tx, user_id).await?;
    audit::record(
        &mut *tx,
        Some(actor.user_id),
        &actor.email,
        "access_revoked",
        &format!("user {user_id}"),
        reason,
        "",
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

#[cfg(all(test, feature = "test-support"))]
mod tests {
    use super::*;
    use crate::auth::store::{resolve_session, sign_in};
    use crate::outbox::store::message;
    use crate::seed::{DEMO_LOGINS, seed_demo};
    use crate::testing::fresh_db;

    const BASE: LinkBase<'static> = LinkBase("http://127.0.0.1:3000");

    async fn demo(db: &Db, index: usize) -> Caller {
        seed_if_needed(db).await;
        let login = &DEMO_LOGINS[index];
        sign_in(db, login.email, login.password, "127.0.0.1")
            .await
            .unwrap()
    }

    async fn seed_if_needed(db: &Db) {
        if crate::seed::is_empty(db).await.unwrap() {
            seed_demo(db).await.unwrap();
        }
    }

    /// The secret of the link in a queued message, as the recipient would click it.
    async fn link_secret(db: &Db, outbox_id: i64) -> String {
        let body = message(db, outbox_id).await.unwrap().unwrap().body;
        let start = body.find("token=").unwrap() + "token=".len();
        body[start..].split_whitespace().next().unwrap().to_string()
    }

    async fn audit_actions(db: &Db) -> Vec<String> {
        sqlx::query("SELECT action FROM audit_log ORDER BY id")
            .fetch_all(db.pool())
            .await
            .unwrap()
            .iter()
            .map(|r| r.get(0))
            .collect()
    }

    async fn invite(db: &Db, email: &str) -> Invited {
        let clerk = demo(db, 2).await;
        let payer = demo(db, 0).await;
        invite_contact(
            db,
            &clerk,
            payer.customer_id.unwrap(),
            email,
            "Robin",
            Role::Payer,
            &BASE,
        )
        .await
        .unwrap()
    }

    #[tokio::test]
    async fn an_invitation_link_sets_the_password_once_and_is_refused_when_reused() {
        let db = fresh_db().await;
        let invited = invite(&db, "robin@acme.example").await;
        let queued = message(&db, invited.outbox_id).await.unwrap().unwrap();
        assert_eq!(queued.recipient, "robin@acme.example");
        assert!(
            queued
                .body
                .contains("http://127.0.0.1:3000/accept-invitation?token=")
        );
        let secret = link_secret(&db, invited.outbox_id).await;
        // Only the hash is stored.
        let stored: i64 = sqlx::query("SELECT count(*) FROM access_links WHERE token_hash = $1")
            .bind(&secret)
            .fetch_one(db.pool())
            .await
            .unwrap()
            .get(0);
        assert_eq!(stored, 0);

        let caller = redeem_link(
            &db,
            LinkPurpose::Invitation,
            &secret,
            "robin-pays-bills",
            "127.0.0.1",
        )
        .await
        .unwrap();
        assert_eq!(caller.user_id, invited.user_id);
        assert_eq!(caller.role, Role::Payer);
        assert!(
            sign_in(&db, "robin@acme.example", "robin-pays-bills", "127.0.0.1")
                .await
                .is_ok()
        );

        let again = redeem_link(
            &db,
            LinkPurpose::Invitation,
            &secret,
            "another-password",
            "127.0.0.1",
        )
        .await
        .unwrap_err();
        assert!(matches!(again, AccessError::InvalidLink), "{again}");
        assert!(
            sign_in(&db, "robin@acme.example", "another-password", "127.0.0.1")
                .await
                .is_err()
        );
        let actions = audit_actions(&db).await;
        assert!(actions.contains(&"invitation_sent".to_string()));
        assert!(actions.contains(&"invitation_accepted".to_string()));
    }

    #[tokio::test]
    async fn an_expired_invitation_link_is_refused_and_sets_no_password() {
        let db = fresh_db().await;
        let invited = invite(&db, "late@acme.example").await;
        let secret = link_secret(&db, invited.outbox_id).await;
        sqlx::query("UPDATE access_links SET expires_at = $1")
            .bind(timestamp_text(Utc::now() - Duration::minutes(1)))
            .execute(db.pool())
            .await
            .unwrap();
        let refused = redeem_link(
            &db,
            LinkPurpose::Invitation,
            &secret,
            "late-but-keen",
            "127.0.0.1",
        )
        .await
        .unwrap_err();
        assert!(matches!(refused, AccessError::InvalidLink), "{refused}");
        let hash: Option<String> = sqlx::query("SELECT password_hash FROM users WHERE id = $1")
            .bind(invited.user_id)
            .fetch_one(db.pool())
            .await
            .unwrap()
            .get(0);
        assert_eq!(hash, None);
    }

    #[tokio::test]
    async fn an_invitation_link_cannot_be_used_to_reset_a_password() {
        let db = fresh_db().await;
        let invited = invite(&db, "robin@acme.example").await;
        let secret = link_secret(&db, invited.outbox_id).await;
        let refused = redeem_link(
            &db,
            LinkPurpose::PasswordReset,
            &secret,
            "robin-pays-bills",
            "",
        )
        .await
        .unwrap_err();
        assert!(matches!(refused, AccessError::InvalidLink), "{refused}");
    }

    #[tokio::test]
    async fn a_password_reset_ends_every_session_and_the_old_password() {
        let db = fresh_db().await;
        let before = demo(&db, 0).await;
        let login = &DEMO_LOGINS[0];
        let outbox_id = request_password_reset(&db, login.email, "127.0.0.1", &BASE)
            .await
            .unwrap()
            .unwrap();
        let secret = link_secret(&db, outbox_id).await;
        let after = redeem_link(
            &db,
            LinkPurpose::PasswordReset,
            &secret,
            "a-brand-new-secret",
            "127.0.0.1",
        )
        .await
        .unwrap();
        assert_eq!(
            resolve_session(&db, &before.session_id, before.user_id)
                .await
                .unwrap(),
            None
        );
        assert!(
            resolve_session(&db, &after.session_id, after.user_id)
                .await
                .unwrap()
                .is_some()
        );
        assert!(
            sign_in(&db, login.email, login.password, "127.0.0.1")
                .await
                .is_err()
        );
        assert!(
            sign_in(&db, login.email, "a-brand-new-secret", "127.0.0.1")
                .await
                .is_ok()
        );
    }

    #[tokio::test]
    async fn a_reset_for_an_unknown_email_sends_nothing_and_repeated_requests_are_capped() {
        let db = fresh_db().await;
        seed_if_needed(&db).await;
        assert_eq!(
            request_password_reset(&db, "nobody@example.com", "", &BASE)
                .await
                .unwrap(),
            None
        );
        assert_eq!(
            request_password_reset(&db, "not an email", "", &BASE)
                .await
                .unwrap(),
            None
        );
        let login = &DEMO_LOGINS[1];
        for _ in 0..RESETS_PER_HOUR {
            assert!(
                request_password_reset(&db, login.email, "", &BASE)
                    .await
                    .unwrap()
                    .is_some()
            );
        }
        assert_eq!(
            request_password_reset(&db, login.email, "", &BASE)
                .await
                .unwrap(),
            None
        );
    }

    #[tokio::test]
    async fn changing_the_password_needs_the_current_one_and_ends_the_other_sessions() {
        let db = fresh_db().await;
        let here = demo(&db, 0).await;
        let elsewhere = demo(&db, 0).await;
        let wrong = change_password(&db, &here, "not-it", "a-brand-new-secret", "")
            .await
            .unwrap_err();
        assert!(matches!(wrong, AccessError::WrongPassword), "{wrong}");
        let weak = change_password(&db, &here, DEMO_LOGINS[0].password, "password", "")
            .await
            .unwrap_err();
        assert!(
            matches!(weak, AccessError::Invalid(UserError::PasswordTooCommon)),
            "{weak}"
        );
        change_password(
            &db,
            &here,
            DEMO_LOGINS[0].password,
            "a-brand-new-secret",
            "",
        )
        .await
        .unwrap();
        assert!(
            resolve_session(&db, &here.session_id, here.user_id)
                .await
                .unwrap()
                .is_some()
        );
        assert_eq!(
            resolve_session(&db, &elsewhere.session_id, elsewhere.user_id)
                .await
                .unwrap(),
            None
        );
    }

    #[tokio::test]
    async fn only_staff_invite_and_only_managers_change_roles_or_revoke() {
        let db = fresh_db().await;
        let payer = demo(&db, 0).await;
        let viewer = demo(&db, 1).await;
        let clerk = demo(&db, 2).await;
        let customer = payer.customer_id.unwrap();
        let by_payer = invite_contact(
            &db,
            &payer,
            customer,
            "x@acme.example",
            "",
            Role::Payer,
            &BASE,
        )
        .await;
        assert!(matches!(by_payer, Err(AccessError::StaffOnly)));
        let staff_invite = invite_contact(
            &db,
            &clerk,
            customer,
            "x@acme.example",
            "",
            Role::Manager,
            &BASE,
        )
        .await;
        assert!(matches!(staff_invite, Err(AccessError::NotAContactRole)));
        assert!(matches!(
            change_role(&db, &clerk, viewer.user_id, Role::Payer).await,
            Err(AccessError::ManagerOnly)
        ));
        assert!(matches!(
            revoke_access(&db, &clerk, viewer.user_id, "").await,
            Err(AccessError::ManagerOnly)
        ));
        assert!(matches!(
            contacts(&db, &payer, customer).await,
            Err(AccessError::StaffOnly)
        ));
        assert_eq!(contacts(&db, &clerk, customer).await.unwrap().len(), 2);
    }

    #[tokio::test]
    async fn a_role_change_applies_at_once_and_is_audited() {
        let db = fresh_db().await;
        let viewer = demo(&db, 1).await;
        let manager = demo(&db, 3).await;
        let to_staff = change_role(&db, &manager, viewer.user_id, Role::Clerk).await;
        assert!(
            matches!(to_staff, Err(AccessError::NotAContactRole)),
            "{to_staff:?}"
        );
        change_role(&db, &manager, viewer.user_id, Role::Payer)
            .await
            .unwrap();
        assert_eq!(
            resolve_session(&db, &viewer.session_id, viewer.user_id)
                .await
                .unwrap(),
            None
        );
        let again = sign_in(&db, DEMO_LOGINS[1].email, DEMO_LOGINS[1].password, "")
            .await
            .unwrap();
        assert_eq!(again.role, Role::Payer);
        let detail: String =
            sqlx::query("SELECT detail FROM audit_log WHERE action = 'role_changed'")
                .fetch_one(db.pool())
                .await
                .unwrap()
                .get(0);
        assert_eq!(detail, "viewer -> payer");
    }

    #[tokio::test]
    async fn revoking_access_ends_the_sessions_and_blocks_sign_in() {
        let db = fresh_db().await;
        let payer = demo(&db, 0).await;
        let manager = demo(&db, 3).await;
        revoke_access(&db, &manager, payer.user_id, "left the company")
            .await
            .unwrap();
        assert_eq!(
            resolve_session(&db, &payer.session_id, payer.user_id)
                .await
                .unwrap(),
            None
        );
        assert!(
            sign_in(&db, DEMO_LOGINS[0].email, DEMO_LOGINS[0].password, "")
                .await
                .is_err()
        );
        assert!(matches!(
            revoke_access(&db, &manager, manager.user_id, "").await,
            Err(AccessError::OwnAccess)
        ));
        assert!(
            audit_actions(&db)
                .await
                .contains(&"access_revoked".to_string())
        );
    }
}
