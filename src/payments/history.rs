//! A customer's payments and where each went, newest first.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::money::Currency;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppliedTo {
    pub invoice_id: i64,
    pub invoice_number: String,
    pub amount_minor: i64,
    /// Early-payment discount taken on that invoice with this payment.
    pub discount_minor: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentView {
    pub id: i64,
    pub received_date: NaiveDate,
    pub method: String,
    pub reference: String,
    pub currency: Currency,
    pub amount_minor: i64,
    pub applied: Vec<AppliedTo>,
    /// What was not applied to invoices and became credit on the account.
    pub unapplied_minor: i64,
}

#[cfg(feature = "ssr")]
pub mod store {
    use std::collections::HashMap;

    use sqlx::Row;

    use super::{AppliedTo, PaymentView};
    use crate::db::{Db, DbError, parse_date};

    /// The customer's payments (all, or just `payment_id`), newest first, with allocations.
    pub async fn payments(
        db: &Db,
        customer_id: i64,
        payment_id: Option<i64>,
        limit: i64,
    ) -> Result<Vec<PaymentView>, DbError> {
        let rows = sqlx::query(
            "SELECT id, received_date, method, business_key, currency, amount_minor FROM payments \
             WHERE customer_id = $1 AND ($2 = 0 OR id = $2) \
             ORDER BY received_date DESC, id DESC LIMIT $3",
        )
        .bind(customer_id)
        .bind(payment_id.unwrap_or(0))
        .bind(limit)
        .fetch_all(db.pool())
        .await?;
        let ids: Vec<i64> = rows
            .iter()
            .map(|r| r.try_get("id"))
            .collect::<Result<_, _>>()?;
        let mut applied: HashMap<i64, Vec<AppliedTo>> = HashMap::new();
        if !ids.is_empty() {
            let list = ids.iter().map(i64::to_string).collect::<Vec<_>>().join(",");
            // ids are integers read back from the database, so the list is safe to inline.
            let allocations = sqlx::query(&format!(
                "SELECT a.payment_id, a.invoice_id, i.number, a.amount_minor, a.discount_minor \
                 FROM allocations a JOIN invoices i ON i.id = a.invoice_id \
                 WHERE a.payment_id IN ({list}) ORDER BY a.id"
            ))
            .fetch_all(db.pool())
            .await?;
            for row in allocations {
                applied
                    .entry(row.try_get("payment_id")?)
                    .or_default()
                    .push(AppliedTo {
                        invoice_id: row.try_get("invoice_id")?,
                        invoice_number: row.try_get("number")?,
                        amount_minor: row.try_get("amount_minor")?,
                        discount_minor: row.try_get("discount_minor")?,
                    });
            }
        }
        rows.iter()
            .map(|row| {
                let id: i64 = row.try_get("id")?;
                let amount_minor: i64 = row.try_get("amount_minor")?;
                let applied = applied.remove(&id).unwrap_or_default();
                let currency: String = row.try_get("currency")?;
                let used: i64 = applied.iter().map(|a| a.amount_minor).sum();
                Ok(PaymentView {
                    id,
                    received_date: parse_date(&row.try_get::<String, _>("received_date")?)?,
                    method: row.try_get("method")?,
                    reference: row.try_get("business_key")?,
                    currency: currency
                        .parse()
                        .map_err(|_| DbError::Corrupt(format!("currency {currency:?}")))?,
                    amount_minor,
                    applied,
                    unapplied_minor: amount_minor - used,
                })
            })
            .collect()
    }
}
