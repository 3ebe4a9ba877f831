//! Changing where customers send their money: the attack this stops is one person (or one
//! stolen manager session) quietly replacing the company's bank account. So a change needs two
//! managers (one proposes, another approves), every payer contact billed in the currency is told
//! when it is approved, and customers see it only after a configured wait, during which any
//! manager can still withdraw it. Every step is audited in its transaction, and the notices
//! name no account: they send people to the portal, the only place bank details appear.

use chrono::{DateTime, Duration, Utc};
use sqlx::{Any, Row, Transaction};

use super::store::{ACCOUNT_COLUMNS, account_from_row, insert_version, receiving_account_at};
use super::{AccountDetails, AccountVersion, ChangeStatus, ReceivingAccount};
use crate::auth::Caller;
use crate::db::{Db, DbError, Engine, now_text, timestamp_text};
use crate::locale::Locale;
use crate::money::Currency;
use crate::outbox::store::queue_to_each;
use crate::tr;

#[derive(Debug, thiserror::Error)]
pub enum BankChangeError {
    #[error("only an AR manager can change the company's bank accounts")]
    ManagerOnly,
    #[error(
        "a change to the {0} account is already waiting; approve or withdraw it before proposing another"
    )]
    AlreadyWaiting(Currency),
    #[error("a second manager must approve this change: you proposed it")]
    OwnProposal,
    #[error("this change is no longer waiting for approval")]
    NotAwaitingApproval,
    #[error(
        "you became an AR manager after this change was proposed: a manager from before it must approve it"
    )]
    ManagerSinceProposal,
    #[error("this change can no longer be withdrawn: it is in effect, or was withdrawn")]
    NotWithdrawable,
    #[error("there is no such change")]
    NotFound,
    #[error(transparent)]
    Db(#[from] DbError),
}

crate::from_sqlx_error!(BankChangeError);

/// Where a change's links and notices point, and whom customers ask.
pub struct Notices<'a> {
    /// The portal's address (PUBLIC_BASE_URL).
    pub portal: &'a str,
    /// The company profile's contact for billing questions; may be empty.
    pub billing_contact: &'a str,
}

/// One change of the bank accounts at a time. SQLite's write transaction already excludes every
/// other writer; on PostgreSQL this lock makes "is a change already waiting?" and the insert or
/// update that follows one step, so two managers cannot both start (or approve) a change at once.
pub(crate) async fn one_change_at_a_time(
    tx: &mut Transaction<'_, Any>,
    engine: Engine,
) -> Result<(), DbError> {
    if engine == Engine::Postgres {
        sqlx::query("LOCK TABLE bank_account_changes IN SHARE ROW EXCLUSIVE MODE")
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}

fn require_manager(actor: &Caller) -> Result<(), BankChangeError> {
    if actor.is_manager() {
        Ok(())
    } else {
        Err(BankChangeError::ManagerOnly)
    }
}

/// A manager proposes a new receiving account for a currency. Nothing changes for customers
/// until a second manager approves it and the wait has passed; every manager is told at once.
pub async fn propose(
    db: &Db,
    actor: &Caller,
    account: &ReceivingAccount,
    notices: &Notices<'_>,
    ip: &str,
) -> Result<i64, BankChangeError> {
    require_manager(actor)?;
    let now = Utc::now();
    let mut tx = db.begin_write().await?;
    one_change_at_a_time(&mut tx, db.engine()).await?;
    let waiting: Option<i64> = sqlx::query_scalar(
        "SELECT id FROM bank_account_changes WHERE currency = $1 AND withdrawn_at IS NULL \
         AND (effective_at IS NULL OR effective_at > $2) LIMIT 1",
    )
    .bind(account.currency.code())
    .bind(timestamp_text(now))
    .fetch_optional(&mut *tx)
    .await?;
    if waiting.is_some() {
        return Err(BankChangeError::AlreadyWaiting(account.currency));
    }
    let id = insert_version(&mut tx, account, Some(actor.user_id), &timestamp_text(now)).await?;
    audit(
        &mut tx,
        actor,
        "bank_account_change_proposed",
        id,
        &account.summary(),
        ip,
    )
    .await?;
    let body = format!(
        "{} proposed a new bank account for {} payments ({}).\n\nIt changes nothing until \
         another AR manager approves it. Review it, approve it or withdraw it at \
         {}/admin/bank-accounts. If you did not expect this change, withdraw it.\n",
        actor.email,
        account.currency,
        masked(account),
        notices.portal
    );
    let managers = manager_emails(&mut tx).await?;
    let subject = format!("Bank account change proposed for {}", account.currency);
    queue_to_each(&mut tx, &managers, &subject, &body, "bank_account_change").await?;
    tx.commit().await?;
    Ok(id)
}

/// A second manager approves a waiting change: customers see the new account from `now + wait`,
/// and every payer contact billed in the currency (and every manager) is told now. Returns when
/// it takes effect.
pub async fn approve(
    db: &Db,
    actor: &Caller,
    id: i64,
    wait: Duration,
    notices: &Notices<'_>,
    ip: &str,
) -> Result<DateTime<Utc>, BankChangeError> {
    require_manager(actor)?;
    let now = Utc::now();
    let effective_at = now + wait;
    let mut tx = db.begin_write().await?;
    one_change_at_a_time(&mut tx, db.engine()).await?;
    let (account, proposed_by) = version(&mut tx, id).await?;
    if became_manager_since_proposal(&mut tx, actor.user_id, id).await? {
        return Err(BankChangeError::ManagerSinceProposal);
    }
    let first_account = receiving_account_at(&mut *tx, account.currency, &timestamp_text(now))
        .await?
        .is_none();
    if proposed_by == Some(actor.user_id) {
        return Err(BankChangeError::OwnProposal);
    }
    // Conditional, so of two managers approving at once one wins, and a withdrawn change stays so.
    let approved = sqlx::query(
        "UPDATE bank_account_changes SET approved_by = $1, approved_at = $2, effective_at = $3 \
         WHERE id = $4 AND approved_at IS NULL AND withdrawn_at IS NULL AND proposed_by <> $1",
    )
    .bind(actor.user_id)
    .bind(timestamp_text(now))
    .bind(timestamp_text(effective_at))
    .bind(id)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if approved != 1 {
        return Err(BankChangeError::NotAwaitingApproval);
    }
    let when = shown_time(effective_at);
    audit(
        &mut tx,
        actor,
        "bank_account_change_approved",
        id,
        &format!("{}; customers see it from {when}", account.summary()),
        ip,
    )
    .await?;
    let write = |locale: Locale| {
        let when = match locale {
            Locale::En => when.clone(),
            Locale::De => locale.date_time(effective_at.fixed_offset()),
        };
        let ask = match notices.billing_contact {
            "" => locale.pick("us", "uns"),
            contact => contact,
        };
        let currency = account.currency;
        let (subject, what) = if first_account {
            (
                tr!(locale, "bank_change.first.subject", currency = currency),
                tr!(
                    locale,
                    "bank_change.first.what",
                    when = when,
                    currency = currency
                ),
            )
        } else {
            (
                tr!(locale, "bank_change.changes.subject", currency = currency),
                tr!(
                    locale,
                    "bank_change.changes.what",
                    when = when,
                    currency = currency
                ),
            )
        };
        let body = tr!(
            locale,
            "bank_change.body",
            what = what,
            portal = notices.portal,
            ask = ask
        );
        (subject, body)
    };
    tell_payers(&mut tx, account.currency, &write).await?;
    // The managers read what the payers read, in English.
    let (subject, body) = write(Locale::En);
    let managers = manager_emails(&mut tx).await?;
    queue_to_each(&mut tx, &managers, &subject, &body, "bank_account_change").await?;
    tx.commit().await?;
    Ok(effective_at)
}

/// Any manager withdraws a change that is waiting for approval or for its time; if payers were
/// already told of it, they are told it is off.
pub async fn withdraw(
    db: &Db,
    actor: &Caller,
    id: i64,
    notices: &Notices<'_>,
    ip: &str,
) -> Result<(), BankChangeError> {
    require_manager(actor)?;
    let now = timestamp_text(Utc::now());
    let mut tx = db.begin_write().await?;
    one_change_at_a_time(&mut tx, db.engine()).await?;
    let (account, _) = version(&mut tx, id).await?;
    let was_approved: Option<Option<String>> = sqlx::query_scalar(
        "UPDATE bank_account_changes SET withdrawn_by = $1, withdrawn_at = $2 \
         WHERE id = $3 AND withdrawn_at IS NULL AND proposed_by IS NOT NULL \
         AND (effective_at IS NULL OR effective_at > $2) RETURNING approved_at",
    )
    .bind(actor.user_id)
    .bind(&now)
    .bind(id)
    .fetch_optional(&mut *tx)
    .await?;
    let Some(approved_at) = was_approved else {
        return Err(BankChangeError::NotWithdrawable);
    };
    audit(
        &mut tx,
        actor,
        "bank_account_change_withdrawn",
        id,
        &account.summary(),
        ip,
    )
    .await?;
    let write = |locale: Locale| {
        let subject = tr!(
            locale,
            "bank_change.withdrawn.subject",
            currency = account.currency
        );
        let body = tr!(
            locale,
            "bank_change.withdrawn.body",
            currency = account.currency,
            who = actor.email,
            portal = notices.portal
        );
        (subject, body)
    };
    if approved_at.is_some() {
        tell_payers(&mut tx, account.currency, &write).await?;
    }
    let (subject, body) = write(Locale::En);
    let managers = manager_emails(&mut tx).await?;
    queue_to_each(&mut tx, &managers, &subject, &body, "bank_account_change").await?;
    tx.commit().await?;
    Ok(())
}

/// Every version of every receiving account, newest first (at most `limit`), with where each
/// stands at `at`.
pub async fn versions(
    db: &Db,
    at: DateTime<Utc>,
    limit: i64,
) -> Result<Vec<AccountVersion>, DbError> {
    let at = timestamp_text(at);
    let rows = sqlx::query(&format!(
        "SELECT b.id, {columns}, p.email AS proposer, b.proposed_at, a.email AS approver, \
                b.effective_at, w.email AS withdrawer, b.withdrawn_at, \
                (SELECT MAX(n.id) FROM bank_account_changes n WHERE n.currency = b.currency \
                 AND n.withdrawn_at IS NULL AND n.effective_at = \
                   (SELECT MAX(m.effective_at) FROM bank_account_changes m \
                    WHERE m.currency = b.currency AND m.withdrawn_at IS NULL \
                    AND m.effective_at <= $1)) AS current_id \
         FROM bank_account_changes b LEFT JOIN users p ON p.id = b.proposed_by \
         LEFT JOIN users a ON a.id = b.approved_by LEFT JOIN users w ON w.id = b.withdrawn_by \
         ORDER BY b.id DESC LIMIT $2",
        columns = ACCOUNT_COLUMNS
            .split(", ")
            .map(|c| format!("b.{c}"))
            .collect::<Vec<_>>()
            .join(", ")
    ))
    .bind(&at)
    .bind(limit)
    .fetch_all(db.pool())
    .await?;
    rows.iter()
        .map(|row| {
            let id: i64 = row.try_get("id")?;
            let effective_at: Option<String> = row.try_get("effective_at")?;
            let withdrawn_at: Option<String> = row.try_get("withdrawn_at")?;
            let status = match (&withdrawn_at, &effective_at) {
                (Some(_), _) => ChangeStatus::Withdrawn,
                (None, None) => ChangeStatus::AwaitingApproval,
                (None, Some(effective)) if *effective > at => ChangeStatus::Scheduled,
                _ if row.try_get::<Option<i64>, _>("current_id")? == Some(id) => {
                    ChangeStatus::InEffect
                }
                _ => ChangeStatus::Replaced,
            };
            Ok(AccountVersion {
                id,
                account: account_from_row(row)?,
                status,
                proposed_by: row.try_get("proposer")?,
                proposed_at: row.try_get("proposed_at")?,
                approved_by: row.try_get("approver")?,
                effective_at,
                withdrawn_by: row.try_get("withdrawer")?,
                withdrawn_at,
            })
        })
        .collect()
}

/// Whether `user_id` was made a manager (created as one, or promoted) after change `id` was
/// proposed. Otherwise one manager could promote an accomplice to approve their own change; the
/// role change's audit row is written in its transaction, so the log is a reliable record.
async fn became_manager_since_proposal(
    tx: &mut Transaction<'_, Any>,
    user_id: i64,
    id: i64,
) -> Result<bool, DbError> {
    let since: Option<i64> = sqlx::query_scalar(
        "SELECT 1 FROM bank_account_changes b, users u WHERE b.id = $1 AND u.id = $2 \
         AND (u.created_at >= b.proposed_at OR EXISTS (SELECT 1 FROM audit_log a \
           WHERE a.action = 'role_changed' AND a.subject = $3 AND a.detail = 'clerk -> manager' \
           AND a.at >= b.proposed_at))",
    )
    .bind(id)
    .bind(user_id)
    .bind(format!("user {user_id}"))
    .fetch_optional(&mut **tx)
    .await?;
    Ok(since.is_some())
}

/// A version's account and proposer, or [`BankChangeError::NotFound`].
async fn version(
    tx: &mut Transaction<'_, Any>,
    id: i64,
) -> Result<(ReceivingAccount, Option<i64>), BankChangeError> {
    let row = sqlx::query(&format!(
        "SELECT {ACCOUNT_COLUMNS}, proposed_by FROM bank_account_changes WHERE id = $1"
    ))
    .bind(id)
    .fetch_optional(&mut **tx)
    .await?
    .ok_or(BankChangeError::NotFound)?;
    Ok((account_from_row(&row)?, row.try_get("proposed_by")?))
}

async fn audit(
    tx: &mut Transaction<'_, Any>,
    actor: &Caller,
    action: &str,
    id: i64,
    detail: &str,
    ip: &str,
) -> Result<(), DbError> {
    crate::audit::record(
        &mut **tx,
        Some(actor.user_id),
        &actor.email,
        action,
        &format!("bank account change {id}"),
        detail,
        ip,
    )
    .await
}

async fn manager_emails(tx: &mut Transaction<'_, Any>) -> Result<Vec<String>, DbError> {
    Ok(sqlx::query_scalar(
        "SELECT email FROM users WHERE role = 'manager' AND disabled_at IS NULL ORDER BY id",
    )
    .fetch_all(&mut **tx)
    .await?)
}

/// Queues the notice to everyone who pays into the account: every payer contact of every account
/// billed in `currency`, and those accounts' billing contacts (accounts payable, often the ones a
/// forged letter is sent to). One statement per language, however many there are: each reads it
/// in their own (`users.locale`; English for an address that is nobody's login, or who never
/// chose), as `write(locale)` gives the subject and body.
async fn tell_payers(
    tx: &mut Transaction<'_, Any>,
    currency: Currency,
    write: impl Fn(Locale) -> (String, String),
) -> Result<(), DbError> {
    for locale in Locale::ALL {
        let (subject, body) = write(locale);
        sqlx::query(
            "INSERT INTO outbox (created_at, recipient, subject, body, kind) \
             SELECT $1, recipient, $2, $3, 'bank_account_change' FROM ( \
               SELECT u.email AS recipient FROM users u JOIN customers c ON c.id = u.customer_id \
               WHERE u.role = 'payer' AND u.disabled_at IS NULL AND c.currency = $4 \
               UNION \
               SELECT b.email FROM billing_contacts b JOIN customers c ON c.id = b.customer_id \
               WHERE c.currency = $4) payers \
             WHERE COALESCE(NULLIF((SELECT l.locale FROM users l \
               WHERE l.email = payers.recipient), ''), 'en') = $5 \
             ORDER BY recipient",
        )
        .bind(now_text())
        .bind(&subject)
        .bind(&body)
        .bind(currency.code())
        .bind(locale.code())
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

/// The account as the managers' mail names it: enough to recognise, not to pay into.
fn masked(account: &ReceivingAccount) -> String {
    let number = match &account.details {
        AccountDetails::Iban { iban, .. } => iban,
        AccountDetails::Domestic { account_number, .. } => account_number,
    };
    // Short US account numbers (from 4 digits) keep most of themselves hidden too. Both forms
    // are ASCII, so slicing by bytes is slicing by characters.
    let shown = if number.len() <= 8 { 2 } else { 4 };
    let last = &number[number.len().saturating_sub(shown)..];
    format!(
        "{}, {}, account ending {last}",
        account.holder, account.bank_name
    )
}

/// A moment as a notice and the audit log print it: `2026-12-09 17:05 UTC`.
pub fn shown_time(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%d %H:%M UTC").to_string()
}

#[cfg(all(test, feature = "test-support"))]
mod tests;
