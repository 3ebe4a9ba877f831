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
    CheckoutStoreError, NewCheckout, insert_checkout, leave_flight, lock_checkout_customer,
    review_on,
};
use crate::checkout::{
    CHECKOUT_LIFETIME_MINUTES, CheckoutStatus, MAXIMUM_INVOICES, PayItem, PaymentProvider,
};
use crate::db::{Db, DbError, MaybeDay, date_text, now_text};
use crate::money::{Currency, Money};
use crate::outbox::store::{queue_to_each, staff_emails};
use crate::receivables::DUE_NOW_SQL;
use crate::receivables::store::{CashError, lock_customer};
use crate::saved_methods::store::{chargeable, told_of_methods};
use crate::saved_methods::{ChargeOutcome, OffSessionCharge};

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
                k.failure_message \
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
                checkout_id: c.checkout_id,
                charged_on: c.charged_on,
                attempt: u32::try_from(c.attempt).unwrap_or(u32::MAX),
                amount_minor: c.amount_minor,
                result: c.outcome,
                // A debit that failed after it was submitted says why on its checkout.
                message: if c.message.is_empty() {
                    c.failure_message
                } else {
                    c.message
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
    let terms = describe(&method.name, choice.charge_on, choice.cap_minor, currency);
    actor
        .record(
            &mut *tx,
            "autopay.on",
            &format!("customer:{customer_id}"),
            &terms,
        )
        .await?;
    let recipients = told_of_methods(&mut tx, customer_id, actor.name).await?;
    queue_to_each(
        &mut tx,
        &recipients,
        "Autopay is on",
        &format!(
            "Hello,\n\n{} turned autopay on for your account: {terms}.\n\
             Disputed amounts and payments already on their way are never charged. Each charge \
             sends a receipt; a failed one is tried again after 1, 3 and 5 days.\n\
             You can turn it off at any time in the portal.\n",
            actor.name
        ),
        "autopay",
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// "Visa •••• 4242, on the due date, at most $500.00 per charge".
fn describe(
    method: &str,
    charge_on: ChargeOn,
    cap_minor: Option<i64>,
    currency: Currency,
) -> String {
    let cap = cap_minor.map_or_else(String::new, |cap| {
        format!(", at most {} per charge", Money::from_minor(cap, currency))
    });
    format!("{method}, {}{cap}", charge_on.label().to_lowercase())
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
    let recipients = told_of_methods(&mut tx, customer_id, actor.name).await?;
    queue_to_each(
        &mut tx,
        &recipients,
        "Autopay is off",
        &format!(
            "Hello,\n\n{} turned autopay off for your account. Invoices are no longer charged \
             automatically; pay them in the portal.\n",
            actor.name
        ),
        "autopay",
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Charges what is due on every account with autopay on that this day's run has not seen yet.
pub async fn run(
    db: &Db,
    provider: &dyn PaymentProvider,
    today: NaiveDate,
    base_url: &str,
) -> Result<AutopayRun, DbError> {
    let accounts: Vec<i64> = sqlx::query_scalar(
        "SELECT customer_id FROM autopay WHERE status = 'on' \
         AND (last_run_on IS NULL OR last_run_on < $1) ORDER BY customer_id",
    )
    .bind(date_text(today))
    .fetch_all(db.pool())
    .await?;
    let mut summary = AutopayRun::default();
    for customer_id in accounts {
        run_account(db, provider, customer_id, today, base_url, &mut summary)
            .await
            .map_err(|e| match e {
                CheckoutStoreError::Db(db) => db,
                other => DbError::Corrupt(other.to_string()),
            })?;
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
        // Below the smallest charge, say: nothing to charge today.
        Err(CheckoutStoreError::Refused(_)) => return Ok(tx.commit().await?),
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
    let provider_customer: Option<String> =
        sqlx::query_scalar("SELECT provider_customer FROM customers WHERE id = $1")
            .bind(customer_id)
            .fetch_one(&mut *tx)
            .await?;
    let provider_customer = provider_customer.ok_or_else(|| {
        DbError::Corrupt(format!(
            "customer {customer_id} has a saved method but no provider customer"
        ))
    })?;
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
        "INSERT INTO autopay_charges (checkout_id, customer_id, attempt, charged_on, outcome, \
         created_at) VALUES ($1, $2, $3, $4, 'sent', $5)",
    )
    .bind(&checkout_id)
    .bind(customer_id)
    .bind(i64::from(attempt))
    .bind(date_text(today))
    .bind(now_text())
    .execute(&mut *tx)
    .await?;
    let numbers: Vec<&str> = review.lines.iter().map(|l| l.number.as_str()).collect();
    let amount = Money::from_minor(review.total_minor, currency);
    AUTOPAY
        .record(
            &mut *tx,
            "autopay.charge",
            &format!("customer:{customer_id}"),
            &format!(
                "checkout {checkout_id}: {amount} from {} for {} (attempt {attempt})",
                method.name,
                numbers.join(", ")
            ),
        )
        .await?;
    tx.commit().await?;
    summary.charged += 1;
    let answer = provider
        .charge_saved(OffSessionCharge {
            checkout_id: &checkout_id,
            provider_customer: &provider_customer,
            provider_method: &method.provider_method,
            kind: method.kind,
            currency,
            amount_minor: review.total_minor,
            description: format!("Autopay: invoices {}", numbers.join(", ")),
        })
        .await;
    let outcome = match answer {
        Ok(outcome) => outcome,
        Err(error) => {
            // The charge may or may not have reached the provider: its event decides; without
            // one the checkout expires and its invoices are due again tomorrow.
            record_result(
                db,
                &checkout_id,
                ChargeResult::Unknown,
                "",
                &error.to_string(),
            )
            .await?;
            return Ok(());
        }
    };
    let mut tx = db.begin_write().await?;
    lock_checkout_customer(&mut tx, db.engine(), &checkout_id).await?;
    match &outcome {
        ChargeOutcome::Succeeded => {
            set_result(&mut tx, &checkout_id, ChargeResult::Succeeded, "", "").await?
        }
        ChargeOutcome::Processing => {
            set_result(&mut tx, &checkout_id, ChargeResult::Processing, "", "").await?
        }
        ChargeOutcome::Declined { code, message } => {
            summary.declined += 1;
            set_result(&mut tx, &checkout_id, ChargeResult::Declined, code, message).await?;
            leave_flight(&mut tx, &checkout_id, CheckoutStatus::Failed, message).await?;
            match next_step(&series(&mut tx, customer_id, &claimed.since).await?, today) {
                NextStep::GiveUp { reason } => {
                    stop(&mut tx, customer_id, &reason, base_url).await?;
                    summary.stopped += 1;
                }
                NextStep::Wait { until } => {
                    let retry = until
                        .map_or_else(String::new, |day| format!(" We will try again on {day}."));
                    tell_payer(
                        &mut tx,
                        customer_id,
                        &format!("Autopay could not charge {amount}"),
                        &format!(
                            "Hello,\n\nautopay tried to charge {amount} to {} for {} today, and \
                             it was declined: {message}{retry}\n\
                             To pay now instead: {base_url}/pay?all=1\n",
                            method.name,
                            numbers.join(", ")
                        ),
                    )
                    .await?;
                }
                NextStep::Charge { .. } => {}
            }
        }
        ChargeOutcome::NeedsCustomer { message } => {
            summary.needs_customer += 1;
            set_result(
                &mut tx,
                &checkout_id,
                ChargeResult::NeedsCustomer,
                "",
                message,
            )
            .await?;
            leave_flight(&mut tx, &checkout_id, CheckoutStatus::Failed, message).await?;
            let invoices: Vec<String> = review
                .lines
                .iter()
                .map(|l| format!("invoice={}", l.invoice_id))
                .collect();
            tell_payer(
                &mut tx,
                customer_id,
                &format!("Please confirm your payment of {amount}"),
                &format!(
                    "Hello,\n\nyour bank asks you to confirm the autopay charge of {amount} to {} \
                     for {}. Finish it here: {base_url}/pay?{}\n\
                     Autopay waits until you set it again.\n",
                    method.name,
                    numbers.join(", "),
                    invoices.join("&")
                ),
            )
            .await?;
            stop(
                &mut tx,
                customer_id,
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

/// The invoices autopay charges today: something due now (disputed and in-flight amounts are
/// not), their charge day reached, oldest first, whole invoices up to the cap.
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
         ORDER BY i.due_date, i.id"
    ))
    .bind(customer_id)
    .fetch_all(&mut **tx)
    .await?;
    let mut total = 0;
    let mut items = Vec::new();
    for invoice in due {
        if charge_day(invoice.due_date, invoice.discount_until, claimed.charge_on) > today {
            continue;
        }
        if claimed
            .cap_minor
            .is_some_and(|cap| total + invoice.due_minor > cap)
        {
            continue;
        }
        total += invoice.due_minor;
        items.push(PayItem {
            invoice_id: invoice.id,
            amount_minor: invoice.due_minor,
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
        "SELECT a.attempt, a.charged_on, a.outcome, a.decline_code, k.status \
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
            Ok(PastCharge {
                attempt: u32::try_from(row.try_get::<i64, _>("attempt")?).unwrap_or(u32::MAX),
                charged_on: crate::db::parse_date(&row.try_get::<String, _>("charged_on")?)?,
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

/// [`set_result`] in its own transaction.
async fn record_result(
    db: &Db,
    checkout_id: &str,
    result: ChargeResult,
    code: &str,
    message: &str,
) -> Result<(), DbError> {
    let mut tx = db.begin_write().await?;
    set_result(&mut tx, checkout_id, result, code, message).await?;
    tx.commit().await?;
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
    tell_payer(
        tx,
        customer_id,
        "Autopay has stopped",
        &format!(
            "Hello,\n\nautopay has stopped for your account: {reason}. Nothing more is charged \
             automatically until you set it again: {base_url}/autopay\n\
             To pay what is due now: {base_url}/pay?all=1\n"
        ),
    )
    .await?;
    let name: String = sqlx::query_scalar("SELECT name FROM customers WHERE id = $1")
        .bind(customer_id)
        .fetch_one(&mut **tx)
        .await?;
    let staff = staff_emails(&mut **tx).await?;
    queue_to_each(
        tx,
        &staff,
        &format!("Autopay stopped: {name}"),
        &format!("Autopay stopped for {name}: {reason}. What falls due is no longer charged automatically.\n"),
        "autopay",
    )
    .await
}

/// Mails the payer who set autopay and the account's billing contacts.
async fn tell_payer(
    tx: &mut Transaction<'_, Any>,
    customer_id: i64,
    subject: &str,
    body: &str,
) -> Result<(), DbError> {
    let payer: String = sqlx::query_scalar(
        "SELECT u.email FROM autopay a JOIN users u ON u.id = a.set_by WHERE a.customer_id = $1",
    )
    .bind(customer_id)
    .fetch_one(&mut **tx)
    .await?;
    let recipients = told_of_methods(tx, customer_id, &payer).await?;
    queue_to_each(tx, &recipients, subject, body, "autopay").await
}
