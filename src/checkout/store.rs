//! The pay flow in the database: review the customer's choice, open a checkout, apply credit
//! first, and read a checkout back. Provider events settle it in the settlement module.

use chrono::NaiveDate;
use sqlx::Row;

use super::{
    CheckoutError, CheckoutStatus, CheckoutView, MAXIMUM_CHARGE_MINOR, MAXIMUM_INVOICES,
    MINIMUM_CHARGE_MINOR, PayItem, PaymentReview, ReviewLine,
};
use crate::db::{Db, DbError, now_text, parse_date};
use crate::keys;
use crate::money::Money;
use crate::payments::store::open_invoice;
use crate::payments::{AllocationRule, plan_allocation};
use crate::receivables::due_now;
use crate::receivables::store::{CashError, due_invoices, lock_customer, unapplied_credit_in};

#[derive(Debug, thiserror::Error)]
pub enum CheckoutStoreError {
    #[error(transparent)]
    Refused(#[from] CheckoutError),
    #[error(transparent)]
    Cash(#[from] CashError),
    #[error(
        "a refund on {payment_reference} exceeds what its payment settled and left as credit by {unplaced_minor} minor units"
    )]
    RefundBeyondPayment {
        payment_reference: String,
        unplaced_minor: i64,
    },
    #[error(transparent)]
    Db(#[from] DbError),
}

crate::from_sqlx_error!(CheckoutStoreError);

/// Checks the customer's choice against the invoices as they are now and computes where the
/// money goes, discounts included. Nothing is written.
pub async fn review(
    db: &Db,
    customer_id: i64,
    items: &[PayItem],
    today: NaiveDate,
) -> Result<PaymentReview, CheckoutStoreError> {
    if items.is_empty() {
        return Err(CheckoutError::NothingSelected.into());
    }
    if items.len() > MAXIMUM_INVOICES {
        return Err(CheckoutError::TooManyInvoices.into());
    }
    let mut seen = std::collections::BTreeSet::new();
    if !items.iter().all(|i| seen.insert(i.invoice_id)) {
        return Err(CheckoutError::DuplicateInvoice.into());
    }
    let currency = crate::customers::store::customer_currency(db, customer_id)
        .await?
        .ok_or(CashError::UnknownCustomer(customer_id))?;
    let mut invoices = Vec::with_capacity(items.len());
    let mut facts = Vec::with_capacity(items.len());
    for item in items {
        let row = sqlx::query(
            "SELECT id, number, due_date, total_minor, open_minor, held_minor, discount_bp, \
                    discount_until, voided_at FROM invoices WHERE id = $1 AND customer_id = $2",
        )
        .bind(item.invoice_id)
        .bind(customer_id)
        .fetch_optional(db.pool())
        .await?
        .ok_or(CheckoutError::UnknownInvoice(item.invoice_id))?;
        let number: String = row.try_get("number")?;
        let invoice = open_invoice(&row)?;
        if row.try_get::<Option<String>, _>("voided_at")?.is_some() || invoice.open_minor == 0 {
            return Err(CheckoutError::NotPayable(number).into());
        }
        if item.amount_minor <= 0 {
            return Err(CheckoutError::NotPositive { number }.into());
        }
        if item.amount_minor > invoice.open_minor {
            return Err(CheckoutError::MoreThanOpen { number }.into());
        }
        // What open disputes hold is not due; the rest of the invoice stays payable.
        let held: i64 = row.try_get("held_minor")?;
        let payable = due_now(invoice.open_minor, held);
        if item.amount_minor > payable {
            return Err(CheckoutError::InDispute {
                number,
                payable: Money::from_minor(payable, currency).to_string(),
            }
            .into());
        }
        facts.push((number, parse_date(&row.try_get::<String, _>("due_date")?)?));
        invoices.push(invoice);
    }
    let parts = items
        .iter()
        .map(|i| (i.invoice_id, Money::from_minor(i.amount_minor, currency)))
        .collect();
    let asked: i64 = items.iter().map(|i| i.amount_minor).sum();
    let plan = plan_allocation(
        asked,
        currency,
        &invoices,
        &AllocationRule::Explicit(parts),
        today,
        true,
    );
    let lines: Vec<ReviewLine> = invoices
        .iter()
        .zip(facts)
        .map(|(invoice, (number, due_date))| {
            let planned = plan.allocations.iter().find(|a| a.invoice_id == invoice.id);
            ReviewLine {
                invoice_id: invoice.id,
                number,
                due_date,
                open_minor: invoice.open_minor,
                pay_minor: planned.map_or(0, |a| a.amount_minor),
                discount_minor: planned.map_or(0, |a| a.discount_minor),
            }
        })
        .collect();
    let total_minor: i64 = lines.iter().map(|l| l.pay_minor).sum();
    if total_minor < MINIMUM_CHARGE_MINOR {
        return Err(CheckoutError::BelowMinimum {
            minimum: Money::from_minor(MINIMUM_CHARGE_MINOR, currency).to_string(),
        }
        .into());
    }
    if total_minor > MAXIMUM_CHARGE_MINOR {
        return Err(CheckoutError::AboveMaximum {
            maximum: Money::from_minor(MAXIMUM_CHARGE_MINOR, currency).to_string(),
        }
        .into());
    }
    let unapplied_credit_minor = unapplied_credit_in(db.pool(), customer_id, currency)
        .await?
        .to_minor();
    Ok(PaymentReview {
        currency,
        lines,
        total_minor,
        unapplied_credit_minor,
    })
}

fn new_checkout_id() -> String {
    format!("lp_{}", crate::secrets::random_hex(12))
}

/// Reviews again and records the checkout the provider will be asked to collect.
pub async fn open_checkout(
    db: &Db,
    customer_id: i64,
    user_id: i64,
    provider: &str,
    items: &[PayItem],
    today: NaiveDate,
) -> Result<(String, PaymentReview), CheckoutStoreError> {
    let review = review(db, customer_id, items, today).await?;
    let id = new_checkout_id();
    let allocations: Vec<PayItem> = review
        .lines
        .iter()
        .map(|l| PayItem {
            invoice_id: l.invoice_id,
            amount_minor: l.pay_minor,
        })
        .collect();
    sqlx::query(
        "INSERT INTO checkouts (id, customer_id, user_id, provider, currency, amount_minor, \
         allocations, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8)",
    )
    .bind(&id)
    .bind(customer_id)
    .bind(user_id)
    .bind(provider)
    .bind(review.currency.code())
    .bind(review.total_minor)
    .bind(PayItem::list_text(&allocations))
    .bind(now_text())
    .execute(db.pool())
    .await?;
    Ok((id, review))
}

/// Remembers the provider's session for a checkout (for reconciliation and support).
pub async fn attach_provider_session(
    db: &Db,
    checkout_id: &str,
    session_id: &str,
) -> Result<(), DbError> {
    sqlx::query("UPDATE checkouts SET provider_session_id = $1, updated_at = $2 WHERE id = $3")
        .bind(session_id)
        .bind(now_text())
        .bind(checkout_id)
        .execute(db.pool())
        .await?;
    Ok(())
}

/// A checkout of this customer.
pub async fn checkout_view(
    db: &Db,
    customer_id: i64,
    checkout_id: &str,
) -> Result<Option<CheckoutView>, DbError> {
    let Some(row) = sqlx::query(
        "SELECT id, status, currency, amount_minor, failure_message, payment_id FROM checkouts \
         WHERE id = $1 AND customer_id = $2",
    )
    .bind(checkout_id)
    .bind(customer_id)
    .fetch_optional(db.pool())
    .await?
    else {
        return Ok(None);
    };
    let status: String = row.try_get("status")?;
    let currency: String = row.try_get("currency")?;
    Ok(Some(CheckoutView {
        id: row.try_get("id")?,
        status: CheckoutStatus::parse(&status)
            .ok_or_else(|| DbError::Corrupt(format!("checkout status {status:?}")))?,
        currency: currency
            .parse()
            .map_err(|_| DbError::Corrupt(format!("currency {currency:?}")))?,
        amount_minor: row.try_get("amount_minor")?,
        failure_message: row.try_get("failure_message")?,
        payment_id: row.try_get("payment_id")?,
    }))
}

/// The open invoices among `invoice_ids` (all open invoices when empty), each at what is due
/// now (open less what disputes hold): the starting point of the pay page.
pub async fn full_amounts(
    db: &Db,
    customer_id: i64,
    invoice_ids: &[i64],
) -> Result<Vec<PayItem>, DbError> {
    Ok(due_invoices(db.pool(), customer_id, invoice_ids)
        .await?
        .into_iter()
        .map(|d| PayItem {
            invoice_id: d.invoice_id,
            amount_minor: d.due_minor,
        })
        .collect())
}

/// Pays the chosen invoices from the customer's unapplied credit first, in the order given,
/// each up to its chosen amount and to what is due now on it. Returns what is left for the card
/// (invoices the credit did not cover, at their remaining amounts).
pub async fn apply_credit_first(
    db: &Db,
    customer_id: i64,
    items: &[PayItem],
    today: NaiveDate,
) -> Result<Vec<PayItem>, CheckoutStoreError> {
    use crate::payments::AllocationRule;
    // Every invoice named must be this customer's (one query; ids are numbers, so literals).
    let ids: Vec<i64> = items.iter().map(|i| i.invoice_id).collect();
    let list = ids
        .iter()
        .map(i64::to_string)
        .collect::<Vec<_>>()
        .join(", ");
    let ours: Vec<i64> = if ids.is_empty() {
        Vec::new()
    } else {
        sqlx::query(&format!(
            "SELECT id FROM invoices WHERE customer_id = $1 AND id IN ({list})"
        ))
        .bind(customer_id)
        .fetch_all(db.pool())
        .await?
        .iter()
        .map(|r| r.try_get(0))
        .collect::<Result<_, _>>()?
    };
    if let Some(unknown) = ids.iter().find(|id| !ours.contains(id)) {
        return Err(CheckoutError::UnknownInvoice(*unknown).into());
    }
    // Read what is due and the credit under the customer lock, in the transaction that uses
    // them, so two tabs cannot both spend the same credit.
    let mut tx = db.begin_write().await?;
    let currency = lock_customer(&mut tx, db.engine(), customer_id).await?;
    let due = due_invoices(&mut *tx, customer_id, &ids).await?;
    let mut credit = unapplied_credit_in(&mut *tx, customer_id, currency)
        .await?
        .to_minor();
    let mut parts = Vec::new();
    for item in items {
        let payable = due
            .iter()
            .find(|d| d.invoice_id == item.invoice_id)
            .map_or(0, |d| d.due_minor);
        let used = item.amount_minor.min(payable).min(credit).max(0);
        if used > 0 {
            credit -= used;
            parts.push((item.invoice_id, Money::from_minor(used, currency)));
        }
    }
    if parts.is_empty() {
        return Err(CheckoutError::NoCredit.into());
    }
    let total = parts.iter().map(|(_, m)| m.to_minor()).sum();
    let applied = crate::payments::store::apply_credit_in(
        &mut tx,
        db.engine(),
        customer_id,
        &keys::portal_credit(&crate::secrets::random_hex(12)),
        Some(Money::from_minor(total, currency)),
        &AllocationRule::Explicit(parts),
        today,
    )
    .await?;
    tx.commit().await?;
    Ok(items
        .iter()
        .filter_map(|item| {
            let settled: i64 = applied
                .iter()
                .filter(|a| a.invoice_id == item.invoice_id)
                .map(|a| a.amount_minor + a.discount_minor)
                .sum();
            let left = item.amount_minor - settled;
            (left > 0).then_some(PayItem {
                invoice_id: item.invoice_id,
                amount_minor: left,
            })
        })
        .collect())
}

#[cfg(all(test, feature = "test-support"))]
mod tests {
    use chrono::Utc;

    use super::*;
    use crate::testing::fixtures::demo_acme;
    use crate::testing::fresh_db;

    fn today() -> NaiveDate {
        Utc::now().date_naive()
    }

    #[tokio::test]
    async fn the_review_grants_the_discount_only_for_a_full_payment_inside_the_window() {
        let db = fresh_db().await;
        let (customer, _, open) = demo_acme(&db).await;
        // The newest invoice was issued 5 days ago on 2/10 net 30.
        let (newest, newest_open) = *open.last().unwrap();
        let full = review(
            &db,
            customer,
            &[PayItem {
                invoice_id: newest,
                amount_minor: newest_open,
            }],
            today(),
        )
        .await
        .unwrap();
        let line = &full.lines[0];
        assert!(line.discount_minor > 0);
        assert_eq!(line.pay_minor + line.discount_minor, newest_open);
        assert_eq!(full.total_minor, line.pay_minor);
        let partial = review(
            &db,
            customer,
            &[PayItem {
                invoice_id: newest,
                amount_minor: 1_000,
            }],
            today(),
        )
        .await
        .unwrap();
        assert_eq!(
            (partial.lines[0].pay_minor, partial.lines[0].discount_minor),
            (1_000, 0)
        );
    }

    #[tokio::test]
    async fn the_review_refuses_too_much_too_little_and_other_accounts_invoices() {
        let db = fresh_db().await;
        let (customer, _, open) = demo_acme(&db).await;
        let (id, amount) = open[0];
        let too_much = review(
            &db,
            customer,
            &[PayItem {
                invoice_id: id,
                amount_minor: amount + 1,
            }],
            today(),
        )
        .await;
        assert!(matches!(
            too_much,
            Err(CheckoutStoreError::Refused(
                CheckoutError::MoreThanOpen { .. }
            ))
        ));
        let too_little = review(
            &db,
            customer,
            &[PayItem {
                invoice_id: id,
                amount_minor: 10,
            }],
            today(),
        )
        .await;
        assert!(matches!(
            too_little,
            Err(CheckoutStoreError::Refused(
                CheckoutError::BelowMinimum { .. }
            ))
        ));
        let negative = review(
            &db,
            customer,
            &[PayItem {
                invoice_id: id,
                amount_minor: -5,
            }],
            today(),
        )
        .await;
        assert!(matches!(
            negative,
            Err(CheckoutStoreError::Refused(
                CheckoutError::NotPositive { .. }
            ))
        ));
        let northwind: i64 = sqlx::query("SELECT min(i.id) FROM invoices i JOIN customers c ON c.id = i.customer_id WHERE c.number = 'C-1002'")
            .fetch_one(db.pool())
            .await
            .unwrap()
            .get(0);
        let foreign = review(
            &db,
            customer,
            &[PayItem {
                invoice_id: northwind,
                amount_minor: 100,
            }],
            today(),
        )
        .await;
        assert!(matches!(
            foreign,
            Err(CheckoutStoreError::Refused(CheckoutError::UnknownInvoice(
                _
            )))
        ));
    }
}
