//! A customer's payments and where each went, newest first.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::money::Currency;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow))]
pub struct AppliedTo {
    pub invoice_id: i64,
    #[cfg_attr(feature = "ssr", sqlx(rename = "number"))]
    pub invoice_number: String,
    pub amount_minor: i64,
    /// Early-payment discount taken on that invoice with this payment.
    pub discount_minor: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow))]
pub struct PaymentView {
    pub id: i64,
    pub customer_id: i64,
    pub customer_number: String,
    #[cfg_attr(feature = "ssr", sqlx(try_from = "crate::db::Day"))]
    pub received_date: NaiveDate,
    pub method: String,
    #[cfg_attr(feature = "ssr", sqlx(rename = "business_key"))]
    pub reference: String,
    #[cfg_attr(feature = "ssr", sqlx(try_from = "String"))]
    pub currency: Currency,
    pub amount_minor: i64,
    /// Why the bank took it back, when a bank debit was returned (its receipt is reversed).
    pub returned: Option<String>,
    /// Filled from the allocations after the payment rows are read.
    #[cfg_attr(feature = "ssr", sqlx(skip))]
    pub applied: Vec<AppliedTo>,
    /// What was not applied to invoices and became credit on the account.
    #[cfg_attr(feature = "ssr", sqlx(skip))]
    pub unapplied_minor: i64,
}

/// One payment as staff open it: where it went, what it posted, and its refunds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentDetail {
    pub payment: PaymentView,
    /// The portal checkout a card payment settled.
    pub checkout_id: Option<String>,
    /// What can still be refunded through the provider; `None` for payments made outside it.
    pub refundable_minor: Option<i64>,
    pub refunds: Vec<crate::refunds::RefundView>,
    /// Every journal entry the payment caused: the receipt, its refunds.
    pub entries: Vec<crate::journal::JournalEntryView>,
}

/// Which payments staff (or an ERP) read: every filter is optional.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentFilter {
    pub customer_id: Option<i64>,
    pub payment_id: Option<i64>,
    pub method: Option<String>,
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
    /// Only payments with a larger id: how an ERP pages through everything since its last read.
    pub after_id: Option<i64>,
    /// Oldest first (for `after_id` paging) instead of newest first.
    pub oldest_first: bool,
    pub limit: i64,
    /// Rows to skip (page × limit), for the staff list's pages.
    pub offset: i64,
}

#[cfg(feature = "ssr")]
pub mod store {
    use std::collections::HashMap;

    use super::{AppliedTo, PaymentDetail, PaymentFilter, PaymentView};
    use crate::db::{Conditions, Db, DbError, date_text};
    use crate::refunds::RefundError;

    /// One payment with its allocations, checkout, refunds and journal entries.
    pub async fn detail(db: &Db, payment_id: i64) -> Result<Option<PaymentDetail>, RefundError> {
        let filter = PaymentFilter {
            payment_id: Some(payment_id),
            limit: 1,
            ..PaymentFilter::default()
        };
        let Some(payment) = find(db, &filter).await?.into_iter().next() else {
            return Ok(None);
        };
        let checkout_id: Option<String> =
            sqlx::query_scalar("SELECT id FROM checkouts WHERE payment_id = $1")
                .bind(payment_id)
                .fetch_optional(db.pool())
                .await?;
        // The receipt, allocations posted apart from it, and the provider refunds (keyed by
        // the provider's payment id inside this payment's key).
        let refund_keys =
            crate::keys::card_refund_prefix(crate::keys::provider_payment_of(&payment.reference));
        let entry_ids: Vec<i64> = sqlx::query_scalar(
            "SELECT entry_id FROM payments WHERE id = $1 \
             UNION SELECT entry_id FROM allocations WHERE payment_id = $1 \
             UNION SELECT entry_id FROM adjustments WHERE kind = 'refund' AND $2 <> '' \
                                 AND substr(business_key, 1, length($3)) = $3",
        )
        .bind(payment_id)
        .bind(if payment.method == "card" { "card" } else { "" })
        .bind(refund_keys)
        .fetch_all(db.pool())
        .await?;
        Ok(Some(PaymentDetail {
            checkout_id,
            refundable_minor: crate::refunds::store::refundable_minor(db, payment_id).await?,
            refunds: crate::refunds::store::refunds_of(db, payment_id).await?,
            entries: crate::journal::store::entries_by_id(db, &entry_ids).await?,
            payment,
        }))
    }

    /// The customer's payments (all, or just `payment_id`), newest first, with allocations.
    pub async fn payments(
        db: &Db,
        customer_id: i64,
        payment_id: Option<i64>,
        limit: i64,
    ) -> Result<Vec<PaymentView>, DbError> {
        find(
            db,
            &PaymentFilter {
                customer_id: Some(customer_id),
                payment_id,
                limit,
                ..PaymentFilter::default()
            },
        )
        .await
    }

    /// Payments matching `filter`, with allocations. Only the filters that are set reach the SQL.
    pub async fn find(db: &Db, filter: &PaymentFilter) -> Result<Vec<PaymentView>, DbError> {
        let mut conditions = Conditions::new();
        if let Some(id) = filter.customer_id {
            conditions.push_bind("p.customer_id = $n", id);
        }
        if let Some(id) = filter.payment_id {
            conditions.push_bind("p.id = $n", id);
        }
        if let Some(method) = &filter.method {
            conditions.push_bind("p.method = $n", method.as_str());
        }
        if let Some(from) = filter.from {
            conditions.push_bind("p.received_date >= $n", date_text(from));
        }
        if let Some(to) = filter.to {
            conditions.push_bind("p.received_date <= $n", date_text(to));
        }
        if let Some(after) = filter.after_id {
            conditions.push_bind("p.id > $n", after);
        }
        let filters = conditions.where_clause();
        let order = if filter.oldest_first {
            "p.id"
        } else {
            "p.received_date DESC, p.id DESC"
        };
        let sql = format!(
            "SELECT p.id, p.customer_id, c.number AS customer_number, p.received_date, p.method, \
                    p.business_key, p.currency, p.amount_minor, r.reason AS returned \
             FROM payments p JOIN customers c ON c.id = p.customer_id \
             LEFT JOIN payment_returns r ON r.payment_id = p.id {filters} \
             ORDER BY {order} LIMIT {} OFFSET {}",
            filter.limit.clamp(1, 1000),
            filter.offset.max(0)
        );
        let mut payments: Vec<PaymentView> = sqlx::query_as_with(&sql, conditions.arguments()?)
            .fetch_all(db.pool())
            .await?;
        if payments.is_empty() {
            return Ok(payments);
        }
        let list = payments
            .iter()
            .map(|p| p.id.to_string())
            .collect::<Vec<_>>()
            .join(",");
        // ids are integers read back from the database, so the list is safe to inline.
        let allocations = sqlx::query_as::<_, Allocation>(&format!(
            "SELECT a.payment_id, a.invoice_id, i.number, a.amount_minor, a.discount_minor \
             FROM allocations a JOIN invoices i ON i.id = a.invoice_id \
             WHERE a.payment_id IN ({list}) ORDER BY a.id"
        ))
        .fetch_all(db.pool())
        .await?;
        let mut applied: HashMap<i64, Vec<AppliedTo>> = HashMap::new();
        for allocation in allocations {
            applied
                .entry(allocation.payment_id)
                .or_default()
                .push(allocation.applied);
        }
        for payment in &mut payments {
            payment.applied = applied.remove(&payment.id).unwrap_or_default();
            let used: i64 = payment.applied.iter().map(|a| a.amount_minor).sum();
            payment.unapplied_minor = payment.amount_minor - used;
        }
        Ok(payments)
    }

    /// One allocation row: the payment it belongs to and where the money went.
    #[derive(sqlx::FromRow)]
    struct Allocation {
        payment_id: i64,
        #[sqlx(flatten)]
        applied: AppliedTo,
    }
}
