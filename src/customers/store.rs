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
