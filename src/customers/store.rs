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

impl From<sqlx::Error> for OpenAccountError {
    fn from(e: sqlx::Error) -> Self {
        OpenAccountError::Db(DbError::Query(e))
    }
}

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

/// Every customer account, by number, for staff.
pub async fn list_customers(db: &crate::db::Db) -> Result<Vec<super::CustomerRow>, DbError> {
    let rows = sqlx::query("SELECT id, number, name, currency FROM customers ORDER BY number")
        .fetch_all(db.pool())
        .await?;
    Ok(rows
        .iter()
        .map(|row| {
            Ok(super::CustomerRow {
                id: row.try_get("id")?,
                number: row.try_get("number")?,
                name: row.try_get("name")?,
                currency: row.try_get("currency")?,
            })
        })
        .collect::<Result<_, sqlx::Error>>()?)
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
        Some(row) => {
            let code: String = row.try_get(0)?;
            code.parse()
                .map(Some)
                .map_err(|_| DbError::Corrupt(format!("currency {code:?}")))
        }
    }
}
