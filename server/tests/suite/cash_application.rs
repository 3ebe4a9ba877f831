//! The cash-application queue over HTTP: a statement's credit the rules could not match waits
//! with suggestions; staff apply one, the customer sees the payment and where it went; the
//! statement page reconciles the bank's closing balance; only managers set the write-off
//! tolerance.

use crate::common::spawn_app;
use ledgerport::audit::Actor;

const CLERK: Actor<'static> = Actor {
    user_id: None,
    name: "clerk@ledgerport.example",
};

/// A camt.053 of the demo's USD account: `minor` from a payer the rules do not know, with a
/// closing balance.
fn statement(minor: i64) -> String {
    format!(
        "<?xml version=\"1.0\"?><Document xmlns=\"urn:iso:std:iso:20022:tech:xsd:camt.053.001.02\">\
         <BkToCstmrStmt><GrpHdr><MsgId>M</MsgId></GrpHdr><Stmt><Id>Q-1</Id>\
         <Acct><Id><Othr><Id>000123456789</Id></Othr></Id><Ccy>USD</Ccy></Acct>\
         <Bal><Tp><CdOrPrtry><Cd>CLBD</Cd></CdOrPrtry></Tp><Amt Ccy=\"USD\">{0}.{1:02}</Amt>\
         <CdtDbtInd>CRDT</CdtDbtInd><Dt><Dt>2026-12-04</Dt></Dt></Bal>\
         <Ntry><Amt Ccy=\"USD\">{0}.{1:02}</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts><Cd>BOOK</Cd></Sts>\
         <BookgDt><Dt>2026-12-04</Dt></BookgDt><AcctSvcrRef>QUEUE-1</AcctSvcrRef><NtryDtls><TxDtls>\
         <RltdPties><Dbtr><Nm>Acme Treasury</Nm></Dbtr></RltdPties>\
         <RmtInf><Ustrd>Thank you</Ustrd></RmtInf></TxDtls></NtryDtls></Ntry>\
         </Stmt></BkToCstmrStmt></Document>",
        minor / 100,
        minor % 100
    )
}

#[tokio::test]
async fn staff_apply_a_waiting_line_from_its_suggestion_and_the_customer_sees_where_it_went() {
    let app = spawn_app().await;
    let acme = crate::payments::acme(&app).await;
    let (invoice, amount) = acme.open[0];
    let imported = ledgerport::statements::store::import_statement(
        &app.db,
        "q.xml",
        &statement(amount),
        None,
        CLERK,
    )
    .await
    .unwrap();
    assert_eq!(imported[0].matched, 0);
    let clerk = app
        .sign_in("clerk@ledgerport.example", "clerk-works-disputes")
        .await;

    let queue = app.call("/api/admin/cash-queue", Some(&clerk)).await;
    assert_eq!(queue["waiting"], 1);
    let line = &queue["lines"][0];
    let best = &line["suggestions"][0];
    assert_eq!(best["customer_number"], "C-1001", "{queue}");
    assert_eq!(best["invoices"][0]["invoice_id"], invoice);
    let page = app
        .page("/admin/cash-application", Some(&clerk))
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("QUEUE-1") && page.contains("Acme Treasury"));

    let number = best["invoices"][0]["number"].as_str().unwrap();
    let rows = format!("C-1001 {number} {}.{:02}", amount / 100, amount % 100);
    let form = format!(
        "line_id={}&rows={}&short_pay=leave_open",
        line["line"]["id"],
        rows.replace(' ', "+")
    );
    let applied = app
        .invoke("/api/admin/apply-bank-line", &form, Some(&clerk))
        .await;
    assert!(applied.status().is_success(), "{}", applied.status());
    let again = app
        .invoke("/api/admin/apply-bank-line", &form, Some(&clerk))
        .await;
    assert_eq!(again.status(), 409);

    let pat = app.sign_in("pat@acme.example", "acme-pays-on-time").await;
    let payments = app.call("/api/portal/payments", Some(&pat)).await;
    let from_bank = payments
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["reference"].as_str().unwrap().contains("QUEUE-1"))
        .unwrap_or_else(|| panic!("{payments}"));
    assert_eq!(from_bank["applied"][0]["invoice_number"], number);
    assert_eq!(from_bank["amount_minor"], amount);

    let statement = app
        .invoke(
            "/api/admin/bank-statement",
            &format!("id={}", imported[0].id),
            Some(&clerk),
        )
        .await
        .json::<serde_json::Value>()
        .await
        .unwrap();
    let reconciliation = &statement["reconciliation"];
    assert_eq!(reconciliation["bank_closing_minor"], amount);
    assert_eq!(
        reconciliation["unposted"].as_array().unwrap().len(),
        0,
        "{reconciliation}"
    );
    ledgerport::testing::fixtures::assert_ledger_healthy(&app.db).await;
}

#[tokio::test]
async fn only_a_manager_sets_the_write_off_tolerance() {
    let app = spawn_app().await;
    let clerk = app
        .sign_in("clerk@ledgerport.example", "clerk-works-disputes")
        .await;
    let manager = app
        .sign_in("manager@ledgerport.example", "manager-sees-everything")
        .await;
    let form = "currency=USD&amount=5.00";
    let refused = app
        .invoke("/api/admin/write-off-tolerance", form, Some(&clerk))
        .await;
    assert_eq!(refused.status(), 403);
    let negative = app
        .invoke(
            "/api/admin/write-off-tolerance",
            "currency=USD&amount=-1",
            Some(&manager),
        )
        .await;
    assert_eq!(negative.status(), 400);
    let set = app
        .invoke("/api/admin/write-off-tolerance", form, Some(&manager))
        .await;
    assert!(set.status().is_success(), "{}", set.status());
    let queue = app.call("/api/admin/cash-queue", Some(&clerk)).await;
    assert_eq!(queue["tolerances"][0][1], 500);
}
