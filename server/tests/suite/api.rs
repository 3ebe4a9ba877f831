//! The ERP API over HTTP: API-key auth, idempotency by number, validation errors as JSON with
//! field names, credit memos, reading payments back, and the OpenAPI document.

use crate::common::{TestApp, spawn_app};
use ledgerport::testing::fixtures;
use serde_json::{Value, json};
use sqlx::Row;

async fn post(app: &TestApp, path: &str, key: Option<&str>, body: &str) -> (u16, Value) {
    let mut request = app
        .client
        .post(app.url(path))
        .header("content-type", "application/json")
        .body(body.to_string());
    if let Some(key) = key {
        request = request.bearer_auth(key);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn get(app: &TestApp, path: &str, key: Option<&str>) -> (u16, Value) {
    let mut request = app.client.get(app.url(path));
    if let Some(key) = key {
        request = request.bearer_auth(key);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

fn invoice(number: &str, price: &str) -> String {
    json!({
        "customer": "c-1001",
        "number": number,
        "po_number": "PO-77",
        "issue_date": "2026-11-02",
        "lines": [
            {"description": "Brackets", "quantity": 4, "unit_price": price, "tax_percent": "8.25"},
            {"description": "Freight", "quantity": "1", "unit_price": "15.00"}
        ]
    })
    .to_string()
}

#[tokio::test]
async fn without_a_live_key_every_api_call_is_refused_with_401_and_changes_nothing() {
    let app = spawn_app().await;
    let invoices = fixtures::rows(&app.db, "invoices").await;
    let (status, body) = post(&app, "/api/v1/invoices", None, &invoice("API-1", "12.50")).await;
    assert_eq!(status, 401);
    assert_eq!(body["error"], "unauthorized");
    let (status, _) = post(
        &app,
        "/api/v1/invoices",
        Some("lpk_not-a-key"),
        &invoice("API-1", "12.50"),
    )
    .await;
    assert_eq!(status, 401);
    // A browser session is not an API key.
    let cookie = app
        .sign_in("manager@ledgerport.example", "manager-sees-everything")
        .await;
    let with_cookie = app
        .client
        .get(app.url("/api/v1/payments"))
        .header("cookie", cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(with_cookie.status(), 401);

    let key = app.erp_key().await;
    let (id, manager): (i64, i64) = {
        let row = sqlx::query("SELECT id, created_by FROM api_keys ORDER BY id DESC LIMIT 1")
            .fetch_one(app.db.pool())
            .await
            .unwrap();
        (row.get(0), row.get(1))
    };
    ledgerport::api_keys::store::revoke(&app.db, id, manager, "manager@ledgerport.example")
        .await
        .unwrap();
    let (status, _) = get(&app, "/api/v1/payments", Some(&key)).await;
    assert_eq!(status, 401, "a revoked key stops working at once");
    assert_eq!(fixtures::rows(&app.db, "invoices").await, invoices);
}

#[tokio::test]
async fn an_invoice_pushed_twice_is_issued_once_and_a_different_one_under_its_number_is_a_conflict()
{
    let app = spawn_app().await;
    let key = app.erp_key().await;
    let (status, body) = post(
        &app,
        "/api/v1/invoices",
        Some(&key),
        &invoice("API-7", "12.50"),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    // 4 × 12.50 = 50.00 + 8.25 % = 4.13 tax, + 15.00 freight
    assert_eq!(body["total"], "69.13");
    assert_eq!(body["customer"], "C-1001");
    assert_eq!(body["status"], "created");
    let entries = fixtures::rows(&app.db, "journal_entries").await;

    let (status, body) = post(
        &app,
        "/api/v1/invoices",
        Some(&key),
        &invoice("api-7", "12.50"),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"], "unchanged");
    let (status, body) = post(
        &app,
        "/api/v1/invoices",
        Some(&key),
        &invoice("API-7", "99.00"),
    )
    .await;
    assert_eq!(status, 409, "{body}");
    assert_eq!(body["error"], "conflict");
    assert_eq!(fixtures::rows(&app.db, "journal_entries").await, entries);
    let audited: i64 = sqlx::query(
        "SELECT count(*) FROM audit_log WHERE action = 'invoice.issued' AND actor LIKE 'api_key:%'",
    )
    .fetch_one(app.db.pool())
    .await
    .unwrap()
    .get(0);
    assert_eq!(audited, 1);
    fixtures::assert_ledger_healthy(&app.db).await;
}

#[tokio::test]
async fn invalid_input_answers_422_naming_each_field_and_writes_nothing() {
    let app = spawn_app().await;
    let key = app.erp_key().await;
    let invoices = fixtures::rows(&app.db, "invoices").await;
    let bad = json!({
        "customer": "C-1001",
        "number": "has spaces",
        "issue_date": "02/11/2026",
        "lines": [
            {"description": "Brackets", "quantity": "-1", "unit_price": "12.50"},
            {"description": "", "quantity": "1", "unit_price": "1"}
        ]
    });
    let (status, body) = post(&app, "/api/v1/invoices", Some(&key), &bad.to_string()).await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["error"], "validation_failed");
    let fields: Vec<&str> = body["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["field"].as_str().unwrap())
        .collect();
    assert_eq!(
        fields,
        [
            "number",
            "issue_date",
            "lines[0].quantity",
            "lines[1].description"
        ]
    );

    let unknown = invoice("API-8", "1").replace("c-1001", "C-404");
    let (status, body) = post(&app, "/api/v1/invoices", Some(&key), &unknown).await;
    assert_eq!(
        (status, body["fields"][0]["field"].as_str()),
        (422, Some("customer"))
    );

    // A fractional JSON number would pass through a float: refused, with the way to send it.
    let float = invoice("API-9", "1").replace("\"quantity\":4", "\"quantity\":0.1");
    let (status, body) = post(&app, "/api/v1/invoices", Some(&key), &float).await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body["message"].as_str().unwrap().contains("as strings"),
        "{body}"
    );

    let (status, body) = post(&app, "/api/v1/invoices", Some(&key), "{not json").await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("malformed_request"))
    );
    assert_eq!(fixtures::rows(&app.db, "invoices").await, invoices);
}

#[tokio::test]
async fn a_credit_memo_credits_its_line_once_and_payments_read_back_page_by_page() {
    let app = spawn_app().await;
    let key = app.erp_key().await;
    post(
        &app,
        "/api/v1/invoices",
        Some(&key),
        &invoice("API-20", "12.50"),
    )
    .await;
    let memo = json!({
        "number": "CM-20",
        "invoice": "API-20",
        "reason": "Two brackets arrived bent",
        "lines": [{"line": 1, "amount": "27.07"}]
    })
    .to_string();
    let (status, body) = post(&app, "/api/v1/credit-memos", Some(&key), &memo).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["invoice"]["open"], "42.06");
    let (status, body) = post(&app, "/api/v1/credit-memos", Some(&key), &memo).await;
    assert_eq!((status, body["status"].as_str()), (200, Some("unchanged")));
    let too_much = memo.replace("CM-20", "CM-21").replace("27.07", "999.00");
    let (status, _) = post(&app, "/api/v1/credit-memos", Some(&key), &too_much).await;
    assert_eq!(status, 400);
    let no_line = memo
        .replace("CM-20", "CM-22")
        .replace("\"line\":1", "\"line\":9");
    let (status, body) = post(&app, "/api/v1/credit-memos", Some(&key), &no_line).await;
    assert_eq!(
        (status, body["fields"][0]["field"].as_str()),
        (422, Some("lines[0].line"))
    );
    fixtures::assert_ledger_healthy(&app.db).await;

    let all: i64 = sqlx::query("SELECT count(*) FROM payments")
        .fetch_one(app.db.pool())
        .await
        .unwrap()
        .get(0);
    assert!(all >= 2, "the demo data has payments");
    let (status, first) = get(&app, "/api/v1/payments?limit=1", Some(&key)).await;
    assert_eq!(status, 200);
    assert_eq!(first["data"].as_array().unwrap().len(), 1);
    let after = first["next_after"].as_i64().unwrap();
    let (_, rest) = get(
        &app,
        &format!("/api/v1/payments?after={after}&limit=1000"),
        Some(&key),
    )
    .await;
    assert_eq!(rest["data"].as_array().unwrap().len() as i64, all - 1);
    assert!(rest["data"][0]["applied"].is_array());
    let (status, body) = get(&app, "/api/v1/payments?limit=0", Some(&key)).await;
    assert_eq!(
        (status, body["fields"][0]["field"].as_str()),
        (422, Some("limit"))
    );
}

#[tokio::test]
async fn the_openapi_document_describes_every_api_route() {
    let app = spawn_app().await;
    let (status, doc) = get(&app, "/api/v1/openapi.json", None).await;
    assert_eq!(status, 200);
    assert_eq!(doc["openapi"], "3.1.0");
    for (path, _) in server::api::routes() {
        assert!(doc["paths"][path].is_object(), "{path} is not documented");
    }
    assert_eq!(
        doc["paths"].as_object().unwrap().len(),
        server::api::routes().len()
    );
}

#[tokio::test]
async fn an_erp_posts_a_bank_statement_whose_transfer_is_matched_once_and_a_broken_one_names_the_line()
 {
    let app = spawn_app().await;
    let key = app.erp_key().await;
    let acme = crate::payments::acme(&app).await;
    let (invoice, amount) = acme.open[0];
    let announced = ledgerport::transfers::store::announce_transfer(
        &app.db,
        acme.customer,
        acme.user,
        &[ledgerport::checkout::PayItem {
            invoice_id: invoice,
            amount_minor: amount,
        }],
        chrono::Utc::now().date_naive(),
    )
    .await
    .unwrap();
    let camt = format!(
        "<?xml version=\"1.0\"?><Document xmlns=\"urn:iso:std:iso:20022:tech:xsd:camt.054.001.02\">\
         <BkToCstmrDbtCdtNtfctn><GrpHdr><MsgId>1</MsgId></GrpHdr><Ntfctn><Id>ERP-1</Id>\
         <Acct><Id><Othr><Id>000123456789</Id></Othr></Id><Ccy>USD</Ccy></Acct>\
         <Ntry><Amt Ccy=\"USD\">{}.{:02}</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts>BOOK</Sts>\
         <BookgDt><Dt>2026-12-04</Dt></BookgDt><AcctSvcrRef>ERP-LINE-1</AcctSvcrRef>\
         <NtryDtls><TxDtls><RmtInf><Ustrd>ref {}</Ustrd></RmtInf></TxDtls></NtryDtls></Ntry>\
         </Ntfctn></BkToCstmrDbtCdtNtfctn></Document>",
        amount / 100,
        amount % 100,
        announced.reference
    );
    let (status, _) = post(&app, "/api/v1/bank-statements", None, &camt).await;
    assert_eq!(status, 401);
    let (status, body) = post(&app, "/api/v1/bank-statements", Some(&key), &camt).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body[0]["matched"], 1);
    assert_eq!(fixtures::open_minor(&app.db, invoice).await, 0);
    let (status, body) = post(&app, "/api/v1/bank-statements", Some(&key), &camt).await;
    assert_eq!((status, body[0]["lines_new"].clone()), (200, json!(0)));
    let broken = camt.replace("<CdtDbtInd>CRDT", "<CdtDbtInd>IN");
    let (status, body) = post(
        &app,
        "/api/v1/bank-statements",
        Some(&key),
        &broken.replace("ERP-1", "ERP-2"),
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("<Ntry>: CdtDbtInd \"IN\""),
        "{body}"
    );
    fixtures::assert_ledger_healthy(&app.db).await;
}

#[tokio::test]
async fn a_nul_character_in_a_query_or_body_is_refused_as_the_documented_json_error() {
    let app = spawn_app().await;
    let key = app.erp_key().await;
    let invoices = fixtures::rows(&app.db, "invoices").await;
    let in_query = app
        .client
        .get(app.url("/api/v1/payments?customer=C-1001%00"))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap();
    let in_body = app
        .client
        .post(app.url("/api/v1/invoices"))
        .bearer_auth(&key)
        .header("content-type", "application/json")
        .body(invoice("API-NUL\\u0000", "12.50"))
        .send()
        .await
        .unwrap();
    for response in [in_query, in_body] {
        assert_eq!(response.status(), 400);
        assert_eq!(
            response.headers()["content-type"].to_str().unwrap(),
            "application/json"
        );
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error"], "malformed_request");
        assert!(body["message"].as_str().unwrap().contains("NUL"), "{body}");
    }
    assert_eq!(fixtures::rows(&app.db, "invoices").await, invoices);
    // The portal's own pages keep their plain answer.
    let page = app.page("/invoices?search=a%00b", None).await;
    assert_eq!(page.status(), 400);
}
