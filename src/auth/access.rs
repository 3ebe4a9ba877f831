//! Getting access and changing it: invitations, password resets, password changes, contact roles
//! and revocation. Links are single-use, expire, and only their SHA-256 is stored.

use chrono::{Duration, Utc};
use sqlx::{Any, Row, Transaction};

use super::store::{SignedIn, hash_matches, revoke_in, session_or_code};
use super::{Caller, ContactSummary};
use crate::audit;
use crate::db::{Db, DbError, timestamp_text};
use crate::locale::{Explain, Locale};
use crate::outbox::store::{Message, queue};
use crate::tr;
use crate::users::store::{CreateUserError, create_user, hash_password};
use crate::users::{Email, NewPassword, Role, UserError};

/// An invitation link works this long.
pub const INVITATION_DAYS: i64 = 7;
/// A password-reset link works this long.
pub const RESET_MINUTES: i64 = 60;
/// An emailed sign-in link works this long.
pub const SIGN_IN_LINK_MINUTES: i64 = 15;
/// Reset (or sign-in) links issued per account per hour; more requests are answered the same
/// but send nothing.
const LINKS_PER_HOUR: i64 = 3;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkPurpose {
    Invitation,
    PasswordReset,
    /// Sign-in by an emailed one-time link, instead of the password.
    SignIn,
}

impl LinkPurpose {
    fn as_str(self) -> &'static str {
        match self {
            LinkPurpose::Invitation => "invitation",
            LinkPurpose::PasswordReset => "password_reset",
            LinkPurpose::SignIn => "sign_in",
        }
    }

    fn lifetime(self) -> Duration {
        match self {
            LinkPurpose::Invitation => Duration::days(INVITATION_DAYS),
            LinkPurpose::PasswordReset => Duration::minutes(RESET_MINUTES),
            LinkPurpose::SignIn => Duration::minutes(SIGN_IN_LINK_MINUTES),
        }
    }

    /// The page a link of this purpose opens.
    fn page(self) -> &'static str {
        match self {
            LinkPurpose::Invitation => "accept-invitation",
            LinkPurpose::PasswordReset => "reset-password",
            LinkPurpose::SignIn => "sign-in/link",
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum AccessError {
    #[error("{}", self.explain(Locale::En))]
    StaffOnly,
    #[error("{}", self.explain(Locale::En))]
    ManagerOnly,
    #[error("{}", self.explain(Locale::En))]
    UnknownCustomer,
    #[error("{}", self.explain(Locale::En))]
    UnknownUser,
    #[error("{}", self.explain(Locale::En))]
    NotAContactRole,
    #[error("{}", self.explain(Locale::En))]
    NotAStaffRole,
    #[error("{}", self.explain(Locale::En))]
    OwnAccess,
    #[error("{}", self.explain(Locale::En))]
    InvalidLink,
    #[error("{}", self.explain(Locale::En))]
    DisplayName,
    #[error("{}", self.explain(Locale::En))]
    WrongPassword,
    #[error(transparent)]
    Invalid(#[from] UserError),
    #[error(transparent)]
    CreateUser(#[from] CreateUserError),
    #[error(transparent)]
    Db(#[from] DbError),
}

impl Explain for AccessError {
    fn explain(&self, locale: Locale) -> String {
        let text = match self {
            AccessError::StaffOnly => {
                locale.pick("only AR staff can do that", "das kann nur unser Team")
            }
            AccessError::ManagerOnly => {
                locale.pick(
                    "only an AR manager can do that",
                    "das kann nur die Leitung unseres Teams",
                )
            }
            AccessError::UnknownCustomer => {
                locale.pick("there is no such customer", "diesen Kunden gibt es nicht")
            }
            AccessError::UnknownUser => {
                locale.pick("there is no such user", "diesen Benutzer gibt es nicht")
            }
            AccessError::NotAContactRole => locale.pick(
                "a customer contact is a viewer or a payer",
                "ein Kundenkontakt kann nur lesen oder auch zahlen",
            ),
            AccessError::NotAStaffRole => locale.pick(
                "staff roles are clerk or manager",
                "Mitarbeiterrollen sind Sachbearbeiter oder Leiter",
            ),
            AccessError::OwnAccess => locale.pick(
                "you cannot change your own access",
                "Sie können Ihren eigenen Zugang nicht ändern",
            ),
            AccessError::InvalidLink => locale.pick(
                "this link does not work any more: it was already used, it expired, or it is incomplete",
                "dieser Link funktioniert nicht mehr: er wurde schon verwendet, ist abgelaufen oder unvollständig",
            ),
            AccessError::DisplayName => locale.pick(
                "a name has at most 120 characters and no control characters",
                "ein Name hat höchstens 120 Zeichen und keine Steuerzeichen",
            ),
            AccessError::WrongPassword => locale.pick(
                "the current password is wrong",
                "das bisherige Passwort ist falsch",
            ),
            AccessError::Invalid(e) => return e.explain(locale),
            AccessError::CreateUser(e) => return e.to_string(),
            AccessError::Db(e) => return e.to_string(),
        };
        text.into()
    }
}

crate::from_sqlx_error!(AccessError);

/// Where links point: `{base}/accept-invitation?token=…`, `{base}/reset-password?token=…` and
/// `{base}/sign-in/link?token=…`.
pub struct LinkBase<'a>(pub &'a str);

impl LinkBase<'_> {
    fn url(&self, purpose: LinkPurpose, secret: &str) -> String {
        format!(
            "{}/{}?token={secret}",
            self.0.trim_end_matches('/'),
            purpose.page()
        )
    }
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
    sqlx::query(
        "INSERT INTO access_links (token_hash, user_id, purpose, created_at, expires_at, created_by) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(crate::secrets::digest_hex(&secret))
    .bind(user_id)
    .bind(purpose.as_str())
    .bind(timestamp_text(now))
    .bind(timestamp_text(now + purpose.lifetime()))
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
    // A new contact has no language of their own yet (it is set at their first sign-in, from
    // their browser): their stored one is asked all the same, so the rule stays the one every
    // email follows.
    let locale = crate::users::store::locale_of(&mut *tx, email.as_str()).await?;
    let role_name = match (role, locale) {
        (Role::Viewer, Locale::De) => "Leser",
        (Role::Payer, Locale::De) => "Zahler",
        _ => role.as_str(),
    };
    let subject = tr!(locale, "invitation.subject");
    let body = tr!(
        locale,
        "invitation.body",
        name = display_name,
        inviter = actor.display_name,
        customer = customer_name,
        role = role_name,
        days = INVITATION_DAYS,
        url = url
    );
    let outbox_id = queue(
        &mut *tx,
        &Message {
            recipient: email.as_str(),
            subject: &subject,
            body: &body,
            kind: "invitation",
        },
    )
    .await?
    .ok_or_else(|| DbError::Corrupt("an invitation was not queued".into()))?;
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

/// The links anyone may ask to be emailed: a password reset, or a one-time sign-in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EmailedLink {
    PasswordReset,
    SignIn,
}

/// Anyone may ask for a reset or sign-in link; the answer is the same whether or not the account
/// exists. Sign-in links go only to people who accepted their invitation (the invitation link is
/// how a new contact starts). Returns the queued message id when one was sent, for tests and the
/// development log.
pub async fn request_link(
    db: &Db,
    link: EmailedLink,
    email: &str,
    ip: &str,
    base: &LinkBase<'_>,
) -> Result<Option<i64>, AccessError> {
    let purpose = match link {
        EmailedLink::PasswordReset => LinkPurpose::PasswordReset,
        EmailedLink::SignIn => LinkPurpose::SignIn,
    };
    mail_link(db, purpose, email, ip, base).await
}

async fn mail_link(
    db: &Db,
    purpose: LinkPurpose,
    email: &str,
    ip: &str,
    base: &LinkBase<'_>,
) -> Result<Option<i64>, AccessError> {
    let Ok(email) = Email::parse(email) else {
        return Ok(None);
    };
    let mut tx = db.begin_write().await?;
    let user = sqlx::query(
        "SELECT id, display_name, locale, \
         CASE WHEN password_hash IS NULL THEN 0 ELSE 1 END AS accepted \
         FROM users WHERE email = $1 AND disabled_at IS NULL",
    )
    .bind(email.as_str())
    .fetch_optional(&mut *tx)
    .await?;
    let Some(user) = user else {
        return Ok(None);
    };
    let user_id: i64 = user.try_get("id")?;
    let display_name: String = user.try_get("display_name")?;
    let locale = Locale::parse(&user.try_get::<String, _>("locale")?).unwrap_or_default();
    if purpose == LinkPurpose::SignIn && user.try_get::<i64, _>("accepted")? == 0 {
        return Ok(None);
    }
    let recent: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM access_links WHERE user_id = $1 AND purpose = $2 \
         AND created_at > $3",
    )
    .bind(user_id)
    .bind(purpose.as_str())
    .bind(timestamp_text(Utc::now() - Duration::hours(1)))
    .fetch_one(&mut *tx)
    .await?;
    if recent >= LINKS_PER_HOUR {
        return Ok(None);
    }
    let url = issue_link(&mut tx, user_id, purpose, None, base).await?;
    let (subject, body, action) = match purpose {
        LinkPurpose::SignIn => (
            tr!(locale, "sign_in_link.subject"),
            tr!(
                locale,
                "sign_in_link.body",
                name = display_name,
                minutes = SIGN_IN_LINK_MINUTES,
                url = url
            ),
            "sign_in_link_requested",
        ),
        _ => (
            tr!(locale, "password_reset.subject"),
            tr!(
                locale,
                "password_reset.body",
                name = display_name,
                minutes = RESET_MINUTES,
                url = url
            ),
            "password_reset_requested",
        ),
    };
    let outbox_id = queue(
        &mut *tx,
        &Message {
            recipient: email.as_str(),
            subject: &subject,
            body: &body,
            kind: purpose.as_str(),
        },
    )
    .await?
    .ok_or_else(|| DbError::Corrupt("a sign-in link was not queued".into()))?;
    audit::record(&mut *tx, Some(user_id), email.as_str(), action, "", "", ip).await?;
    tx.commit().await?;
    Ok(Some(outbox_id))
}

/// Uses up a live link of `purpose` (the conditional update is the single-use check: of two
/// concurrent redemptions one wins) and returns its user.
async fn claim_link(
    tx: &mut Transaction<'_, Any>,
    purpose: LinkPurpose,
    token_hash: &str,
    now: chrono::DateTime<Utc>,
) -> Result<i64, AccessError> {
    let link = sqlx::query(
        "UPDATE access_links SET used_at = $1 \
         WHERE token_hash = $2 AND purpose = $3 AND used_at IS NULL AND expires_at > $1 \
         RETURNING user_id",
    )
    .bind(timestamp_text(now))
    .bind(token_hash)
    .bind(purpose.as_str())
    .fetch_optional(&mut **tx)
    .await?
    .ok_or(AccessError::InvalidLink)?;
    Ok(link.try_get(0)?)
}

/// Redeems an invitation or reset link: sets the password, ends every other session of the user
/// and signs them in (or asks for their code, with two-factor sign-in). A link works once and
/// only before it expires.
pub async fn redeem_link(
    db: &Db,
    purpose: LinkPurpose,
    secret: &str,
    password: &str,
    ip: &str,
) -> Result<SignedIn, AccessError> {
    let password = NewPassword::parse(password)?;
    let now = Utc::now();
    let token_hash = crate::secrets::digest_hex(secret);
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
    let user_id = claim_link(&mut tx, purpose, &token_hash, now).await?;
    let changed = sqlx::query(
        "UPDATE users SET password_hash = $1 WHERE id = $2 AND disabled_at IS NULL \
         RETURNING email",
    )
    .bind(&hash)
    .bind(user_id)
    .fetch_optional(&mut *tx)
    .await?
    .ok_or(AccessError::InvalidLink)?;
    let email: String = changed.try_get(0)?;
    revoke_in(&mut tx, user_id, None).await?;
    expire_links(&mut tx, user_id).await?;
    let action = match purpose {
        LinkPurpose::Invitation => "invitation_accepted",
        _ => "password_reset",
    };
    audit::record(&mut *tx, Some(user_id), &email, action, "", "", ip).await?;
    let signed_in = session_or_code(&mut tx, user_id, &email, action, ip, now).await?;
    tx.commit().await?;
    Ok(signed_in)
}

/// Redeems an emailed sign-in link: signs the user in (or asks for their code, with two-factor
/// sign-in). Works once, for `SIGN_IN_LINK_MINUTES`, and only for an enabled user.
pub async fn redeem_sign_in_link(db: &Db, secret: &str, ip: &str) -> Result<SignedIn, AccessError> {
    let now = Utc::now();
    let mut tx = db.begin_write().await?;
    let user_id = claim_link(
        &mut tx,
        LinkPurpose::SignIn,
        &crate::secrets::digest_hex(secret),
        now,
    )
    .await?;
    let email: String =
        sqlx::query_scalar("SELECT email FROM users WHERE id = $1 AND disabled_at IS NULL")
            .bind(user_id)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or(AccessError::InvalidLink)?;
    let signed_in = session_or_code(&mut tx, user_id, &email, "sign_in_link", ip, now).await?;
    tx.commit().await?;
    Ok(signed_in)
}

/// A signed-in user changes their password; every other session of theirs ends.
pub async fn change_password(
    db: &Db,
    caller: &Caller,
    current: &str,
    new: &str,
    ip: &str,
) -> Result<(), AccessError> {
    let stored: Option<String> =
        sqlx::query_scalar("SELECT password_hash FROM users WHERE id = $1")
            .bind(caller.user_id)
            .fetch_one(db.pool())
            .await?;
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
        "SELECT u.id, u.email, u.display_name, u.role, \
                CASE WHEN u.password_hash IS NULL THEN 0 ELSE 1 END AS active, \
                CASE WHEN u.disabled_at IS NULL THEN 0 ELSE 1 END AS disabled, \
                CASE WHEN t.confirmed_at IS NULL \
                      AND NOT EXISTS (SELECT 1 FROM passkeys p WHERE p.user_id = u.id) \
                     THEN 0 ELSE 1 END AS two_factor \
         FROM users u LEFT JOIN totp_factors t ON t.user_id = u.id \
         WHERE u.customer_id = $1 ORDER BY u.display_name, u.id",
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
                two_factor: row.try_get::<i64, _>("two_factor")? != 0,
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
    if actor.role != Role::Manager || !actor.is_staff() {
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
    if actor.role != Role::Manager || !actor.is_staff() {
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
mod tests;
