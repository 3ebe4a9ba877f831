//! Reading and saving an account's billing details (audited, with what they were before).

use sqlx::Row;

use super::BillingDetails;
use crate::audit;
use crate::auth::Caller;
use crate::db::{Db, DbError};
use crate::locale::{Explain, Locale};

#[derive(Debug, thiserror::Error)]
pub enum BillingStoreError {
    #[error("{}", self.explain(Locale::En))]
    NotAllowed,
    #[error("{}", self.explain(Locale::En))]
    UnknownCustomer,
    #[error(transparent)]
    Db(#[from] DbError),
}

impl Explain for BillingStoreError {
    fn explain(&self, locale: Locale) -> String {
        let text = match self {
            BillingStoreError::NotAllowed => locale.pick(
                "only a payer of the account can change its billing details",
                "nur wer für das Konto zahlen darf, kann die Rechnungsdaten des Kontos ändern",
            ),
            BillingStoreError::UnknownCustomer => {
                locale.pick("there is no such customer", "diesen Kunden gibt es nicht")
            }
            BillingStoreError::Db(e) => return e.to_string(),
        };
        text.into()
    }
}

crate::from_sqlx_error!(BillingStoreError);

pub async fn billing_details(db: &Db, customer_id: i64) -> Result<Option<BillingDetails>, DbError> {
    let row = sqlx::query(
        "SELECT billing_address, billing_country, tax_id, standing_po FROM customers WHERE id = $1",
    )
    .bind(customer_id)
    .fetch_optional(db.pool())
    .await?;
    row.map(|row| {
        let address: String = row.try_get("billing_address")?;
        Ok(BillingDetails {
            address: address.lines().map(str::to_string).collect(),
            country: row.try_get("billing_country")?,
            tax_id: row.try_get("tax_id")?,
            standing_po: row.try_get("standing_po")?,
        })
    })
    .transpose()
}

/// A payer of the account saves its billing details (staff read them; the customer keeps them).
pub async fn save_billing_details(
    db: &Db,
    actor: &Caller,
    customer_id: i64,
    details: &BillingDetails,
    ip: &str,
) -> Result<(), BillingStoreError> {
    if actor.customer_id != Some(customer_id) || !actor.can_pay() {
        return Err(BillingStoreError::NotAllowed);
    }
    let before = billing_details(db, customer_id)
        .await?
        .ok_or(BillingStoreError::UnknownCustomer)?;
    let mut tx = db.begin_write().await?;
    sqlx::query(
        "UPDATE customers SET billing_address = $1, billing_country = $2, tax_id = $3, \
         standing_po = $4 WHERE id = $5",
    )
    .bind(details.address_text())
    .bind(&details.country)
    .bind(&details.tax_id)
    .bind(&details.standing_po)
    .bind(customer_id)
    .execute(&mut *tx)
    .await?;
    let summary = |d: &BillingDetails| {
        format!(
            "{} [{}] tax ID {:?} PO {:?}",
            d.address.join(", "),
            d.country,
            d.tax_id,
            d.standing_po
        )
    };
    audit::record(
        &mut *tx,
        Some(actor.user_id),
        &actor.email,
        "billing_details_changed",
        &format!("customer {customer_id}"),
        &format!("{} -> {}", summary(&before), summary(details)),
        ip,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

#[cfg(all(test, feature = "test-support"))]
mod tests {
    use super::*;
    use crate::seed::{DEMO_LOGINS, seed_demo};
    use crate::testing::{fresh_db, sign_in_demo};

    #[tokio::test]
    async fn a_payer_saves_the_billing_details_audited_and_a_viewer_another_account_or_staff_cannot()
     {
        let db = fresh_db().await;
        seed_demo(&db).await.unwrap();
        let payer = sign_in_demo(&db, &DEMO_LOGINS[0]).await;
        let viewer = sign_in_demo(&db, &DEMO_LOGINS[1]).await;
        let other = sign_in_demo(&db, &DEMO_LOGINS[4]).await;
        let clerk = sign_in_demo(&db, &DEMO_LOGINS[2]).await;
        let acme = payer.customer_id.unwrap();
        let details =
            BillingDetails::parse("Acme Fabrication Ltd\n9 Foundry Lane", "GB", "GB123456789")
                .unwrap();
        for refused in [&viewer, &other, &clerk] {
            assert!(matches!(
                save_billing_details(&db, refused, acme, &details, "").await,
                Err(BillingStoreError::NotAllowed)
            ));
        }
        save_billing_details(&db, &payer, acme, &details, "127.0.0.1")
            .await
            .unwrap();
        assert_eq!(
            billing_details(&db, acme).await.unwrap(),
            Some(details.clone())
        );
        let detail: String = sqlx::query_scalar(
            "SELECT detail FROM audit_log WHERE action = 'billing_details_changed'",
        )
        .fetch_one(db.pool())
        .await
        .unwrap();
        assert!(
            detail.ends_with(
                "-> Acme Fabrication Ltd, 9 Foundry Lane [GB] tax ID \"GB123456789\" PO \"\""
            ),
            "{detail}"
        );
    }

    #[tokio::test]
    async fn an_invoice_issued_without_a_po_carries_the_accounts_standing_po_and_its_own_po_wins() {
        use crate::invoices::store::issue_invoice;
        use crate::invoices::{InvoiceNumber, LineItem, NewInvoice};
        use crate::money::{Currency, Money};
        let db = fresh_db().await;
        seed_demo(&db).await.unwrap();
        let payer = sign_in_demo(&db, &DEMO_LOGINS[0]).await;
        let acme = payer.customer_id.unwrap();
        let details = BillingDetails::parse("Acme Fabrication Ltd", "US", "")
            .unwrap()
            .with_standing_po(" 4500012345 ")
            .unwrap();
        save_billing_details(&db, &payer, acme, &details, "")
            .await
            .unwrap();
        assert_eq!(
            billing_details(&db, acme)
                .await
                .unwrap()
                .unwrap()
                .standing_po,
            "4500012345"
        );
        let issue = |number: &'static str, po: Option<&'static str>| {
            let db = db.clone();
            async move {
                let line = LineItem::new(
                    1,
                    "Goods",
                    rust_decimal::Decimal::ONE,
                    Money::from_minor(10_000, Currency::Usd),
                    0,
                    0,
                )
                .unwrap();
                let invoice = NewInvoice::new(
                    acme,
                    InvoiceNumber::parse(number).unwrap(),
                    po,
                    chrono::Utc::now().date_naive(),
                    Currency::Usd,
                    vec![line],
                )
                .unwrap();
                let id = issue_invoice(&db, &invoice).await.unwrap().invoice_id;
                sqlx::query_scalar::<_, Option<String>>(
                    "SELECT po_number FROM invoices WHERE id = $1",
                )
                .bind(id)
                .fetch_one(db.pool())
                .await
                .unwrap()
            }
        };
        assert_eq!(
            issue("PO-TEST-1", None).await.as_deref(),
            Some("4500012345")
        );
        assert_eq!(
            issue("PO-TEST-2", Some("PO-ERP-9")).await.as_deref(),
            Some("PO-ERP-9")
        );
        assert!(matches!(
            BillingDetails::default().with_standing_po(&"9".repeat(65)),
            Err(crate::customers::billing::BillingError::PurchaseOrder)
        ));
        assert!(
            BillingDetails::default()
                .with_standing_po("45\n00")
                .is_err()
        );
    }
}
