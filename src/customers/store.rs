use sqlx::{Any, Row, Transaction};

use super::NewCustomer;
use crate::db::{DbError, now_text};

/// Inserts a customer and returns its id.
pub async fn create_customer(
    tx: &mut Transaction<'_, Any>,
    customer: &NewCustomer,
) -> Result<i64, DbError> {
    let terms = customer.terms();
    let row = sqlx::query(
        "INSERT INTO customers \
         (number, name, currency, net_days, discount_bp, discount_days, credit_limit_minor, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
    )
    .bind(customer.number())
    .bind(customer.name())
    .bind(customer.currency().code())
    .bind(i64::from(terms.net_days()))
    .bind(i64::from(terms.discount_bp()))
    .bind(i64::from(terms.discount_days()))
    .bind(customer.credit_limit().to_minor())
    .bind(now_text())
    .fetch_one(&mut **tx)
    .await?;
    Ok(row.try_get(0)?)
}

#[derive(Debug, thiserror::Error)]
pub enum OpenAccountError {
    #[error("customer number {0} is already taken")]
    NumberTaken(String),
    #[error(transparent)]
    Db(#[from] DbError),
}

crate::from_sqlx_error!(OpenAccountError);

/// Staff open a customer account: inserted and audited in one transaction.
pub async fn open_account(
    db: &crate::db::Db,
    customer: &NewCustomer,
    actor_user_id: i64,
    actor: &str,
) -> Result<i64, OpenAccountError> {
    let mut tx = db.begin_write().await?;
    let taken = sqlx::query("SELECT 1 FROM customers WHERE number = $1")
        .bind(customer.number())
        .fetch_optional(&mut *tx)
        .await?;
    if taken.is_some() {
        return Err(OpenAccountError::NumberTaken(customer.number().to_string()));
    }
    let id = create_customer(&mut tx, customer).await?;
    crate::audit::record(
        &mut *tx,
        Some(actor_user_id),
        actor,
        "customer.opened",
        &format!("customer:{id}"),
        &format!("{} {}", customer.number(), customer.name()),
        "",
    )
    .await?;
    tx.commit().await?;
    Ok(id)
}

/// The customer's display name, if the customer exists.
pub async fn customer_name(
    db: &crate::db::Db,
    customer_id: i64,
) -> Result<Option<String>, DbError> {
    let row = sqlx::query("SELECT name FROM customers WHERE id = $1")
        .bind(customer_id)
        .fetch_optional(db.pool())
        .await?;
    Ok(row.map(|r| r.try_get(0)).transpose()?)
}

/// The customer's name, read on `conn` (the transaction of a change that announces it).
pub async fn name_in(conn: &mut sqlx::AnyConnection, customer_id: i64) -> Result<String, DbError> {
    Ok(
        sqlx::query_scalar("SELECT name FROM customers WHERE id = $1")
            .bind(customer_id)
            .fetch_one(conn)
            .await?,
    )
}

/// Every customer account, by number, for staff.
pub async fn list_customers(db: &crate::db::Db) -> Result<Vec<super::CustomerRow>, DbError> {
    Ok(
        sqlx::query_as("SELECT id, number, name, currency FROM customers ORDER BY number")
            .fetch_all(db.pool())
            .await?,
    )
}

/// Every currency some customer is billed in, in code order: the currencies reports are drawn in.
pub async fn billed_currencies(db: &crate::db::Db) -> Result<Vec<crate::money::Currency>, DbError> {
    let rows = sqlx::query("SELECT DISTINCT currency FROM customers ORDER BY currency")
        .fetch_all(db.pool())
        .await?;
    rows.iter()
        .map(|row| crate::db::currency(&row.try_get::<String, _>("currency")?))
        .collect()
}

/// The customer's billing currency, if the customer exists.
pub async fn customer_currency(
    db: &crate::db::Db,
    customer_id: i64,
) -> Result<Option<crate::money::Currency>, DbError> {
    let row = sqlx::query("SELECT currency FROM customers WHERE id = $1")
        .bind(customer_id)
        .fetch_optional(db.pool())
        .await?;
    match row {
        None => Ok(None),
        Some(row) => crate::db::currency(&row.try_get::<String, _>(0)?).map(Some),
    }
}

/// The id and currency of the customer numbered `number` (any case).
pub async fn customer_by_number<'e, E>(
    executor: E,
    number: &str,
) -> Result<Option<(i64, crate::money::Currency)>, DbError>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    let row = sqlx::query("SELECT id, currency FROM customers WHERE number = $1")
        .bind(number.trim().to_ascii_uppercase())
        .fetch_optional(executor)
        .await?;
    match row {
        None => Ok(None),
        Some(row) => Ok(Some((
            row.try_get("id")?,
            crate::db::currency(&row.try_get::<String, _>("currency")?)?,
        ))),
    }
}

/// Who hears about an account's dues (reminders, broken promises): its billing contacts;
/// without any, its active payer contacts.
pub async fn account_recipients(
    conn: &mut sqlx::AnyConnection,
    customer_id: i64,
) -> Result<Vec<String>, DbError> {
    let billing = billing_emails(&mut *conn, customer_id).await?;
    if !billing.is_empty() {
        return Ok(billing);
    }
    Ok(sqlx::query_scalar(
        "SELECT email FROM users WHERE customer_id = $1 AND role = 'payer' \
         AND disabled_at IS NULL ORDER BY email",
    )
    .bind(customer_id)
    .fetch_all(conn)
    .await?)
}

/// The account's billing contacts, alphabetical.
pub async fn billing_emails<'e, E>(executor: E, customer_id: i64) -> Result<Vec<String>, DbError>
where
    E: sqlx::Executor<'e, Database = Any>,
{
    let rows =
        sqlx::query("SELECT email FROM billing_contacts WHERE customer_id = $1 ORDER BY email")
            .bind(customer_id)
            .fetch_all(executor)
            .await?;
    Ok(rows
        .iter()
        .map(|r| r.try_get(0))
        .collect::<Result<_, _>>()?)
}

/// The contact who acted (`contact_email`) and the account's billing contacts, once each: who
/// hears about a payment they made or a payment setting they changed.
pub async fn contact_and_billing(
    conn: &mut sqlx::AnyConnection,
    customer_id: i64,
    contact_email: &str,
) -> Result<Vec<String>, DbError> {
    let mut recipients = vec![contact_email.to_string()];
    for billing in billing_emails(&mut *conn, customer_id).await? {
        if !recipients.contains(&billing) {
            recipients.push(billing);
        }
    }
    Ok(recipients)
}

/// The account as staff edit it; `None` when there is no such customer.
pub async fn profile(
    db: &crate::db::Db,
    customer_id: i64,
) -> Result<Option<super::CustomerProfile>, DbError> {
    let Some(row) = sqlx::query(
        "SELECT id, number, name, currency, net_days, discount_bp, discount_days, credit_limit_minor \
         FROM customers WHERE id = $1",
    )
    .bind(customer_id)
    .fetch_optional(db.pool())
    .await?
    else {
        return Ok(None);
    };
    let whole = |column: &str| -> Result<u32, DbError> {
        let value: i64 = row.try_get(column)?;
        u32::try_from(value).map_err(|_| DbError::Corrupt(format!("{column} = {value}")))
    };
    let terms = crate::terms::PaymentTerms::with_discount(
        whole("net_days")?,
        whole("discount_bp")?,
        whole("discount_days")?,
    )
    .map_err(|e| DbError::Corrupt(format!("customer {customer_id} terms: {e}")))?;
    Ok(Some(super::CustomerProfile {
        id: row.try_get("id")?,
        number: row.try_get("number")?,
        name: row.try_get("name")?,
        currency: crate::db::currency(&row.try_get::<String, _>("currency")?)?,
        terms,
        credit_limit_minor: row.try_get("credit_limit_minor")?,
        billing_emails: billing_emails(db.pool(), customer_id).await?,
    }))
}

/// Staff change an account's name, terms, credit limit and billing contacts (number and
/// currency stay: invoices and the ledger refer to them). New terms apply to invoices issued
/// from now on. Audited with the old and new values.
pub async fn update_account(
    db: &crate::db::Db,
    customer_id: i64,
    changed: &NewCustomer,
    billing: &[crate::users::Email],
    actor_user_id: i64,
    actor: &str,
) -> Result<(), DbError> {
    let mut tx = db.begin_write().await?;
    let terms = changed.terms();
    sqlx::query(
        "UPDATE customers SET name = $1, net_days = $2, discount_bp = $3, discount_days = $4, \
         credit_limit_minor = $5 WHERE id = $6",
    )
    .bind(changed.name())
    .bind(i64::from(terms.net_days()))
    .bind(i64::from(terms.discount_bp()))
    .bind(i64::from(terms.discount_days()))
    .bind(changed.credit_limit().to_minor())
    .bind(customer_id)
    .execute(&mut *tx)
    .await?;
    sqlx::query("DELETE FROM billing_contacts WHERE customer_id = $1")
        .bind(customer_id)
        .execute(&mut *tx)
        .await?;
    let now = now_text();
    for email in billing {
        sqlx::query(
            "INSERT INTO billing_contacts (customer_id, email, created_at) VALUES ($1, $2, $3) \
             ON CONFLICT (customer_id, email) DO NOTHING",
        )
        .bind(customer_id)
        .bind(email.as_str())
        .bind(&now)
        .execute(&mut *tx)
        .await?;
    }
    let billing_list: Vec<&str> = billing.iter().map(|e| e.as_str()).collect();
    crate::audit::record(
        &mut *tx,
        Some(actor_user_id),
        actor,
        "customer.updated",
        &format!("customer:{customer_id}"),
        &format!(
            "{}; net {} days, discount {} bp within {} days; credit limit {}; billing: {}",
            changed.name(),
            terms.net_days(),
            terms.discount_bp(),
            terms.discount_days(),
            changed.credit_limit(),
            billing_list.join(", ")
        ),
        "",
    )
    .await?;
    tx.commit().await?;
    Ok(())
}
