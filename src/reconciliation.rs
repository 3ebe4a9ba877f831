//! Reconciliation: what the payment provider told us it collected (each checkout it reported as
//! paid, through its signed events) against the receipts in the ledger. Every difference is
//! flagged; a healthy book has none.

use serde::{Deserialize, Serialize};

use crate::money::Currency;

/// Why a row does not reconcile.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Difference {
    /// The provider reported the checkout paid, but no receipt was posted.
    NotInLedger,
    /// A card receipt in the ledger that no provider checkout accounts for.
    NoProviderPayment,
    /// Both exist but the amounts differ.
    AmountsDiffer,
}

impl Difference {
    pub fn label(self) -> &'static str {
        match self {
            Difference::NotInLedger => "paid at the provider, no receipt in the ledger",
            Difference::NoProviderPayment => "card receipt with no provider payment",
            Difference::AmountsDiffer => "amounts differ",
        }
    }
}

/// One provider payment and its receipt, or one of them alone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow))]
pub struct ReconciliationRow {
    pub date: String,
    pub customer_id: i64,
    pub customer_number: String,
    #[cfg_attr(feature = "ssr", sqlx(try_from = "String"))]
    pub currency: Currency,
    pub checkout_id: Option<String>,
    pub provider: Option<String>,
    pub provider_amount_minor: Option<i64>,
    pub payment_id: Option<i64>,
    /// The receipt's reference: for card payments `stripe:` and the provider's payment id.
    pub reference: Option<String>,
    pub ledger_amount_minor: Option<i64>,
    /// Worked out from the two sides by `flagged`.
    #[cfg_attr(feature = "ssr", sqlx(skip))]
    pub difference: Option<Difference>,
}

impl ReconciliationRow {
    /// Flags the row from what is on each side.
    pub fn flagged(mut self) -> Self {
        self.difference = match (self.provider_amount_minor, self.ledger_amount_minor) {
            (Some(_), None) => Some(Difference::NotInLedger),
            (None, Some(_)) => Some(Difference::NoProviderPayment),
            (Some(a), Some(b)) if a != b => Some(Difference::AmountsDiffer),
            _ => None,
        };
        self
    }
}

#[cfg(feature = "ssr")]
pub mod store {
    use chrono::NaiveDate;

    use super::ReconciliationRow;
    use crate::db::{Db, DbError, date_text};

    /// Provider payments (checkouts reported paid) and card receipts from `from` to `to`
    /// (by the checkout's creation or the receipt's date), oldest first.
    pub async fn reconcile(
        db: &Db,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<ReconciliationRow>, DbError> {
        // Checkout times are RFC 3339 text; the day after `to` bounds them from above.
        let (start, end) = (date_text(from), date_text(to + chrono::Duration::days(1)));
        let provider_side: Vec<ReconciliationRow> = sqlx::query_as(
            "SELECT substr(k.created_at, 1, 10) AS date, k.customer_id, c.number AS customer_number, \
                    k.currency, k.id AS checkout_id, k.provider, \
                    k.amount_minor AS provider_amount_minor, p.id AS payment_id, \
                    p.business_key AS reference, p.amount_minor AS ledger_amount_minor \
             FROM checkouts k JOIN customers c ON c.id = k.customer_id \
             LEFT JOIN payments p ON p.id = k.payment_id \
             WHERE (k.status = 'succeeded' OR k.payment_id IS NOT NULL) \
               AND k.created_at >= $1 AND k.created_at < $2",
        )
        .bind(&start)
        .bind(&end)
        .fetch_all(db.pool())
        .await?;
        // Card receipts no checkout points at: the provider side is empty.
        let receipts_alone: Vec<ReconciliationRow> = sqlx::query_as(
            "SELECT p.received_date AS date, p.customer_id, c.number AS customer_number, p.currency, \
                    CAST(NULL AS TEXT) AS checkout_id, CAST(NULL AS TEXT) AS provider, \
                    CAST(NULL AS BIGINT) AS provider_amount_minor, p.id AS payment_id, \
                    p.business_key AS reference, p.amount_minor AS ledger_amount_minor \
             FROM payments p JOIN customers c ON c.id = p.customer_id \
             WHERE p.method = 'card' AND p.received_date >= $1 AND p.received_date <= $2 \
               AND NOT EXISTS (SELECT 1 FROM checkouts k WHERE k.payment_id = p.id)",
        )
        .bind(date_text(from))
        .bind(date_text(to))
        .fetch_all(db.pool())
        .await?;
        let mut rows: Vec<ReconciliationRow> = provider_side
            .into_iter()
            .chain(receipts_alone)
            .map(ReconciliationRow::flagged)
            .collect();
        rows.sort_by(|a, b| a.date.cmp(&b.date));
        Ok(rows)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(provider: Option<i64>, ledger: Option<i64>) -> ReconciliationRow {
        ReconciliationRow {
            date: "2026-11-23".into(),
            customer_id: 1,
            customer_number: "C-1".into(),
            currency: Currency::Usd,
            checkout_id: None,
            provider: None,
            provider_amount_minor: provider,
            payment_id: None,
            reference: None,
            ledger_amount_minor: ledger,
            difference: None,
        }
        .flagged()
    }

    #[test]
    fn each_kind_of_difference_is_flagged_and_a_match_is_not() {
        assert_eq!(row(Some(500), Some(500)).difference, None);
        assert_eq!(
            row(Some(500), None).difference,
            Some(Difference::NotInLedger)
        );
        assert_eq!(
            row(None, Some(500)).difference,
            Some(Difference::NoProviderPayment)
        );
        assert_eq!(
            row(Some(500), Some(400)).difference,
            Some(Difference::AmountsDiffer)
        );
    }
}
