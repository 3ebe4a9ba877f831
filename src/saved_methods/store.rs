//! Saved payment methods in the database: a setup recorded before the payer leaves for the
//! provider's page, the method the provider reports (recorded once, with the consent), the list,
//! and removal (at the provider first).

use sqlx::{Any, Row, Transaction};

use super::{CONSENT_TEXT, ProviderMethod, SavedMethod, SavedMethodError, SetupRequest};
use crate::audit::Actor;
use crate::checkout::{PaymentProvider, ProviderError, bank_debit_for};
use crate::customers::store::contact_and_billing;
use crate::db::{Db, DbError, now_text};
use crate::outbox::store::queue_in_their_language;
use crate::payments::PaymentMethod;
use crate::receivables::store::lock_customer;
use crate::tr;

#[derive(Debug, thiserror::Error)]
pub enum SavedMethodStoreError {
    #[error(transparent)]
    Refused(#[from] SavedMethodError),
    #[error(transparent)]
    Provider(#[from] ProviderError),
    #[error("there is no such customer account")]
    UnknownCustomer,
    #[error(transparent)]
    Db(#[from] DbError),
}

crate::from_sqlx_error!(SavedMethodStoreError);

/// Who saves a method: the payer signed in, and the address they came from.
#[derive(Debug, Clone, Copy)]
pub struct SetupBy<'a> {
    pub user_id: i64,
    pub email: &'a str,
    pub ip: &'a str,
}

fn new_setup_id() -> String {
    format!("ps_{}", crate::secrets::random_hex(12))
}

/// Records the setup with the consent the payer gave, and asks the provider for its setup page
/// (card, and the currency's bank debit). Returns the page's address.
pub async fn begin_setup(
    db: &Db,
    provider: &dyn PaymentProvider,
    customer_id: i64,
    by: SetupBy<'_>,
    consented: bool,
    return_url: &str,
) -> Result<String, SavedMethodStoreError> {
    if !consented {
        return Err(SavedMethodError::NoConsent.into());
    }
    let customer =
        sqlx::query("SELECT name, currency, provider_customer FROM customers WHERE id = $1")
            .bind(customer_id)
            .fetch_optional(db.pool())
            .await?
            .ok_or(SavedMethodStoreError::UnknownCustomer)?;
    let name: String = customer.try_get("name")?;
    let currency = crate::db::currency(&customer.try_get::<String, _>("currency")?)?;
    let known: Option<String> = customer.try_get("provider_customer")?;
    let id = new_setup_id();
    sqlx::query(
        "INSERT INTO payment_method_setups (id, customer_id, user_id, provider, consent_text, \
         consented_ip, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(&id)
    .bind(customer_id)
    .bind(by.user_id)
    .bind(provider.name())
    .bind(CONSENT_TEXT)
    .bind(by.ip)
    .bind(now_text())
    .execute(db.write_pool())
    .await?;
    let methods: Vec<PaymentMethod> = std::iter::once(PaymentMethod::Card)
        .chain(bank_debit_for(currency))
        .collect();
    let hosted = provider
        .start_setup(SetupRequest {
            setup_id: &id,
            customer_id,
            customer_name: &name,
            provider_customer: known.as_deref(),
            email: by.email,
            currency,
            methods: &methods,
            success_url: format!("{return_url}?saved={id}"),
            cancel_url: return_url.to_string(),
        })
        .await?;
    // The account's customer at the provider is made once (its key is our customer id) and kept.
    sqlx::query(
        "UPDATE customers SET provider_customer = $1 WHERE id = $2 AND provider_customer IS NULL",
    )
    .bind(&hosted.provider_customer)
    .bind(customer_id)
    .execute(db.write_pool())
    .await?;
    Ok(hosted.url)
}

/// The provider saved a method for one of our setups: recorded once with the setup's consent,
/// audited as the payer's act, and announced to them and the account's billing contacts.
/// Returns false for a setup already completed (a replayed event) or not ours.
pub async fn saved_in(
    tx: &mut Transaction<'_, Any>,
    setup_id: &str,
    method: &ProviderMethod,
) -> Result<bool, DbError> {
    let setup = sqlx::query(
        "UPDATE payment_method_setups SET status = 'completed' \
         WHERE id = $1 AND status = 'open' \
         RETURNING customer_id, user_id, consent_text, consented_ip, created_at",
    )
    .bind(setup_id)
    .fetch_optional(&mut **tx)
    .await?;
    let Some(setup) = setup else {
        return Ok(false);
    };
    let customer_id: i64 = setup.try_get("customer_id")?;
    let user_id: i64 = setup.try_get("user_id")?;
    let email: String = sqlx::query_scalar("SELECT email FROM users WHERE id = $1")
        .bind(user_id)
        .fetch_one(&mut **tx)
        .await?;
    let consented_at: String = setup.try_get("created_at")?;
    let consented_ip: String = setup.try_get("consented_ip")?;
    let consent_text: String = setup.try_get("consent_text")?;
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO payment_methods (customer_id, setup_id, provider_method, kind, label, last4, \
         exp_month, exp_year, mandate, consent_text, consented_by, consented_at, consented_ip) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) RETURNING id",
    )
    .bind(customer_id)
    .bind(setup_id)
    .bind(&method.id)
    .bind(method.kind.as_str())
    .bind(&method.label)
    .bind(&method.last4)
    .bind(method.exp_month.map(i64::from))
    .bind(method.exp_year.map(i64::from))
    .bind(method.mandate.as_deref())
    .bind(&consent_text)
    .bind(user_id)
    .bind(&consented_at)
    .bind(&consented_ip)
    .fetch_one(&mut **tx)
    .await?;
    let name = format!("{} •••• {}", method.label, method.last4);
    Actor {
        user_id: Some(user_id),
        name: &email,
    }
    .record(
        &mut **tx,
        "payment_method.saved",
        &format!("customer:{customer_id}"),
        &format!("method {id}: {} {name}", method.kind.label()),
    )
    .await?;
    let recipients = contact_and_billing(tx, customer_id, &email).await?;
    // The terms stay as agreed to, word for word.
    let write = |locale: crate::locale::Locale| {
        let at = match locale {
            crate::locale::Locale::En => consented_at.clone(),
            crate::locale::Locale::De => chrono::DateTime::parse_from_rfc3339(&consented_at)
                .map_or_else(|_| consented_at.clone(), |at| locale.date_time(at)),
        };
        let body = tr!(
            locale,
            "payment_method.saved.body",
            email = email,
            name = name,
            kind = method.kind.label_in(locale),
            at = at,
            ip = consented_ip,
            terms = consent_text
        );
        (
            tr!(locale, "payment_method.saved.subject", name = name),
            body,
        )
    };
    queue_in_their_language(tx, &recipients, "payment_method", None, write).await?;
    Ok(true)
}

#[derive(sqlx::FromRow)]
struct MethodRow {
    id: i64,
    #[sqlx(try_from = "String")]
    kind: PaymentMethod,
    label: String,
    last4: String,
    exp_month: Option<i64>,
    exp_year: Option<i64>,
    consent_text: String,
    consented_by: String,
    consented_at: String,
    consented_ip: String,
    autopay: i64,
}

/// The account's saved methods (removed ones left out), newest first.
pub async fn methods(db: &Db, customer_id: i64) -> Result<Vec<SavedMethod>, DbError> {
    let rows: Vec<MethodRow> = sqlx::query_as(
        "SELECT m.id, m.kind, m.label, m.last4, m.exp_month, m.exp_year, m.consent_text, \
                u.email AS consented_by, m.consented_at, m.consented_ip, \
                CASE WHEN a.status IN ('on', 'waiting') THEN 1 ELSE 0 END AS autopay \
         FROM payment_methods m JOIN users u ON u.id = m.consented_by \
         LEFT JOIN autopay a ON a.customer_id = m.customer_id AND a.payment_method_id = m.id \
         WHERE m.customer_id = $1 AND m.removed_at IS NULL ORDER BY m.id DESC",
    )
    .bind(customer_id)
    .fetch_all(db.pool())
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| SavedMethod {
            id: r.id,
            kind: r.kind,
            label: r.label,
            last4: r.last4,
            expires: r
                .exp_month
                .zip(r.exp_year)
                .map(|(month, year)| format!("{month:02}/{year}")),
            consent_text: r.consent_text,
            consented_by: r.consented_by,
            consented_at: r.consented_at,
            consented_ip: r.consented_ip,
            autopay: r.autopay == 1,
        })
        .collect())
}

/// A saved method as a charge needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ChargeableMethod {
    pub provider_method: String,
    pub kind: PaymentMethod,
    pub name: String,
}

/// The account's method `method_id`, if it is saved and not removed.
pub(crate) async fn chargeable(
    conn: &mut sqlx::AnyConnection,
    customer_id: i64,
    method_id: i64,
) -> Result<Option<ChargeableMethod>, DbError> {
    let row = sqlx::query(
        "SELECT provider_method, kind, label, last4 FROM payment_methods \
         WHERE id = $1 AND customer_id = $2 AND removed_at IS NULL",
    )
    .bind(method_id)
    .bind(customer_id)
    .fetch_optional(conn)
    .await?;
    let Some(row) = row else {
        return Ok(None);
    };
    let kind: String = row.try_get("kind")?;
    Ok(Some(ChargeableMethod {
        provider_method: row.try_get("provider_method")?,
        kind: PaymentMethod::parse(&kind)
            .ok_or_else(|| DbError::Corrupt(format!("payment method kind {kind:?}")))?,
        name: format!(
            "{} •••• {}",
            row.try_get::<String, _>("label")?,
            row.try_get::<String, _>("last4")?
        ),
    }))
}

/// A payer removes a saved method: the provider forgets it first (so it can never be charged
/// again; one it no longer has is gone already), then, under the customer lock, it is marked
/// removed, audited and announced. A method autopay charges is kept until autopay is off or uses
/// another one.
pub async fn remove(
    db: &Db,
    provider: &dyn PaymentProvider,
    customer_id: i64,
    method_id: i64,
    actor: Actor<'_>,
) -> Result<(), SavedMethodStoreError> {
    let mut conn = db.pool().acquire().await?;
    let method = chargeable(&mut conn, customer_id, method_id)
        .await?
        .ok_or(SavedMethodError::Unknown)?;
    refuse_if_autopay_uses(&mut conn, customer_id, method_id).await?;
    drop(conn);
    match provider.remove_saved(&method.provider_method).await {
        Ok(()) | Err(ProviderError::Refused(_)) => {}
        Err(unanswered) => return Err(unanswered.into()),
    }
    let mut tx = db.begin_write().await?;
    lock_customer(&mut tx, db.engine(), customer_id)
        .await
        .map_err(|_| SavedMethodStoreError::UnknownCustomer)?;
    refuse_if_autopay_uses(&mut tx, customer_id, method_id).await?;
    let removed = sqlx::query(
        "UPDATE payment_methods SET removed_at = $1, removed_by = $2 \
         WHERE id = $3 AND customer_id = $4 AND removed_at IS NULL",
    )
    .bind(now_text())
    .bind(actor.user_id)
    .bind(method_id)
    .bind(customer_id)
    .execute(&mut *tx)
    .await?;
    if removed.rows_affected() == 0 {
        return Err(SavedMethodError::Unknown.into());
    }
    actor
        .record(
            &mut *tx,
            "payment_method.removed",
            &format!("customer:{customer_id}"),
            &format!("method {method_id}: {}", method.name),
        )
        .await?;
    let recipients = contact_and_billing(&mut tx, customer_id, actor.name).await?;
    let write = |locale: crate::locale::Locale| {
        (
            tr!(locale, "payment_method.removed.subject", name = method.name),
            tr!(
                locale,
                "payment_method.removed.body",
                actor = actor.name,
                name = method.name
            ),
        )
    };
    queue_in_their_language(&mut tx, &recipients, "payment_method", None, write).await?;
    tx.commit().await?;
    Ok(())
}

async fn refuse_if_autopay_uses(
    conn: &mut sqlx::AnyConnection,
    customer_id: i64,
    method_id: i64,
) -> Result<(), SavedMethodStoreError> {
    let in_use: Option<i64> = sqlx::query_scalar(
        "SELECT customer_id FROM autopay WHERE customer_id = $1 AND payment_method_id = $2 \
         AND status IN ('on', 'waiting')",
    )
    .bind(customer_id)
    .bind(method_id)
    .fetch_optional(conn)
    .await?;
    match in_use {
        Some(_) => Err(SavedMethodError::UsedByAutopay.into()),
        None => Ok(()),
    }
}

#[cfg(all(test, feature = "test-support"))]
mod tests {
    use super::*;
    use crate::testing::fixtures;
    use crate::testing::{ScriptedProvider, fresh_db};

    const PAYER: &str = "payer@acme.example";

    #[tokio::test]
    async fn a_saved_method_keeps_what_was_agreed_by_whom_and_from_where_and_is_recorded_once() {
        let db = fresh_db().await;
        let (customer, payer, _) =
            fixtures::payer_account(&db, "C-1", PAYER, "INV-1", "2026-10-01").await;
        let provider = ScriptedProvider::default();
        let by = SetupBy {
            user_id: payer,
            email: PAYER,
            ip: "203.0.113.7",
        };
        let refused = begin_setup(
            &db,
            &provider,
            customer,
            by,
            false,
            "https://p.example/autopay",
        )
        .await;
        assert!(matches!(
            refused,
            Err(SavedMethodStoreError::Refused(SavedMethodError::NoConsent))
        ));
        let url = begin_setup(
            &db,
            &provider,
            customer,
            by,
            true,
            "https://p.example/autopay",
        )
        .await
        .unwrap();
        let setup = url.rsplit('/').next().unwrap().to_string();
        let known: Option<String> =
            sqlx::query_scalar("SELECT provider_customer FROM customers WHERE id = $1")
                .bind(customer)
                .fetch_one(db.pool())
                .await
                .unwrap();
        assert_eq!(known, Some(format!("cus_test_{customer}")));

        let method = ProviderMethod {
            id: "pm_test_7".into(),
            kind: PaymentMethod::Ach,
            label: "STRIPE TEST BANK".into(),
            last4: "6789".into(),
            exp_month: None,
            exp_year: None,
            mandate: Some("mandate_7".into()),
        };
        let mut tx = db.begin_write().await.unwrap();
        assert!(saved_in(&mut tx, &setup, &method).await.unwrap());
        assert!(
            !saved_in(&mut tx, &setup, &method).await.unwrap(),
            "a replay"
        );
        assert!(!saved_in(&mut tx, "ps_not_ours", &method).await.unwrap());
        tx.commit().await.unwrap();

        let saved = methods(&db, customer).await.unwrap();
        assert_eq!(saved.len(), 1);
        assert_eq!(saved[0].name(), "STRIPE TEST BANK •••• 6789");
        assert_eq!(saved[0].kind, PaymentMethod::Ach);
        assert_eq!(saved[0].consent_text, CONSENT_TEXT);
        assert_eq!(saved[0].consented_by, PAYER);
        assert_eq!(saved[0].consented_ip, "203.0.113.7");
        assert!(!saved[0].autopay);
        let subjects: Vec<String> =
            sqlx::query_scalar("SELECT subject FROM outbox WHERE recipient = $1")
                .bind(PAYER)
                .fetch_all(db.pool())
                .await
                .unwrap();
        assert_eq!(
            subjects,
            vec!["Payment method saved: STRIPE TEST BANK •••• 6789"]
        );
        let audited: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM audit_log WHERE action = 'payment_method.saved' AND actor = $1",
        )
        .bind(PAYER)
        .fetch_one(db.pool())
        .await
        .unwrap();
        assert_eq!(audited, 1);
    }
}
