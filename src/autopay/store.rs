//! Autopay in the database: the payer's settings (audited, announced), and the job that charges
//! what falls due. The job's claim is per account and day (`autopay.last_run_on`, updated under
//! the customer lock), and a charge's amounts are pending on its invoices from the moment its
//! checkout is recorded, so with several server instances each invoice is charged at most once
//! per attempt. The provider's signed event posts the money, as for any payment.

use chrono::{NaiveDate, Utc};
use sqlx::{Any, Row, Transaction};

use super::{
    AutopayCharge, AutopayDraft, AutopayError, AutopayRun, AutopaySettings, AutopayStatus,
    ChargeOn, ChargeResult, NextStep, PastCharge, PastChargeState, charge_day, next_step,
};
use crate::audit::Actor;
use crate::checkout::store::{
    CheckoutStoreError, NewCheckout, insert_checkout, leave_flight, review_on,
};
use crate::checkout::{
    CHECKOUT_LIFETIME_MINUTES, CheckoutError, CheckoutStatus, MAXIMUM_INVOICES, PayItem,
    PaymentProvider,
};
use crate::customers::store::contact_and_billing;
use crate::db::{Db, DbError, MaybeDay, date_text, now_text};
use crate::money::{Currency, Money};
use crate::outbox::store::{email_day, queue_in_their_language, queue_to_staff};
use crate::receivables::store::{CashError, lock_checkout_customer, lock_customer};
use crate::receivables::{DUE_NOW_SQL, ON_ACTIVE_PLAN_SQL};
use crate::saved_methods::store::chargeable;
use crate::saved_methods::{ChargeOutcome, OffSessionCharge};
use crate::tr;

#[derive(Debug, thiserror::Error)]
pub enum AutopayStoreError {
    #[error(transparent)]
    Refused(#[from] AutopayError),
    #[error("there is no such customer account")]
    UnknownCustomer,
    #[error(transparent)]
    Db(#[from] DbError),
}

crate::from_sqlx_error!(AutopayStoreError);

/// The job as the audit log names it.
const AUTOPAY: Actor<'static> = Actor {
    user_id: None,
    name: "autopay",
};

/// How many recent charges the autopay page lists.
const CHARGES_SHOWN: i64 = 10;

#[derive(sqlx::FromRow)]
struct SettingsRow {
    #[sqlx(try_from = "String")]
    status: AutopayStatus,
    payment_method_id: i64,
    #[sqlx(try_from = "String")]
    charge_on: ChargeOn,
    cap_minor: Option<i64>,
    waiting_reason: String,
    set_by: String,
    since: String,
}

#[derive(sqlx::FromRow)]
struct ChargeRow {
    checkout_id: String,
    #[sqlx(try_from = "crate::db::Day")]
    charged_on: NaiveDate,
    attempt: i64,
    amount_minor: i64,
    #[sqlx(try_from = "String")]
    outcome: ChargeResult,
    message: String,
    failure_message: String,
    #[sqlx(try_from = "String")]
    status: CheckoutStatus,
}

impl ChargeRow {
    /// What became of the charge: the provider's first answer, unless its checkout has moved
    /// on since (settled, or failed or returned days later, or expired unanswered).
    fn result(&self) -> ChargeResult {
        match (self.status, self.outcome) {
            (CheckoutStatus::Succeeded, _) => ChargeResult::Succeeded,
            (CheckoutStatus::Processing, _) => ChargeResult::Processing,
            (CheckoutStatus::Open, outcome) => outcome,
            (_, outcome @ (ChargeResult::Declined | ChargeResult::NeedsCustomer)) => outcome,
            _ => ChargeResult::Failed,
        }
    }
}

/// The account's autopay with its latest charges; `None` when it was never set.
pub async fn settings(db: &Db, customer_id: i64) -> Result<Option<AutopaySettings>, DbError> {
    let mut conn = db.pool().acquire().await?;
    let row: Option<SettingsRow> = sqlx::query_as(
        "SELECT a.status, a.payment_method_id, a.charge_on, a.cap_minor, a.waiting_reason, \
                u.email AS set_by, a.since \
         FROM autopay a JOIN users u ON u.id = a.set_by WHERE a.customer_id = $1",
    )
    .bind(customer_id)
    .fetch_optional(&mut *conn)
    .await?;
    let Some(row) = row else {
        return Ok(None);
    };
    let method = chargeable(&mut conn, customer_id, row.payment_method_id).await?;
    let charges: Vec<ChargeRow> = sqlx::query_as(
        "SELECT a.checkout_id, a.charged_on, a.attempt, k.amount_minor, a.outcome, a.message, \
                k.failure_message, k.status \
         FROM autopay_charges a JOIN checkouts k ON k.id = a.checkout_id \
         WHERE a.customer_id = $1 ORDER BY a.created_at DESC, a.attempt DESC LIMIT $2",
    )
    .bind(customer_id)
    .bind(CHARGES_SHOWN)
    .fetch_all(&mut *conn)
    .await?;
    Ok(Some(AutopaySettings {
        status: row.status,
        method_id: row.payment_method_id,
        method: method
            .as_ref()
            .map_or_else(|| "a removed method".to_string(), |m| m.name.clone()),
        method_kind: method.map_or(crate::payments::PaymentMethod::Card, |m| m.kind),
        charge_on: row.charge_on,
        cap_minor: row.cap_minor,
        waiting_reason: row.waiting_reason,
        set_by: row.set_by,
        since: row.since,
        charges: charges
            .into_iter()
            .map(|c| AutopayCharge {
                result: c.result(),
                checkout_id: c.checkout_id,
                charged_on: c.charged_on,
                attempt: u32::try_from(c.attempt).unwrap_or(u32::MAX),
                amount_minor: c.amount_minor,
                // A debit that failed after it was submitted says why on its checkout.
                // A checkout that failed later says why; otherwise the provider's first answer.
                message: if c.failure_message.is_empty() || c.status == CheckoutStatus::Open {
                    c.message
                } else {
                    c.failure_message
                },
            })
            .collect(),
    }))
}

/// A payer turns autopay on (or changes it): a new series of attempts starts, audited and
/// announced to them and the account's billing contacts.
pub async fn turn_on(
    db: &Db,
    customer_id: i64,
    draft: &AutopayDraft,
    actor: Actor<'_>,
) -> Result<(), AutopayStoreError> {
    let mut tx = db.begin_write().await?;
    let currency = match lock_customer(&mut tx, db.engine(), customer_id).await {
        Ok(currency) => currency,
        Err(CashError::Db(e)) => return Err(e.into()),
        Err(_) => return Err(AutopayStoreError::UnknownCustomer),
    };
    let choice = draft.parse(currency)?;
    let method = chargeable(&mut tx, customer_id, choice.method_id)
        .await?
        .ok_or(AutopayError::UnknownMethod)?;
    let user_id = actor.user_id.ok_or(AutopayError::UnknownMethod)?;
    sqlx::query(
        "INSERT INTO autopay (customer_id, payment_method_id, charge_on, cap_minor, status, \
         waiting_reason, set_by, since, last_run_on) VALUES ($1, $2, $3, $4, 'on', '', $5, $6, NULL) \
         ON CONFLICT (customer_id) DO UPDATE SET payment_method_id = $2, charge_on = $3, \
         cap_minor = $4, status = 'on', waiting_reason = '', set_by = $5, since = $6, \
         last_run_on = NULL",
    )
    .bind(customer_id)
    .bind(choice.method_id)
    .bind(choice.charge_on.as_str())
    .bind(choice.cap_minor)
    .bind(user_id)
    .bind(now_text())
    .execute(&mut *tx)
    .await?;
    let terms = describe(
        crate::locale::Locale::En,
        &method.name,
        choice.charge_on,
        choice.cap_minor,
        currency,
    );
    actor
        .record(
            &mut *tx,
            "autopay.on",
            &format!("customer:{customer_id}"),
            &terms,
        )
        .await?;
    let recipients = contact_and_billing(&mut tx, customer_id, actor.name).await?;
    let write = |locale: crate::locale::Locale| {
        let terms = describe(
            locale,
            &method.name,
            choice.charge_on,
            choice.cap_minor,
            currency,
        );
        (
            tr!(locale, "autopay.on.subject"),
            tr!(locale, "autopay.on.body", name = actor.name, terms = terms),
        )
    };
    queue_in_their_language(&mut tx, &recipients, "autopay", None, write).await?;
    tx.commit().await?;
    Ok(())
}

/// "Visa •••• 4242, on the due date, at most $500.00 per charge", in a language (the audit
/// log's is English).
fn describe(
    locale: crate::locale::Locale,
    method: &str,
    charge_on: ChargeOn,
    cap_minor: Option<i64>,
    currency: Currency,
) -> String {
    let cap = cap_minor.map_or_else(String::new, |cap| {
        tr!(locale, "autopay.cap", amount = locale.money(cap, currency))
    });
    format!("{method}, {}{cap}", charge_on.phrase_in(locale))
}

/// A payer turns autopay off: audited and announced. Charges already sent go their way.
pub async fn turn_off(
    db: &Db,
    customer_id: i64,
    actor: Actor<'_>,
) -> Result<(), AutopayStoreError> {
    let mut tx = db.begin_write().await?;
    let off =
        sqlx::query("UPDATE autopay SET status = 'off' WHERE customer_id = $1 AND status <> 'off'")
            .bind(customer_id)
            .execute(&mut *tx)
            .await?;
    if off.rows_affected() == 0 {
        return Err(AutopayError::NotOn.into());
    }
    actor
        .record(
            &mut *tx,
            "autopay.off",
            &format!("customer:{customer_id}"),
            "",
        )
        .await?;
    let recipients = contact_and_billing(&mut tx, customer_id, actor.name).await?;
    let write = |locale: crate::locale::Locale| {
        (
            tr!(locale, "autopay.off.subject"),
            tr!(locale, "autopay.off.body", name = actor.name),
        )
    };
    queue_in_their_language(&mut tx, &recipients, "autopay", None, write).await?;
    tx.commit().await?;
    Ok(())
}

/// Charges what is due on every account with autopay on that this day's run has not seen yet,
/// after sending again every charge the provider did not answer. An account that cannot be
/// handled is reported in [`AutopayRun::problems`] and the others are charged all the same.
pub async fn run(
    db: &Db,
    provider: &dyn PaymentProvider,
    today: NaiveDate,
    base_url: &str,
) -> Result<AutopayRun, DbError> {
    let mut summary = AutopayRun::default();
    let unanswered: Vec<(String, i64)> = sqlx::query_as(
        "SELECT a.checkout_id, a.customer_id FROM autopay_charges a \
         JOIN checkouts k ON k.id = a.checkout_id \
         WHERE a.outcome = 'unknown' AND k.status = 'open' ORDER BY a.created_at",
    )
    .fetch_all(db.pool())
    .await?;
    for (checkout_id, customer_id) in unanswered {
        if let Err(e) = resend(db, provider, &checkout_id, today, base_url, &mut summary).await {
            summary
                .problems
                .push(format!("customer {customer_id}: {e}"));
        }
    }
    let accounts: Vec<i64> = sqlx::query_scalar(
        "SELECT customer_id FROM autopay WHERE status = 'on' \
         AND (last_run_on IS NULL OR last_run_on < $1) ORDER BY customer_id",
    )
    .bind(date_text(today))
    .fetch_all(db.pool())
    .await?;
    for customer_id in accounts {
        if let Err(e) = run_account(db, provider, customer_id, today, base_url, &mut summary).await
        {
            summary
                .problems
                .push(format!("customer {customer_id}: {e}"));
        }
    }
    Ok(summary)
}

/// The claimed row of one account's autopay.
struct Claimed {
    method_id: i64,
    charge_on: ChargeOn,
    cap_minor: Option<i64>,
    set_by: i64,
    since: String,
}

/// A charge recorded and about to go (again) to the provider: what its outcome needs.
struct Charge {
    customer_id: i64,
    checkout_id: String,
    provider_customer: String,
    method: crate::saved_methods::store::ChargeableMethod,
    currency: Currency,
    amount_minor: i64,
    /// The invoices it pays: (id, number).
    invoices: Vec<(i64, String)>,
    since: String,
}

impl Charge {
    fn numbers(&self) -> String {
        self.invoices
            .iter()
            .map(|(_, number)| number.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    }
}

async fn run_account(
    db: &Db,
    provider: &dyn PaymentProvider,
    customer_id: i64,
    today: NaiveDate,
    base_url: &str,
    summary: &mut AutopayRun,
) -> Result<(), CheckoutStoreError> {
    let mut tx = db.begin_write().await?;
    let currency = lock_customer(&mut tx, db.engine(), customer_id).await?;
    let claimed = sqlx::query(
        "UPDATE autopay SET last_run_on = $1 WHERE customer_id = $2 AND status = 'on' \
         AND (last_run_on IS NULL OR last_run_on < $1) \
         RETURNING payment_method_id, charge_on, cap_minor, set_by, since",
    )
    .bind(date_text(today))
    .bind(customer_id)
    .fetch_optional(&mut *tx)
    .await?;
    let Some(row) = claimed else {
        return Ok(()); // another instance ran it today, or it was turned off meanwhile
    };
    let claimed = Claimed {
        method_id: row.try_get("payment_method_id")?,
        charge_on: ChargeOn::parse(&row.try_get::<String, _>("charge_on")?)
            .ok_or_else(|| DbError::Corrupt("autopay charge_on".into()))?,
        cap_minor: row.try_get("cap_minor")?,
        set_by: row.try_get("set_by")?,
        since: row.try_get("since")?,
    };
    let attempt = match next_step(&series(&mut tx, customer_id, &claimed.since).await?, today) {
        NextStep::Wait { .. } => return Ok(tx.commit().await?),
        NextStep::GiveUp { reason } => {
            stop(&mut tx, customer_id, &reason, base_url).await?;
            summary.stopped += 1;
            return Ok(tx.commit().await?);
        }
        NextStep::Charge { attempt } => attempt,
    };
    let Some(method) = chargeable(&mut tx, customer_id, claimed.method_id).await? else {
        stop(
            &mut tx,
            customer_id,
            "its saved method was removed",
            base_url,
        )
        .await?;
        summary.stopped += 1;
        return Ok(tx.commit().await?);
    };
    let items = chargeable_items(&mut tx, customer_id, &claimed, today).await?;
    if items.is_empty() {
        return Ok(tx.commit().await?);
    }
    let review = match review_on(&mut tx, customer_id, &items, today).await {
        Ok(review) => review,
        // Less than the smallest charge is due: nothing to charge today.
        Err(CheckoutStoreError::Refused(CheckoutError::BelowMinimum { .. })) => {
            return Ok(tx.commit().await?);
        }
        Err(CheckoutStoreError::Refused(refused)) => {
            stop(&mut tx, customer_id, &refused.to_string(), base_url).await?;
            summary.stopped += 1;
            return Ok(tx.commit().await?);
        }
        Err(other) => return Err(other),
    };
    if !review.methods.contains(&method.kind) {
        let reason = format!(
            "{} cannot be charged {} (above the card limit)",
            method.name,
            Money::from_minor(review.total_minor, currency)
        );
        stop(&mut tx, customer_id, &reason, base_url).await?;
        summary.stopped += 1;
        return Ok(tx.commit().await?);
    }
    let provider_customer = provider_customer(&mut tx, customer_id).await?;
    let checkout_id = insert_checkout(
        &mut tx,
        &NewCheckout {
            customer_id,
            user_id: claimed.set_by,
            provider: provider.name(),
            review: &review,
            status: CheckoutStatus::Open,
            methods: &[method.kind],
            method: Some(method.kind),
            expires_at: Utc::now() + chrono::Duration::minutes(CHECKOUT_LIFETIME_MINUTES),
            expected_on: None,
            reference: None,
        },
    )
    .await?;
    sqlx::query(
        "INSERT INTO autopay_charges (checkout_id, customer_id, payment_method_id, attempt, \
         charged_on, outcome, created_at) VALUES ($1, $2, $3, $4, $5, 'sent', $6)",
    )
    .bind(&checkout_id)
    .bind(customer_id)
    .bind(claimed.method_id)
    .bind(i64::from(attempt))
    .bind(date_text(today))
    .bind(now_text())
    .execute(&mut *tx)
    .await?;
    let charge = Charge {
        customer_id,
        checkout_id,
        provider_customer,
        method,
        currency,
        amount_minor: review.total_minor,
        invoices: review
            .lines
            .iter()
            .map(|l| (l.invoice_id, l.number.clone()))
            .collect(),
        since: claimed.since,
    };
    AUTOPAY
        .record(
            &mut *tx,
            "autopay.charge",
            &format!("customer:{customer_id}"),
            &format!(
                "checkout {}: {} from {} for {} (attempt {attempt})",
                charge.checkout_id,
                Money::from_minor(charge.amount_minor, currency),
                charge.method.name,
                charge.numbers()
            ),
        )
        .await?;
    tx.commit().await?;
    summary.charged += 1;
    send(db, provider, &charge, today, base_url, summary).await
}

async fn provider_customer(
    tx: &mut Transaction<'_, Any>,
    customer_id: i64,
) -> Result<String, DbError> {
    let known: Option<String> =
        sqlx::query_scalar("SELECT provider_customer FROM customers WHERE id = $1")
            .bind(customer_id)
            .fetch_one(&mut **tx)
            .await?;
    known.ok_or_else(|| {
        DbError::Corrupt(format!(
            "customer {customer_id} has a saved method but no customer at the provider"
        ))
    })
}

/// Sends a charge the provider did not answer again, under the same checkout (so the same
/// idempotency key: the provider answers what it did the first time, or charges now).
async fn resend(
    db: &Db,
    provider: &dyn PaymentProvider,
    checkout_id: &str,
    today: NaiveDate,
    base_url: &str,
    summary: &mut AutopayRun,
) -> Result<(), CheckoutStoreError> {
    let mut tx = db.begin_write().await?;
    let Some((customer_id, _)) = lock_checkout_customer(&mut tx, db.engine(), checkout_id).await?
    else {
        return Ok(());
    };
    let row = sqlx::query(
        "SELECT a.payment_method_id, k.currency, k.amount_minor, k.allocations, k.status, \
                p.since \
         FROM autopay_charges a JOIN checkouts k ON k.id = a.checkout_id \
         JOIN autopay p ON p.customer_id = a.customer_id WHERE a.checkout_id = $1",
    )
    .bind(checkout_id)
    .fetch_one(&mut *tx)
    .await?;
    if row.try_get::<String, _>("status")? != CheckoutStatus::Open.as_str() {
        return Ok(()); // its event arrived meanwhile
    }
    let method_id: i64 = row.try_get("payment_method_id")?;
    let Some(method) = chargeable(&mut tx, customer_id, method_id).await? else {
        return Ok(()); // removed: the checkout expires without a charge
    };
    let allocations: String = row.try_get("allocations")?;
    let mut invoices = Vec::new();
    for item in PayItem::parse_list(&allocations)
        .ok_or_else(|| DbError::Corrupt(format!("checkout allocations {allocations:?}")))?
    {
        let number: String = sqlx::query_scalar("SELECT number FROM invoices WHERE id = $1")
            .bind(item.invoice_id)
            .fetch_one(&mut *tx)
            .await?;
        invoices.push((item.invoice_id, number));
    }
    let charge = Charge {
        customer_id,
        checkout_id: checkout_id.to_string(),
        provider_customer: provider_customer(&mut tx, customer_id).await?,
        method,
        currency: crate::db::currency(&row.try_get::<String, _>("currency")?)?,
        amount_minor: row.try_get("amount_minor")?,
        invoices,
        since: row.try_get("since")?,
    };
    tx.commit().await?;
    send(db, provider, &charge, today, base_url, summary).await
}

/// Asks the provider for the charge and records what it answered, telling the payer (and AR)
/// what they need to know.
async fn send(
    db: &Db,
    provider: &dyn PaymentProvider,
    charge: &Charge,
    today: NaiveDate,
    base_url: &str,
    summary: &mut AutopayRun,
) -> Result<(), CheckoutStoreError> {
    let answer = provider
        .charge_saved(OffSessionCharge {
            checkout_id: &charge.checkout_id,
            provider_customer: &charge.provider_customer,
            provider_method: &charge.method.provider_method,
            kind: charge.method.kind,
            currency: charge.currency,
            amount_minor: charge.amount_minor,
            description: format!("Autopay: invoices {}", charge.numbers()),
        })
        .await;
    let checkout_id = charge.checkout_id.as_str();
    let mut tx = db.begin_write().await?;
    lock_checkout_customer(&mut tx, db.engine(), checkout_id).await?;
    let outcome = match answer {
        Ok(outcome) => outcome,
        Err(error) => {
            // It may or may not have reached the provider: the checkout keeps holding its
            // invoices while the provider remembers the key (24 hours), and the next run sends
            // it again under that key; its event settles it if it went through.
            set_result(
                &mut tx,
                checkout_id,
                ChargeResult::Unknown,
                "",
                &error.to_string(),
            )
            .await?;
            keep_open_until(
                &mut tx,
                checkout_id,
                &crate::db::timestamp_text(Utc::now() + chrono::Duration::hours(23)),
            )
            .await?;
            tx.commit().await?;
            return Ok(());
        }
    };
    match &outcome {
        ChargeOutcome::Succeeded | ChargeOutcome::Processing => {
            let result = if outcome == ChargeOutcome::Succeeded {
                ChargeResult::Succeeded
            } else {
                ChargeResult::Processing
            };
            set_result(&mut tx, checkout_id, result, "", "").await?;
            // Accepted: only the provider's event closes it now, however late it comes.
            keep_open_until(&mut tx, checkout_id, "").await?;
        }
        ChargeOutcome::Declined { code, message } => {
            summary.declined += 1;
            set_result(&mut tx, checkout_id, ChargeResult::Declined, code, message).await?;
            leave_flight(&mut tx, checkout_id, CheckoutStatus::Failed, message).await?;
            match next_step(
                &series(&mut tx, charge.customer_id, &charge.since).await?,
                today,
            ) {
                NextStep::GiveUp { reason } => {
                    stop(&mut tx, charge.customer_id, &reason, base_url).await?;
                    summary.stopped += 1;
                }
                step => {
                    let retry_on = match step {
                        NextStep::Wait { until: Some(day) } => Some(day),
                        _ => None,
                    };
                    tell_payer(&mut tx, charge.customer_id, |locale| {
                        let amount = locale.money(charge.amount_minor, charge.currency);
                        let retry = retry_on.map_or_else(String::new, |day| {
                            tr!(locale, "autopay.retry", date = email_day(locale, day))
                        });
                        let body = tr!(
                            locale,
                            "autopay.declined.body",
                            amount = amount,
                            method = charge.method.name,
                            invoices = charge.numbers(),
                            message = message,
                            retry = retry,
                            base = base_url
                        );
                        (
                            tr!(locale, "autopay.declined.subject", amount = amount),
                            body,
                        )
                    })
                    .await?;
                }
            }
        }
        ChargeOutcome::NeedsCustomer { message } => {
            summary.needs_customer += 1;
            set_result(
                &mut tx,
                checkout_id,
                ChargeResult::NeedsCustomer,
                "",
                message,
            )
            .await?;
            leave_flight(&mut tx, checkout_id, CheckoutStatus::Failed, message).await?;
            let invoices: Vec<String> = charge
                .invoices
                .iter()
                .map(|(id, _)| format!("invoice={id}"))
                .collect();
            let link = format!("{base_url}/pay?{}", invoices.join("&"));
            tell_payer(&mut tx, charge.customer_id, |locale| {
                let amount = locale.money(charge.amount_minor, charge.currency);
                let body = tr!(
                    locale,
                    "autopay.confirm.body",
                    amount = amount,
                    method = charge.method.name,
                    invoices = charge.numbers(),
                    link = link
                );
                (
                    tr!(locale, "autopay.confirm.subject", amount = amount),
                    body,
                )
            })
            .await?;
            stop(
                &mut tx,
                charge.customer_id,
                "your bank asked you to confirm a charge",
                base_url,
            )
            .await?;
            summary.stopped += 1;
        }
    }
    tx.commit().await?;
    Ok(())
}

/// Sets when an open autopay checkout stops holding its invoices ('' : never by itself).
async fn keep_open_until(
    tx: &mut Transaction<'_, Any>,
    checkout_id: &str,
    expires_at: &str,
) -> Result<(), DbError> {
    sqlx::query("UPDATE checkouts SET expires_at = $1 WHERE id = $2 AND status = 'open'")
        .bind(expires_at)
        .bind(checkout_id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// The provider's event said why an autopay charge failed after it was accepted (a bank
/// debit's return code): kept on the charge, where the retry rule reads it. Inside the event's
/// transaction; a checkout autopay did not make changes nothing.
pub async fn failure_code_in(
    tx: &mut Transaction<'_, Any>,
    checkout_id: &str,
    code: &str,
) -> Result<(), DbError> {
    sqlx::query(
        "UPDATE autopay_charges SET decline_code = $1 WHERE checkout_id = $2 AND decline_code = ''",
    )
    .bind(code)
    .bind(checkout_id)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// The invoices autopay charges today: something due now (disputed and in-flight amounts are
/// not), their charge day reached, oldest first, whole invoices up to the cap; an active
/// payment plan's instalments whose day has come go first.
async fn chargeable_items(
    tx: &mut Transaction<'_, Any>,
    customer_id: i64,
    claimed: &Claimed,
    today: NaiveDate,
) -> Result<Vec<PayItem>, DbError> {
    #[derive(sqlx::FromRow)]
    struct Due {
        id: i64,
        #[sqlx(try_from = "crate::db::Day")]
        due_date: NaiveDate,
        #[sqlx(try_from = "MaybeDay")]
        discount_until: Option<NaiveDate>,
        due_minor: i64,
    }
    let due: Vec<Due> = sqlx::query_as(&format!(
        "SELECT i.id, i.due_date, i.discount_until, {DUE_NOW_SQL} AS due_minor FROM invoices i \
         WHERE i.customer_id = $1 AND i.voided_at IS NULL AND {DUE_NOW_SQL} > 0 \
         AND NOT {ON_ACTIVE_PLAN_SQL} ORDER BY i.due_date, i.id"
    ))
    .bind(customer_id)
    .fetch_all(&mut **tx)
    .await?;
    // An active payment plan's invoices are charged by its instalments, on their days.
    let plan_items = crate::plans::store::active_plan(tx, customer_id, today)
        .await?
        .map(|plan| plan.due_now_items())
        .unwrap_or_default();
    let invoice_items = due.into_iter().filter_map(|invoice| {
        (charge_day(
            invoice.due_date,
            invoice.discount_until,
            claimed.charge_on,
            today,
        ) <= today)
            .then_some((invoice.id, invoice.due_minor))
    });
    let mut total = 0;
    let mut items = Vec::new();
    for (invoice_id, amount_minor) in plan_items.into_iter().chain(invoice_items) {
        if claimed
            .cap_minor
            .is_some_and(|cap| total + amount_minor > cap)
        {
            continue;
        }
        total += amount_minor;
        items.push(PayItem {
            invoice_id,
            amount_minor,
        });
        if items.len() == MAXIMUM_INVOICES {
            break;
        }
    }
    Ok(items)
}

/// The charges of the current series (since autopay was last set), oldest first, each with
/// what its checkout says now.
async fn series(
    tx: &mut Transaction<'_, Any>,
    customer_id: i64,
    since: &str,
) -> Result<Vec<PastCharge>, DbError> {
    let rows = sqlx::query(
        "SELECT a.attempt, a.charged_on, a.outcome, a.decline_code, k.status, k.method \
         FROM autopay_charges a JOIN checkouts k ON k.id = a.checkout_id \
         WHERE a.customer_id = $1 AND a.created_at >= $2 ORDER BY a.created_at, a.attempt",
    )
    .bind(customer_id)
    .bind(since)
    .fetch_all(&mut **tx)
    .await?;
    rows.iter()
        .map(|row| {
            let status: String = row.try_get("status")?;
            let outcome: String = row.try_get("outcome")?;
            let state = match CheckoutStatus::parse(&status) {
                Some(CheckoutStatus::Succeeded) => PastChargeState::Paid,
                Some(s) if s.in_flight() => PastChargeState::InFlight,
                _ if outcome == ChargeResult::NeedsCustomer.as_str() => {
                    PastChargeState::NeedsCustomer
                }
                _ => PastChargeState::Failed {
                    code: row.try_get("decline_code")?,
                },
            };
            let method: Option<String> = row.try_get("method")?;
            Ok(PastCharge {
                attempt: u32::try_from(row.try_get::<i64, _>("attempt")?).unwrap_or(u32::MAX),
                charged_on: crate::db::parse_date(&row.try_get::<String, _>("charged_on")?)?,
                bank_debit: method
                    .as_deref()
                    .and_then(crate::payments::PaymentMethod::parse)
                    .is_some_and(crate::payments::PaymentMethod::is_bank_debit),
                state,
            })
        })
        .collect()
}

async fn set_result(
    tx: &mut Transaction<'_, Any>,
    checkout_id: &str,
    result: ChargeResult,
    code: &str,
    message: &str,
) -> Result<(), DbError> {
    sqlx::query(
        "UPDATE autopay_charges SET outcome = $1, decline_code = $2, message = $3 \
         WHERE checkout_id = $4",
    )
    .bind(result.as_str())
    .bind(code)
    .bind(message)
    .bind(checkout_id)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Autopay stops and waits for the payer: audited, the payer (and billing contacts) and AR told
/// once (the status change is the claim).
async fn stop(
    tx: &mut Transaction<'_, Any>,
    customer_id: i64,
    reason: &str,
    base_url: &str,
) -> Result<(), DbError> {
    let stopped = sqlx::query(
        "UPDATE autopay SET status = 'waiting', waiting_reason = $1 \
         WHERE customer_id = $2 AND status = 'on'",
    )
    .bind(reason)
    .bind(customer_id)
    .execute(&mut **tx)
    .await?;
    if stopped.rows_affected() == 0 {
        return Ok(());
    }
    AUTOPAY
        .record(
            &mut **tx,
            "autopay.waiting",
            &format!("customer:{customer_id}"),
            reason,
        )
        .await?;
    tell_payer(tx, customer_id, |locale| {
        (
            tr!(locale, "autopay.stopped.subject"),
            tr!(
                locale,
                "autopay.stopped.body",
                reason = reason,
                base = base_url
            ),
        )
    })
    .await?;
    let name = crate::customers::store::name_in(tx, customer_id).await?;
    queue_to_staff(
        tx,
        &format!("Autopay stopped: {name}"),
        &format!("Autopay stopped for {name}: {reason}. What falls due is no longer charged automatically.\n"),
        "autopay",
    )
    .await
}

/// Mails the payer who set autopay and the account's billing contacts, each in their language:
/// `write(locale)` gives the subject and body.
async fn tell_payer(
    tx: &mut Transaction<'_, Any>,
    customer_id: i64,
    write: impl Fn(crate::locale::Locale) -> (String, String),
) -> Result<(), DbError> {
    let payer: String = sqlx::query_scalar(
        "SELECT u.email FROM autopay a JOIN users u ON u.id = a.set_by WHERE a.customer_id = $1",
    )
    .bind(customer_id)
    .fetch_one(&mut **tx)
    .await?;
    let recipients = contact_and_billing(tx, customer_id, &payer).await?;
    queue_in_their_language(tx, &recipients, "autopay", None, write).await
}

#[cfg(all(test, feature = "test-support"))]
mod tests {
    use super::*;
    use crate::checkout::ProviderError;
    use crate::payments::PaymentMethod;
    use crate::saved_methods::store::{SavedMethodStoreError, methods, remove};
    use crate::saved_methods::{ChargeOutcome, SavedMethodError};
    use crate::settlement::{Collected, settle_in};
    use crate::testing::fixtures::{self, date};
    use crate::testing::{ScriptedProvider, fresh_db};
    use crate::users::Role;

    const PAYER: &str = "payer@acme.example";
    const BASE: &str = "https://portal.example";

    struct World {
        db: Db,
        customer: i64,
        payer: i64,
        /// $1,000.00 issued 2026-10-01, due 2026-10-31.
        invoice: i64,
        method: i64,
    }

    impl World {
        async fn new() -> World {
            let db = fresh_db().await;
            let (customer, payer, invoice) =
                fixtures::payer_account(&db, "C-1", PAYER, "INV-1", "2026-10-01").await;
            fixtures::user(
                &db,
                "clerk@ar.example",
                "a long enough password",
                Role::Clerk,
                None,
            )
            .await;
            let method = fixtures::saved_card(&db, customer, payer, "pm_test_1").await;
            World {
                db,
                customer,
                payer,
                invoice,
                method,
            }
        }

        fn payer(&self) -> Actor<'static> {
            Actor {
                user_id: Some(self.payer),
                name: PAYER,
            }
        }

        async fn turn_on(&self, charge_on: &str, cap: &str) -> Result<(), AutopayStoreError> {
            let draft = AutopayDraft {
                method_id: self.method,
                charge_on: charge_on.into(),
                cap: cap.into(),
            };
            turn_on(&self.db, self.customer, &draft, self.payer()).await
        }

        async fn run(&self, provider: &ScriptedProvider, day: &str) -> AutopayRun {
            run(&self.db, provider, date(day), BASE).await.unwrap()
        }

        async fn due_now(&self, invoice: i64) -> i64 {
            sqlx::query_scalar(&format!(
                "SELECT {DUE_NOW_SQL} FROM invoices i WHERE i.id = $1"
            ))
            .bind(invoice)
            .fetch_one(self.db.pool())
            .await
            .unwrap()
        }

        async fn status(&self) -> (String, String) {
            sqlx::query_as("SELECT status, waiting_reason FROM autopay WHERE customer_id = $1")
                .bind(self.customer)
                .fetch_one(self.db.pool())
                .await
                .unwrap()
        }

        /// (recipient, subject) of every queued message, oldest first.
        async fn mail(&self) -> Vec<(String, String)> {
            sqlx::query_as("SELECT recipient, subject FROM outbox ORDER BY id")
                .fetch_all(self.db.pool())
                .await
                .unwrap()
        }

        async fn audit(&self) -> Vec<String> {
            sqlx::query_scalar("SELECT action FROM audit_log ORDER BY id")
                .fetch_all(self.db.pool())
                .await
                .unwrap()
        }

        /// The provider's event for a charge that succeeded, as the webhook posts it.
        async fn collect(&self, checkout_id: &str, amount_minor: i64, day: &str) {
            let mut tx = self.db.begin_write().await.unwrap();
            settle_in(
                &mut tx,
                self.db.engine(),
                &Collected {
                    checkout_id,
                    payment_reference: &format!("pi_{checkout_id}"),
                    method: Some(PaymentMethod::Card),
                    currency: Currency::Usd,
                    amount_minor,
                    received: date(day),
                },
            )
            .await
            .unwrap();
            tx.commit().await.unwrap();
        }
    }

    fn declined(code: &str) -> Result<ChargeOutcome, ProviderError> {
        Ok(ChargeOutcome::Declined {
            code: code.into(),
            message: "Your card was declined.".into(),
        })
    }

    #[tokio::test]
    async fn autopay_charges_each_invoice_on_its_day_once_and_waits_while_the_charge_is_on_its_way()
    {
        let w = World::new().await;
        let later = fixtures::invoice(
            &w.db,
            w.customer,
            "INV-2",
            Currency::Usd,
            "2026-11-20",
            &[(40_000, 0)],
        )
        .await;
        w.turn_on("due_date", "").await.unwrap();
        let provider = ScriptedProvider::default();

        let first = w.run(&provider, "2026-11-05").await;
        assert_eq!(first.charged, 1);
        let charges = provider.charges();
        assert_eq!(charges.len(), 1);
        assert_eq!(
            charges[0].1, 100_000,
            "only INV-1 is due; INV-2 falls due on 2026-12-20"
        );
        assert_eq!(
            w.due_now(w.invoice).await,
            0,
            "the charge holds the invoice"
        );

        // The same day again (another instance), and the next day while the charge is on its way.
        assert_eq!(w.run(&provider, "2026-11-05").await.charged, 0);
        assert_eq!(w.run(&provider, "2026-11-06").await.charged, 0);
        assert_eq!(provider.charges().len(), 1);

        w.collect(&charges[0].0, 100_000, "2026-11-05").await;
        assert_eq!(fixtures::open_minor(&w.db, w.invoice).await, 0);
        assert_eq!(w.run(&provider, "2026-12-19").await.charged, 0);
        assert_eq!(w.run(&provider, "2026-12-20").await.charged, 1);
        assert_eq!(provider.charges()[1].1, 40_000);
        assert_eq!(w.due_now(later).await, 0);

        let settings = settings(&w.db, w.customer).await.unwrap().unwrap();
        assert_eq!(settings.status, AutopayStatus::On);
        assert_eq!(settings.method, "Visa •••• 4242");
        assert_eq!(settings.charges.len(), 2);
        assert_eq!(
            settings.charges[0].attempt, 1,
            "a success starts the series over"
        );
        assert_eq!(settings.charges[1].result, ChargeResult::Succeeded);
        let audit = w.audit().await;
        assert!(audit.contains(&"autopay.on".to_string()));
        assert_eq!(audit.iter().filter(|a| *a == "autopay.charge").count(), 2);
        assert!(
            w.mail()
                .await
                .contains(&(PAYER.to_string(), "Autopay is on".to_string()))
        );
    }

    #[tokio::test]
    async fn a_disputed_amount_is_never_charged_and_an_invoice_above_the_cap_waits() {
        use crate::disputes::store::{Actor as DisputeActor, NewDispute, Scope, open_dispute};
        use crate::disputes::{DisputeReason, DisputedLine};
        let w = World::new().await;
        let line = fixtures::line_ids(&w.db, w.invoice).await[0];
        open_dispute(
            &w.db,
            &NewDispute {
                customer_id: w.customer,
                invoice_id: w.invoice,
                opened_by: DisputeActor {
                    user_id: w.payer,
                    email: PAYER,
                    scope: Scope::Customer(w.customer),
                },
                lines: vec![DisputedLine {
                    invoice_line_id: line,
                    reason: DisputeReason::Damaged,
                    amount_minor: 30_000,
                }],
                message: "Three units arrived broken.".into(),
                attachments: vec![],
            },
        )
        .await
        .unwrap();
        let provider = ScriptedProvider::default();

        w.turn_on("due_date", "500.00").await.unwrap();
        assert_eq!(w.run(&provider, "2026-11-05").await.charged, 0);
        assert!(
            provider.charges().is_empty(),
            "$700.00 due is above the cap"
        );

        // Setting it again starts a new day's run at once.
        w.turn_on("due_date", "800").await.unwrap();
        assert_eq!(w.run(&provider, "2026-11-05").await.charged, 1);
        assert_eq!(
            provider.charges()[0].1,
            70_000,
            "the disputed $300.00 is left out"
        );
    }

    #[tokio::test]
    async fn on_the_discount_day_autopay_takes_the_discount() {
        let db = fresh_db().await;
        let customer = fixtures::customer(&db, "C-2", Currency::Usd, (30, 200, 10)).await;
        let payer = fixtures::user(
            &db,
            PAYER,
            "a long enough password",
            Role::Payer,
            Some(customer),
        )
        .await;
        // $1,000.00 issued 2026-11-01: 2 % off until 2026-11-11, due 2026-12-01.
        let invoice = fixtures::invoice(
            &db,
            customer,
            "INV-9",
            Currency::Usd,
            "2026-11-01",
            &[(100_000, 0)],
        )
        .await;
        let method = fixtures::saved_card(&db, customer, payer, "pm_test_9").await;
        let draft = AutopayDraft {
            method_id: method,
            charge_on: "discount_day".into(),
            cap: String::new(),
        };
        let actor = Actor {
            user_id: Some(payer),
            name: PAYER,
        };
        turn_on(&db, customer, &draft, actor).await.unwrap();
        let provider = ScriptedProvider::default();
        assert_eq!(
            run(&db, &provider, date("2026-11-10"), BASE)
                .await
                .unwrap()
                .charged,
            0
        );
        assert_eq!(
            run(&db, &provider, date("2026-11-11"), BASE)
                .await
                .unwrap()
                .charged,
            1
        );
        assert_eq!(provider.charges()[0].1, 98_000);
        let pending: i64 = sqlx::query_scalar("SELECT pending_minor FROM invoices WHERE id = $1")
            .bind(invoice)
            .fetch_one(db.pool())
            .await
            .unwrap();
        assert_eq!(pending, 100_000, "the cash and the discount settle it");
    }

    #[tokio::test]
    async fn a_declined_charge_is_retried_after_one_three_and_five_days_then_autopay_stops_and_says_so()
     {
        let w = World::new().await;
        w.turn_on("due_date", "").await.unwrap();
        let provider = ScriptedProvider::answering(vec![
            declined("insufficient_funds"),
            declined("insufficient_funds"),
            declined("generic_decline"),
            declined("insufficient_funds"),
        ]);
        let first = w.run(&provider, "2026-11-05").await;
        assert_eq!((first.charged, first.declined, first.stopped), (1, 1, 0));
        assert_eq!(
            w.due_now(w.invoice).await,
            100_000,
            "a decline releases the invoice"
        );
        let mail = w.mail().await;
        assert_eq!(
            mail.last(),
            Some(&(
                PAYER.to_string(),
                "Autopay could not charge $1,000.00".to_string()
            ))
        );

        for (day, charged) in [
            ("2026-11-05", 0),
            ("2026-11-06", 1),
            ("2026-11-07", 0),
            ("2026-11-08", 1),
            ("2026-11-09", 0),
        ] {
            assert_eq!(w.run(&provider, day).await.charged, charged, "{day}");
        }
        let last = w.run(&provider, "2026-11-10").await;
        assert_eq!((last.charged, last.declined, last.stopped), (1, 1, 1));
        let (status, reason) = w.status().await;
        assert_eq!(status, "waiting");
        assert_eq!(reason, "4 charges in a row were declined");
        assert_eq!(w.run(&provider, "2026-11-11").await.charged, 0);
        assert_eq!(provider.charges().len(), 4);
        let mail = w.mail().await;
        assert!(mail.contains(&(PAYER.to_string(), "Autopay has stopped".to_string())));
        assert!(mail.contains(&(
            "clerk@ar.example".to_string(),
            "Autopay stopped: Customer".to_string()
        )));
        assert!(w.audit().await.contains(&"autopay.waiting".to_string()));
        // AR's worklist calls the account about the failed charges first.
        let worklist = crate::collections::store::worklist(
            &w.db,
            crate::collections::CollectorFilter::Everyone,
            1,
            Utc::now().date_naive(),
        )
        .await
        .unwrap();
        assert_eq!(
            worklist.rows[0].next_action,
            crate::collections::NextAction::CallAboutFailedPayment
        );
        let attempts: Vec<u32> = settings(&w.db, w.customer)
            .await
            .unwrap()
            .unwrap()
            .charges
            .iter()
            .map(|c| c.attempt)
            .collect();
        assert_eq!(attempts, vec![4, 3, 2, 1]);

        // Set again, it starts a new series.
        w.turn_on("due_date", "").await.unwrap();
        assert_eq!(w.run(&provider, "2026-11-11").await.charged, 1);
    }

    #[tokio::test]
    async fn a_hard_decline_stops_autopay_at_once() {
        let w = World::new().await;
        w.turn_on("due_date", "").await.unwrap();
        let provider = ScriptedProvider::answering(vec![declined("expired_card")]);
        let run = w.run(&provider, "2026-11-05").await;
        assert_eq!((run.declined, run.stopped), (1, 1));
        assert_eq!(w.status().await.0, "waiting");
        assert_eq!(w.run(&provider, "2026-11-06").await.charged, 0);
    }

    #[tokio::test]
    async fn a_charge_the_bank_wants_confirmed_stops_autopay_and_mails_the_payer_a_link_to_pay() {
        let w = World::new().await;
        w.turn_on("due_date", "").await.unwrap();
        let provider = ScriptedProvider::answering(vec![Ok(ChargeOutcome::NeedsCustomer {
            message: "This payment requires authentication.".into(),
        })]);
        let run = w.run(&provider, "2026-11-05").await;
        assert_eq!((run.needs_customer, run.stopped), (1, 1));
        assert_eq!(w.due_now(w.invoice).await, 100_000);
        assert_eq!(w.status().await.0, "waiting");
        let body: String = sqlx::query_scalar(
            "SELECT body FROM outbox WHERE subject LIKE 'Please confirm%' AND recipient = $1",
        )
        .bind(PAYER)
        .fetch_one(w.db.pool())
        .await
        .unwrap();
        assert!(
            body.contains(&format!("{BASE}/pay?invoice={}", w.invoice)),
            "{body}"
        );
    }

    #[tokio::test]
    async fn an_unanswered_charge_holds_its_invoice_and_is_sent_again_under_the_same_checkout() {
        let w = World::new().await;
        w.turn_on("due_date", "").await.unwrap();
        let provider = ScriptedProvider::answering(vec![Err(ProviderError::Timeout)]);
        assert_eq!(w.run(&provider, "2026-11-05").await.charged, 1);
        assert_eq!(w.due_now(w.invoice).await, 0, "it may have been charged");
        // Past a payment page's lifetime, it still holds the invoice.
        let later = Utc::now() + chrono::Duration::minutes(CHECKOUT_LIFETIME_MINUTES + 2);
        crate::checkout::store::expire_stale_checkouts(&w.db, later)
            .await
            .unwrap();
        assert_eq!(w.due_now(w.invoice).await, 0);

        // The next run sends the same charge again (same checkout, so the same key), and
        // charges nothing new while it is on its way.
        let next = w.run(&provider, "2026-11-05").await;
        assert_eq!(next.charged, 0);
        let charges = provider.charges();
        assert_eq!(charges.len(), 2);
        assert_eq!(charges[0], charges[1]);
        assert_eq!(w.run(&provider, "2026-11-06").await.charged, 0);
        assert_eq!(
            provider.charges().len(),
            2,
            "answered now: not sent a third time"
        );
        // Accepted, only the provider's event closes it, however late.
        crate::checkout::store::expire_stale_checkouts(&w.db, later)
            .await
            .unwrap();
        assert_eq!(w.due_now(w.invoice).await, 0);
        w.collect(&charges[0].0, 100_000, "2026-11-06").await;
        assert_eq!(fixtures::open_minor(&w.db, w.invoice).await, 0);
        let shown = settings(&w.db, w.customer).await.unwrap().unwrap();
        assert_eq!(shown.charges.len(), 1);
        assert_eq!(shown.charges[0].result, ChargeResult::Succeeded);
    }

    #[tokio::test]
    async fn a_method_autopay_charges_is_removed_only_once_autopay_is_off() {
        let w = World::new().await;
        w.turn_on("due_date", "").await.unwrap();
        let provider = ScriptedProvider::default();
        let refused = remove(&w.db, &provider, w.customer, w.method, w.payer()).await;
        assert!(matches!(
            refused,
            Err(SavedMethodStoreError::Refused(
                SavedMethodError::UsedByAutopay
            ))
        ));
        turn_off(&w.db, w.customer, w.payer()).await.unwrap();
        assert!(matches!(
            turn_off(&w.db, w.customer, w.payer()).await,
            Err(AutopayStoreError::Refused(AutopayError::NotOn))
        ));
        remove(&w.db, &provider, w.customer, w.method, w.payer())
            .await
            .unwrap();
        assert!(methods(&w.db, w.customer).await.unwrap().is_empty());
        let audit = w.audit().await;
        assert!(audit.contains(&"autopay.off".to_string()));
        assert!(audit.contains(&"payment_method.removed".to_string()));
        assert!(w.mail().await.contains(&(
            PAYER.to_string(),
            "Payment method removed: Visa •••• 4242".to_string()
        )));
        // Removed, it cannot be chosen for autopay.
        assert!(matches!(
            w.turn_on("due_date", "").await,
            Err(AutopayStoreError::Refused(AutopayError::UnknownMethod))
        ));
    }
}
