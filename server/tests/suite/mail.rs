//! Outbox delivery through the real SMTP adapter (lettre) against a fake SMTP server.

use crate::common::fake_smtp::FakeSmtp;
use ledgerport::db::Db;
use ledgerport::outbox::store::{Message, queue};
use ledgerport::testing::fresh_db;
use server::mail::{SmtpMailer, deliver_queued};
use sqlx::Row;

async fn queue_messages(db: &Db, count: usize) {
    for n in 0..count {
        queue(
            db.pool(),
            &Message {
                recipient: &format!("payer{n}@acme.example"),
                subject: &format!("Invoice INV-{n} is 7 days overdue"),
                body: "Hello,\n\n$10.00 is due now.\n",
                kind: "reminder",
            },
        )
        .await
        .unwrap();
    }
}

async fn statuses(db: &Db) -> Vec<(String, i64, String)> {
    sqlx::query("SELECT status, attempts, last_error FROM outbox ORDER BY id")
        .fetch_all(db.pool())
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect()
}

#[tokio::test]
async fn queued_messages_are_sent_over_smtp_once_and_marked_sent() {
    let smtp = FakeSmtp::start(false).await;
    let db = fresh_db().await;
    queue_messages(&db, 3).await;
    let mailer = SmtpMailer::new(&smtp.url(), "Ledgerport <ar@ledgerport.example>").unwrap();
    let first = deliver_queued(&db, &mailer, 100).await.unwrap();
    assert_eq!((first.sent, first.failed), (3, 0));
    let again = deliver_queued(&db, &mailer, 100).await.unwrap();
    assert_eq!(again.sent, 0, "a sent message is never sent again");
    let received = smtp.messages();
    assert_eq!(received.len(), 3);
    assert_eq!(received[0].to, "payer0@acme.example");
    assert!(
        received[0]
            .data
            .contains("Subject: Invoice INV-0 is 7 days overdue")
    );
    assert!(received[0].data.contains("$10.00 is due now."));
    assert!(
        statuses(&db)
            .await
            .iter()
            .all(|(s, a, _)| s == "sent" && *a == 1)
    );
}

#[tokio::test]
async fn a_refused_message_is_kept_with_the_reason_and_retried_only_after_a_pause() {
    let smtp = FakeSmtp::start(true).await;
    let db = fresh_db().await;
    queue_messages(&db, 1).await;
    let mailer = SmtpMailer::new(&smtp.url(), "ar@ledgerport.example").unwrap();
    let delivery = deliver_queued(&db, &mailer, 100).await.unwrap();
    assert_eq!((delivery.sent, delivery.failed), (0, 1));
    let (status, attempts, error) = statuses(&db).await.remove(0);
    assert_eq!((status.as_str(), attempts), ("queued", 1));
    assert!(
        error.contains("550") || error.to_lowercase().contains("mailbox"),
        "{error}"
    );
    // The next attempt waits: nothing is claimed straight away.
    let soon = deliver_queued(&db, &mailer, 100).await.unwrap();
    assert_eq!((soon.sent, soon.failed), (0, 0));
}

#[tokio::test]
async fn two_senders_at_once_deliver_each_message_once() {
    let smtp = FakeSmtp::start(false).await;
    let url = ledgerport::testing::fresh_url().await;
    let settings = ledgerport::db::PoolSettings::default();
    let one = Db::connect(&url, &settings).await.unwrap();
    one.migrate().await.unwrap();
    let two = Db::connect(&url, &settings).await.unwrap();
    queue_messages(&one, 30).await;
    let mailer = SmtpMailer::new(&smtp.url(), "ar@ledgerport.example").unwrap();
    let (a, b) = tokio::join!(
        deliver_queued(&one, &mailer, 100),
        deliver_queued(&two, &mailer, 100)
    );
    assert_eq!(a.unwrap().sent + b.unwrap().sent, 30);
    assert_eq!(smtp.messages().len(), 30);
    let mut recipients: Vec<String> = smtp.messages().into_iter().map(|m| m.to).collect();
    recipients.sort();
    recipients.dedup();
    assert_eq!(recipients.len(), 30, "no message went out twice");
}

#[tokio::test]
async fn a_receipt_email_carries_the_payments_pdf_receipt() {
    let smtp = FakeSmtp::start(false).await;
    let app = crate::common::spawn_app().await;
    let acme = crate::payments::acme(&app).await;
    let pat = app.sign_in("pat@acme.example", "acme-pays-on-time").await;
    let (checkout, total) = crate::payments::checkout(&app, &acme, &acme.open[..1]).await;
    let paid = crate::payments::completed("evt_receipt", &checkout, "pi_receipt", total);
    assert_eq!(crate::payments::deliver(&app, &paid).await.0, 200);
    let payment_id: i64 = sqlx::query_scalar("SELECT MAX(id) FROM payments")
        .fetch_one(app.db.pool())
        .await
        .unwrap();
    let mailer = SmtpMailer::new(&smtp.url(), "Ledgerport <ar@ledgerport.example>").unwrap();
    deliver_queued(&app.db, &mailer, 100).await.unwrap();
    let receipt = smtp
        .messages()
        .into_iter()
        .find(|m| m.to == "pat@acme.example" && m.data.contains("Subject: Payment received"))
        .expect("the receipt email was sent");
    assert!(receipt.data.contains("Content-Type: multipart/mixed"));
    assert!(receipt.data.contains("The receipt is attached as a PDF."));
    assert!(
        receipt
            .data
            .contains(&format!("filename=\"receipt-{payment_id}.pdf\"")),
        "{}",
        receipt.data
    );
    // The PDF (base64 in the message) is the one the payment's page offers.
    use base64::Engine;
    let data = receipt.data.replace("\r\n", "\n");
    let part = data
        .split("\n--")
        .find(|part| part.contains("filename=\"receipt-"))
        .expect("the attachment's part");
    assert!(
        part.contains("Content-Transfer-Encoding: base64"),
        "{part:?}"
    );
    let (_, body) = part.split_once("\n\n").expect("the part's body");
    let encoded: String = body.split_whitespace().collect();
    let pdf = base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .unwrap();
    let page = app
        .page(&format!("/documents/payments/{payment_id}.pdf"), Some(&pat))
        .await
        .bytes()
        .await
        .unwrap();
    assert_eq!(pdf, page.to_vec());
}

#[tokio::test]
async fn a_receipt_whose_payment_is_gone_still_goes_out_without_the_pdf() {
    let smtp = FakeSmtp::start(false).await;
    let db = fresh_db().await;
    let mut conn = db.pool().acquire().await.unwrap();
    ledgerport::outbox::store::queue_in_their_language(
        &mut conn,
        &["payer@acme.example".to_string()],
        "receipt",
        Some(ledgerport::outbox::Attachment::Receipt {
            customer_id: 1,
            payment_id: 999_999,
        }),
        |_| ("Payment received: $10.00".into(), "Thank you.".into()),
    )
    .await
    .unwrap();
    drop(conn);
    let mailer = SmtpMailer::new(&smtp.url(), "Ledgerport <ar@ledgerport.example>").unwrap();
    let delivery = deliver_queued(&db, &mailer, 100).await.unwrap();
    assert_eq!((delivery.sent, delivery.failed), (1, 0));
    let sent = smtp.messages();
    assert!(sent[0].data.contains("Thank you."));
    assert!(!sent[0].data.contains("multipart/mixed"));
}
