//! The receipt email: every payment a customer makes tells the account, with the PDF receipt
//! attached, however the money arrived (paid in the portal, recorded by staff from a cheque or
//! wire, matched from a bank statement). Queued in the posting's transaction, so a payment and
//! its receipt exist together or not at all. Money that is not a customer's payment (a returned
//! debit won back from the bank, demo data) sends none.

use chrono::NaiveDate;
use sqlx::{Any, Transaction};

use super::PaymentMethod;
use super::store::PaymentReceipt;
use crate::db::DbError;
use crate::locale::Locale;
use crate::money::Money;
use crate::outbox::Attachment;
use crate::outbox::store::queue_in_their_language;
use crate::tr;

/// A posted payment as its receipt email tells it.
pub struct ReceiptMail<'a> {
    pub customer_id: i64,
    pub amount: Money,
    pub received: NaiveDate,
    pub method: PaymentMethod,
    /// What the payer knows the payment by: the provider's payment id, the cheque number, the
    /// bank's reference of the transfer.
    pub reference: &'a str,
    pub receipt: &'a PaymentReceipt,
}

/// Who a receipt goes to.
pub enum ReceiptTo<'a> {
    /// The contact who paid in the portal (greeted by name) and the account's billing contacts.
    Payer {
        name: &'a str,
        customer: &'a str,
        recipients: &'a [String],
    },
    /// Money that arrived outside the portal: whoever hears about the account's dues
    /// ([`crate::customers::store::account_recipients`]).
    Account,
}

/// A payment received longer ago than this sends no receipt: importing months of old bank
/// statements (when a company starts with the portal) must not mail every account about money
/// it paid long ago and was thanked for then.
pub const RECEIPT_MAX_AGE_DAYS: i64 = 30;

/// Queues the receipt to each recipient in their language, with the PDF receipt attached (made
/// from the books when it is sent). A replayed payment has had its receipt, and one received
/// more than [`RECEIPT_MAX_AGE_DAYS`] ago is old news: nothing is queued.
pub async fn queue(
    tx: &mut Transaction<'_, Any>,
    mail: &ReceiptMail<'_>,
    to: ReceiptTo<'_>,
) -> Result<(), DbError> {
    let age = chrono::Utc::now().date_naive() - mail.received;
    if mail.receipt.replayed || age.num_days() > RECEIPT_MAX_AGE_DAYS {
        return Ok(());
    }
    let (greeted, customer, recipients) = match to {
        ReceiptTo::Payer {
            name,
            customer,
            recipients,
        } => (Some(name), customer.to_string(), recipients.to_vec()),
        ReceiptTo::Account => {
            let customer: String = sqlx::query_scalar("SELECT name FROM customers WHERE id = $1")
                .bind(mail.customer_id)
                .fetch_one(&mut **tx)
                .await?;
            let recipients =
                crate::customers::store::account_recipients(tx, mail.customer_id).await?;
            (None, customer, recipients)
        }
    };
    if recipients.is_empty() {
        return Ok(());
    }
    let allocations = &mail.receipt.allocations;
    let ids: Vec<i64> = allocations.iter().map(|a| a.invoice_id).collect();
    let numbers = crate::invoices::reading::numbers_of(tx, &ids).await?;
    let mut applied = Vec::with_capacity(allocations.len());
    for a in allocations {
        let (_, number) = numbers
            .iter()
            .find(|(id, _)| *id == a.invoice_id)
            .ok_or_else(|| DbError::Corrupt(format!("allocated invoice {}", a.invoice_id)))?;
        applied.push((number.clone(), a.amount_minor, a.discount_minor));
    }
    let currency = mail.amount.currency();
    let unapplied = mail.receipt.unapplied.to_minor();
    let write = |locale: Locale| {
        let money = |minor| locale.money(minor, currency);
        let mut lines = String::new();
        for (number, amount, discount) in &applied {
            lines.push_str(&format!("  {number}: {}", money(*amount)));
            if *discount > 0 {
                lines.push(' ');
                lines.push_str(&tr!(
                    locale,
                    "receipt.plus_discount",
                    amount = money(*discount)
                ));
            }
            lines.push('\n');
        }
        if unapplied != 0 {
            lines.push_str(&format!(
                "  {}\n",
                tr!(locale, "receipt.credit", amount = money(unapplied))
            ));
        }
        let greeting = match greeted {
            Some(name) => tr!(locale, "receipt.hello_named", name = name),
            None => tr!(locale, "receipt.hello"),
        };
        let amount = money(mail.amount.to_minor());
        let body = tr!(
            locale,
            "receipt.body",
            greeting = greeting,
            amount = amount,
            customer = customer,
            date = locale.date(mail.received),
            method = mail.method.label_in(locale),
            reference = mail.reference,
            lines = lines
        );
        (tr!(locale, "receipt.subject", amount = amount), body)
    };
    let receipt_pdf = Attachment::Receipt {
        customer_id: mail.customer_id,
        payment_id: mail.receipt.payment_id,
    };
    queue_in_their_language(tx, &recipients, "receipt", Some(receipt_pdf), write).await
}

#[cfg(all(test, feature = "test-support"))]
mod tests {
    use super::RECEIPT_MAX_AGE_DAYS;
    use crate::audit::Actor;
    use crate::money::{Currency, Money};
    use crate::payments::PaymentMethod;
    use crate::payments::store::{OfflinePayment, record_offline_payment};
    use crate::testing::fixtures::*;
    use crate::testing::fresh_db;

    const CLERK: Actor<'static> = Actor {
        user_id: None,
        name: "clerk@ledgerport.example",
    };

    /// A cheque received `days_ago`.
    fn cheque(customer_id: i64, reference: &str, minor: i64, days_ago: i64) -> OfflinePayment {
        OfflinePayment {
            customer_id,
            method: PaymentMethod::Cheque,
            amount: Money::from_minor(minor, Currency::Eur),
            received: chrono::Utc::now().date_naive() - chrono::Duration::days(days_ago),
            reference: reference.into(),
            remitted: Vec::new(),
        }
    }

    /// (recipient, subject, body, attachment) of every receipt queued, oldest first.
    async fn receipts(db: &crate::db::Db) -> Vec<(String, String, String, Option<String>)> {
        sqlx::query_as(
            "SELECT recipient, subject, body, attachment FROM outbox WHERE kind = 'receipt' \
             ORDER BY id",
        )
        .fetch_all(db.pool())
        .await
        .unwrap()
    }

    #[tokio::test]
    async fn a_cheque_recorded_by_staff_sends_the_account_one_receipt_in_its_readers_language_with_the_pdf()
     {
        let db = fresh_db().await;
        let c = customer(&db, "C-1", Currency::Eur, (30, 0, 0)).await;
        invoice(
            &db,
            c,
            "INV-1",
            Currency::Eur,
            "2026-11-01",
            &[(100_000, 0)],
        )
        .await;
        user(
            &db,
            "einkauf@kunde.example",
            "a long enough password",
            crate::users::Role::Payer,
            Some(c),
        )
        .await;
        sqlx::query("UPDATE users SET locale = 'de' WHERE email = 'einkauf@kunde.example'")
            .execute(db.pool())
            .await
            .unwrap();

        // Without billing contacts the account's payers hear of it; the same cheque entered
        // twice is one payment and one receipt.
        let first = record_offline_payment(&db, &cheque(c, "CHQ-1", 120_000, 2), CLERK)
            .await
            .unwrap();
        let again = record_offline_payment(&db, &cheque(c, "CHQ-1", 120_000, 2), CLERK)
            .await
            .unwrap();
        assert!(again.replayed);
        let sent = receipts(&db).await;
        assert_eq!(sent.len(), 1, "{sent:?}");
        let (to, subject, body, attachment) = &sent[0];
        assert_eq!(to, "einkauf@kunde.example");
        assert_eq!(subject, "Zahlung eingegangen: 1.200,00 €");
        assert!(body.starts_with("Guten Tag,\n"), "{body}");
        assert!(body.contains("(Zahlung per Scheck, CHQ-1)"), "{body}");
        assert!(body.contains("INV-1: 1.000,00 €"), "{body}");
        assert!(
            body.contains("Guthaben auf Ihrem Konto: 200,00 €"),
            "{body}"
        );
        assert_eq!(
            attachment.as_deref(),
            Some(format!("receipt:{c}:{}", first.payment_id).as_str())
        );

        // With billing contacts, they receive it, in English unless they read German.
        sqlx::query(
            "INSERT INTO billing_contacts (customer_id, email, created_at) \
             VALUES ($1, 'ap@kunde.example', '2026-11-01T00:00:00Z')",
        )
        .bind(c)
        .execute(db.pool())
        .await
        .unwrap();
        record_offline_payment(&db, &cheque(c, "CHQ-2", 5_000, 0), CLERK)
            .await
            .unwrap();
        let sent = receipts(&db).await;
        assert_eq!(sent.len(), 2, "{sent:?}");
        let (to, subject, body, _) = &sent[1];
        assert_eq!(to, "ap@kunde.example");
        assert_eq!(subject, "Payment received: €50.00");
        assert!(body.starts_with("Hello,\n"), "{body}");
        assert!(body.contains("(Cheque payment CHQ-2)"), "{body}");
        assert!(body.contains("credit on your account: €50.00"), "{body}");

        // A cheque entered long after it arrived (old statements imported at the start) is
        // posted, but mails nobody about money paid long ago.
        let late = RECEIPT_MAX_AGE_DAYS + 1;
        let old = record_offline_payment(&db, &cheque(c, "CHQ-3", 1_000, late), CLERK)
            .await
            .unwrap();
        assert!(!old.replayed);
        assert_eq!(receipts(&db).await.len(), 2);
    }
}
