//! Stripe payouts: the sandbox pays out its balance less Stripe's fees and the bank line of it
//! reconciles; the Stripe adapter reads a payout's fees from every page of its balance
//! transactions; a provider that cannot answer leaves the event for Stripe's retry.

use std::sync::Arc;
use std::time::Duration;

use crate::common::fake_stripe::{Answer, FakeStripe};
use crate::common::{ORIGIN, WEBHOOK_SECRET, spawn_app, spawn_app_paying_through};
use crate::payments::{acme, count, deliver, pay_with_card, start_payment};
use ledgerport::audit::Actor;
use ledgerport::checkout::{PaymentProvider, PayoutContents};
use ledgerport::testing::fixtures::assert_ledger_healthy;
use serde_json::json;
use server::sandbox::SandboxProvider;
use server::stripe::{StripeProvider, StripeSettings};

const CLERK: Actor<'static> = Actor {
    user_id: None,
    name: "clerk@ledgerport.example",
};

fn stripe(fake: &FakeStripe) -> StripeProvider {
    StripeProvider::new(
        "sk_test_ledgerport_fake",
        StripeSettings {
            api_base: Some(fake.base_url()),
            attempt_timeout: Duration::from_millis(400),
            attempts: 2,
            first_backoff: Duration::from_millis(10),
        },
    )
    .unwrap()
}

/// A camt.053 of the demo's USD account with one credit from Stripe, booked today, and the
/// bank's closing balance.
fn statement_with_payout(minor: i64, closing_minor: i64) -> String {
    let today = chrono::Utc::now().date_naive();
    let amount = |m: i64| format!("{}.{:02}", m / 100, m % 100);
    format!(
        "<?xml version=\"1.0\"?><Document xmlns=\"urn:iso:std:iso:20022:tech:xsd:camt.053.001.02\">\
         <BkToCstmrStmt><GrpHdr><MsgId>M</MsgId></GrpHdr><Stmt><Id>PAYOUT-1</Id>\
         <Acct><Id><Othr><Id>000123456789</Id></Othr></Id><Ccy>USD</Ccy></Acct>\
         <Bal><Tp><CdOrPrtry><Cd>CLBD</Cd></CdOrPrtry></Tp><Amt Ccy=\"USD\">{closing}</Amt>\
         <CdtDbtInd>CRDT</CdtDbtInd><Dt><Dt>{today}</Dt></Dt></Bal>\
         <Ntry><Amt Ccy=\"USD\">{line}</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts><Cd>BOOK</Cd></Sts>\
         <BookgDt><Dt>{today}</Dt></BookgDt><AcctSvcrRef>STRIPE-PAYOUT-1</AcctSvcrRef><NtryDtls><TxDtls>\
         <RltdPties><Dbtr><Nm>STRIPE</Nm></Dbtr></RltdPties>\
         <RmtInf><Ustrd>STRIPE TRANSFER</Ustrd></RmtInf></TxDtls></NtryDtls></Ntry>\
         </Stmt></BkToCstmrStmt></Document>",
        closing = amount(closing_minor),
        line = amount(minor),
    )
}

#[tokio::test]
async fn the_sandbox_pays_out_a_card_payment_less_stripes_fee_and_the_bank_line_of_it_reconciles() {
    let app = spawn_app().await;
    let acme = acme(&app).await;
    let (invoice, amount) = acme.open[0];
    let cookie = app.sign_in("pat@acme.example", "acme-pays-on-time").await;
    let hosted = start_payment(&app, &cookie, &format!("{invoice}:{amount}")).await;
    let paid = pay_with_card(&app, &cookie, &hosted, "4242+4242+4242+4242").await;
    assert_eq!(paid.status(), 303);

    let sandbox = SandboxProvider {
        public_base_url: ORIGIN.into(),
        db: app.db.clone(),
        webhook_secret: WEBHOOK_SECRET.to_vec(),
        refunding: Arc::default(),
    };
    // Not available yet: nothing to pay out.
    assert_eq!(
        sandbox.pay_out_available(chrono::Utc::now()).await.unwrap(),
        0
    );
    let later = chrono::Utc::now() + chrono::Duration::minutes(3);
    assert_eq!(sandbox.pay_out_available(later).await.unwrap(), 1);
    assert_eq!(sandbox.pay_out_available(later).await.unwrap(), 0);

    let fee = (amount * 29 + 500) / 1000 + 30;
    let payouts = ledgerport::payouts::store::recent_payouts(&app.db, 5)
        .await
        .unwrap();
    assert_eq!(payouts.len(), 1);
    let payout = &payouts[0];
    assert_eq!(
        (payout.amount_minor, payout.fees_minor, payout.transactions),
        (amount - fee, fee, 1)
    );
    assert_eq!(payout.bank_line_id, None);

    // The bank statement shows the payout arriving: matched to it, and reconciled.
    let bank_before: i64 = count(
        &app,
        &format!(
            "SELECT CAST(COALESCE(sum(amount_minor), 0) AS BIGINT) FROM journal_lines \
             WHERE account_code = '1000' AND currency = 'USD' AND effective_date <= '{}'",
            chrono::Utc::now().date_naive()
        ),
    )
    .await;
    let imported = ledgerport::statements::store::import_statement(
        &app.db,
        "payout.xml",
        &statement_with_payout(payout.amount_minor, bank_before),
        None,
        CLERK,
    )
    .await
    .unwrap();
    assert_eq!(imported[0].matched, 1);
    let reconciliation =
        ledgerport::statements::reconcile::reconcile_statement(&app.db, imported[0].id)
            .await
            .unwrap()
            .unwrap();
    assert!(reconciliation.unposted.is_empty(), "{reconciliation:?}");
    assert!(
        reconciliation
            .unlined
            .iter()
            .all(|posting| posting.payout_id.is_none()),
        "{reconciliation:?}"
    );
    assert_eq!(reconciliation.difference_minor(), 0);

    // Staff see it on the bank page with the statement that brought it.
    let clerk = app
        .sign_in("clerk@ledgerport.example", "clerk-works-disputes")
        .await;
    let bank = app.call("/api/admin/bank-statements", Some(&clerk)).await;
    assert_eq!(bank["payouts"][0]["id"], payout.id.as_str(), "{bank}");
    assert_eq!(bank["payouts"][0]["statement_id"], imported[0].id);
    let page = app
        .page("/admin/bank", Some(&clerk))
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains(&payout.id), "the bank page lists the payout");
    assert_ledger_healthy(&app.db).await;
}

#[tokio::test]
async fn a_payouts_fees_are_read_from_every_page_of_its_balance_transactions() {
    let fake = FakeStripe::start(vec![]).await;
    let mut charges: Vec<(&str, i64, i64)> = (0..150).map(|_| ("charge", 10_000, 320)).collect();
    charges.push(("refund", -5_000, 0));
    charges.push(("adjustment", -10_000, 1_500));
    // Stripe's own charge to the balance (Radar, Billing) is a fee too.
    charges.push(("stripe_fee", -200, 0));
    fake.pay_out("po_many", "usd", &charges);

    let contents = stripe(&fake).payout_contents("po_many").await.unwrap();
    assert_eq!(
        contents,
        PayoutContents {
            transactions: 153,
            fees_minor: 150 * 320 + 1_500 + 200,
        }
    );
    let asked = fake.received();
    assert_eq!(asked.len(), 2, "two pages of 100");
    assert_eq!(asked[0].field("payout"), Some("po_many"));
    assert_eq!(asked[0].field("limit"), Some("100"));
    assert_eq!(asked[1].field("starting_after"), Some("txn_po_many_99"));
}

#[tokio::test]
async fn a_payout_event_stripe_cannot_itemise_yet_is_refused_for_the_retry_and_then_posts_its_fees_once()
 {
    let fake = FakeStripe::start(vec![
        Answer::Error(500, "api_error", "Stripe is down"),
        Answer::Error(500, "api_error", "Stripe is down"),
    ])
    .await;
    fake.pay_out("po_live", "usd", &[("charge", 100_000, 3_230)]);
    let app = spawn_app_paying_through(Arc::new(stripe(&fake))).await;
    let event = json!({
        "id": "evt_payout_paid", "object": "event", "created": chrono::Utc::now().timestamp(),
        "type": "payout.paid",
        "data": { "object": { "id": "po_live", "object": "payout", "amount": 96_770,
            "currency": "usd", "arrival_date": chrono::Utc::now().timestamp(), "status": "paid" } }
    });
    let (status, _) = deliver(&app, &event).await;
    assert_eq!(status, 500);
    assert_eq!(count(&app, "SELECT count(*) FROM payouts").await, 0);
    assert_eq!(
        count(&app, "SELECT count(*) FROM webhook_events").await,
        0,
        "the event is not claimed, so Stripe's retry acts on it"
    );

    assert_eq!(deliver(&app, &event).await, (200, "payout".into()));
    assert_eq!(deliver(&app, &event).await, (200, "duplicate".into()));
    let fees: i64 = count(
        &app,
        "SELECT CAST(sum(l.amount_minor) AS BIGINT) FROM journal_lines l \
         JOIN journal_entries e ON e.id = l.entry_id \
         WHERE e.business_key = 'payout:po_live' AND l.account_code = '6100'",
    )
    .await;
    assert_eq!(fees, 3_230);
    assert_ledger_healthy(&app.db).await;
}
