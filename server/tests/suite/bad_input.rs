//! The bad-input sweep: every server function, page, download, form post and API route, taken
//! from the router itself, called with empty, huge (1 MB), malformed, negative, too-many-decimals,
//! unicode and script-injection values in place of each argument in turn.
//!
//! Whatever arrives, the answer is never a 5xx. A refusal (4xx) carries a reason and changes
//! nothing in the books. Values that are unusual but valid (a unicode name) may be accepted.

use crate::common::endpoints::{Callers, Objects, Paths, Rule, Who, concrete, endpoint, objects};
use crate::common::{TestApp, spawn_app};
use serde_json::json;
use sqlx::Row;

/// One megabyte of text.
fn huge() -> String {
    "9".repeat(1 << 20)
}

/// The values each argument is replaced with, by name. Each is sent percent-encoded, except
/// `malformed`, which is sent raw to test the decoding itself.
fn bad_values() -> Vec<(&'static str, String)> {
    vec![
        ("empty", String::new()),
        ("huge", huge()),
        ("malformed", "%zz%".into()),
        ("negative", "-5".into()),
        ("too many decimals", "1.234567".into()),
        ("beyond i64", "99999999999999999999999".into()),
        ("unicode", "Ünïcødé 名前 🙂 \u{202e}".into()),
        (
            "script",
            "<script>alert(1)</script>\"'><img src=x onerror=alert(1)>".into(),
        ),
        ("NUL", "a\u{0}b".into()),
    ]
}

fn encoded(name: &str, value: &str) -> String {
    if name == "malformed" {
        value.to_string()
    } else {
        url::form_urlencoded::byte_serialize(value.as_bytes()).collect()
    }
}

/// The books and the accounts: what a refused request must leave exactly as it was. (Audit
/// records, sign-in attempts and sessions may note a refusal.)
async fn fingerprint(app: &TestApp) -> Vec<i64> {
    let mut figures = Vec::new();
    for table in [
        "customers",
        "users",
        "invoices",
        "invoice_lines",
        "journal_entries",
        "journal_lines",
        "payments",
        "allocations",
        "adjustments",
        "checkouts",
        "disputes",
        "dispute_messages",
        "billing_contacts",
        "api_keys",
        "invoice_imports",
        "refund_requests",
    ] {
        figures.push(ledgerport::testing::fixtures::rows(&app.db, table).await);
    }
    for sql in [
        "SELECT COALESCE(CAST(sum(open_minor) AS BIGINT), 0) FROM invoices",
        "SELECT COALESCE(CAST(sum(held_minor) AS BIGINT), 0) FROM invoices",
        "SELECT count(*) FROM users WHERE disabled_at IS NOT NULL",
    ] {
        figures.push(
            sqlx::query(sql)
                .fetch_one(app.db.pool())
                .await
                .unwrap()
                .get(0),
        );
    }
    figures
}

/// Someone the policy lets in, so the arguments are what gets tested.
fn caller_for(rule: Rule) -> Who {
    match rule {
        Rule::Public => Who::Anonymous,
        Rule::Contact | Rule::ContactOfA | Rule::Payer | Rule::PayerOfA => Who::PayerA,
        Rule::SignedIn
        | Rule::Staff
        | Rule::Manager
        | Rule::ContactOfAOrStaff
        | Rule::PayerOfAOrStaff => Who::Manager,
    }
}

/// What went wrong, collected so one run reports every finding.
#[derive(Default)]
struct Findings(Vec<String>);

impl Findings {
    async fn check(
        &mut self,
        app: &TestApp,
        what: &str,
        before: &[i64],
        response: reqwest::Response,
    ) {
        let status = response.status().as_u16();
        let body = response.text().await.unwrap_or_default();
        if status >= 500 {
            self.0.push(format!("{what}: {status} {}", clip(&body)));
        } else if (400..500).contains(&status) {
            if body.trim().is_empty() {
                self.0.push(format!("{what}: {status} without a reason"));
            }
            if fingerprint(app).await != before {
                self.0.push(format!(
                    "{what}: refused with {status} but changed the books"
                ));
            }
        }
    }
}

fn clip(text: &str) -> String {
    text.chars().take(200).collect()
}

#[tokio::test]
async fn every_server_function_refuses_bad_arguments_with_a_reason_and_never_fails() {
    let app = spawn_app().await;
    let objects = objects(&app).await;
    let callers = Callers::new(&app).await;
    let paths = Paths::of_router();
    let mut findings = Findings::default();
    let mut calls = 0;
    // Server functions, and the plain form posts that are not multipart (dispute actions).
    for path in paths.functions.iter().chain(&paths.form_posts) {
        // Signing out ends the caller's session for every later call.
        if path == "/api/sign-out" {
            continue;
        }
        let url = concrete(path, &objects);
        let (rule, body) = endpoint(path, &objects).expect("a policy for every function");
        let cookie = callers.cookie(caller_for(rule));
        let pairs: Vec<(String, String)> = body
            .split('&')
            .filter(|p| !p.is_empty())
            .map(|p| {
                let (k, v) = p.split_once('=').unwrap_or((p, ""));
                (k.to_string(), v.to_string())
            })
            .collect();
        for (index, (key, _)) in pairs.iter().enumerate() {
            for (name, value) in bad_values() {
                let body = pairs
                    .iter()
                    .enumerate()
                    .map(|(i, (k, v))| {
                        if i == index {
                            format!("{k}={}", encoded(name, &value))
                        } else {
                            format!("{k}={v}")
                        }
                    })
                    .collect::<Vec<_>>()
                    .join("&");
                let before = fingerprint(&app).await;
                let response = app.invoke(&url, &body, cookie).await;
                calls += 1;
                findings
                    .check(&app, &format!("{path} {key}={name}"), &before, response)
                    .await;
            }
        }
        // No arguments at all, and an unknown one.
        for body in [String::new(), "unexpected=1".to_string()] {
            let before = fingerprint(&app).await;
            let response = app.invoke(&url, &body, cookie).await;
            calls += 1;
            findings
                .check(&app, &format!("{path} body {body:?}"), &before, response)
                .await;
        }
    }
    assert!(calls > 300, "only {calls} calls were made");
    assert!(
        findings.0.is_empty(),
        "{} findings in {calls} calls:\n{}",
        findings.0.len(),
        findings.0.join("\n")
    );
}

/// The query parameters the pages and downloads read.
const QUERY_PARAMETERS: [&str; 14] = [
    "from", "to", "as_of", "page", "filter", "search", "sort", "customer", "method", "kind",
    "account", "status", "assignee", "refunded",
];

#[tokio::test]
async fn every_page_and_download_answers_bad_query_parameters_without_failing() {
    let app = spawn_app().await;
    let objects: Objects = objects(&app).await;
    let callers = Callers::new(&app).await;
    let paths = Paths::of_router();
    let mut findings = Findings::default();
    for path in paths.pages.iter().chain(&paths.documents) {
        let (rule, _) = endpoint(path, &objects).expect("a policy for every page");
        let cookie = callers.cookie(caller_for(rule));
        for (name, value) in bad_values() {
            // A URL of 14 MB is no URL; 4 KB per parameter is as long as browsers send.
            let value = if name == "huge" {
                "9".repeat(4096)
            } else {
                value
            };
            let concrete_path = concrete(path, &objects);
            let query = QUERY_PARAMETERS
                .iter()
                .map(|p| format!("{p}={}", encoded(name, &value)))
                .collect::<Vec<_>>()
                .join("&");
            let before = fingerprint(&app).await;
            let response = app.page(&format!("{concrete_path}?{query}"), cookie).await;
            findings
                .check(&app, &format!("GET {path} ({name})"), &before, response)
                .await;
            if path.contains('{') && name != "huge" {
                let broken = path.replace(['{', '}'], "");
                let with_bad_id = broken
                    .split('/')
                    .map(|segment| {
                        if path.contains(&format!("{{{segment}}}")) {
                            encoded(name, &value)
                        } else {
                            segment.to_string()
                        }
                    })
                    .collect::<Vec<_>>()
                    .join("/");
                let response = app.page(&with_bad_id, cookie).await;
                findings
                    .check(
                        &app,
                        &format!("GET {path} with id {name}"),
                        &before,
                        response,
                    )
                    .await;
            }
        }
    }
    assert!(
        findings.0.is_empty(),
        "{} findings:\n{}",
        findings.0.len(),
        findings.0.join("\n")
    );
}

#[tokio::test]
async fn form_posts_with_files_refuse_bad_uploads_and_messages_with_a_reason() {
    let app = spawn_app().await;
    let objects = objects(&app).await;
    let callers = Callers::new(&app).await;
    let manager = callers.cookie(Who::Manager);
    let payer = callers.cookie(Who::PayerA);
    let mut findings = Findings::default();
    let files: Vec<(&str, Vec<u8>)> = vec![
        ("an empty file", Vec::new()),
        ("1 MB of one line", huge().into_bytes()),
        ("bytes that are not UTF-8", vec![0xff, 0xfe, 0x00, 0x80, 0x81]),
        (
            "a script in a cell",
            b"customer,invoice,description,quantity,unit_price\nC-1001,<script>,<script>alert(1)</script>,-1,1.23456\n"
                .to_vec(),
        ),
    ];
    for (what, bytes) in files {
        let before = fingerprint(&app).await;
        let form = reqwest::multipart::Form::new().part(
            "file",
            reqwest::multipart::Part::bytes(bytes).file_name("bad.csv"),
        );
        let response = post_multipart(&app, "/admin/imports", form, manager).await;
        // The upload itself is recorded (the import list shows every file); the books are not.
        let before_upload: Vec<i64> = before;
        findings
            .check_upload(
                &app,
                &format!("CSV upload, {what}"),
                &before_upload,
                response,
            )
            .await;
    }
    let dispute = objects.dispute_a;
    for (name, value) in bad_values() {
        let before = fingerprint(&app).await;
        let form = reqwest::multipart::Form::new().text("body", value.clone());
        let response =
            post_multipart(&app, &format!("/disputes/{dispute}/messages"), form, payer).await;
        findings
            .check_message(
                &app,
                &format!("dispute message ({name})"),
                &before,
                response,
            )
            .await;
        let before = fingerprint(&app).await;
        let form = reqwest::multipart::Form::new()
            .text("invoice_id", objects.dispute_invoice_a.to_string())
            .text("line", objects.dispute_line_a.to_string())
            .text(format!("reason_{}", objects.dispute_line_a), value.clone())
            .text(format!("amount_{}", objects.dispute_line_a), value.clone())
            .text("message", value.clone());
        let response = post_multipart(&app, "/disputes/new", form, payer).await;
        findings
            .check(&app, &format!("new dispute ({name})"), &before, response)
            .await;
    }
    assert!(
        findings.0.is_empty(),
        "{} findings:\n{}",
        findings.0.len(),
        findings.0.join("\n")
    );
}

impl Findings {
    /// An upload is kept (refused rows and all) for the import page to show; it may add one
    /// import and nothing else.
    async fn check_upload(
        &mut self,
        app: &TestApp,
        what: &str,
        before: &[i64],
        response: reqwest::Response,
    ) {
        let status = response.status().as_u16();
        if status >= 500 {
            self.0.push(format!("{what}: {status}"));
            return;
        }
        let mut after = fingerprint(app).await;
        let mut before = before.to_vec();
        // Position of invoice_imports in `fingerprint`.
        after.remove(14);
        before.remove(14);
        if after != before {
            self.0.push(format!("{what}: changed the books ({status})"));
        }
    }

    /// A message may be accepted (and then adds exactly one message); a refusal changes nothing.
    async fn check_message(
        &mut self,
        app: &TestApp,
        what: &str,
        before: &[i64],
        response: reqwest::Response,
    ) {
        let status = response.status().as_u16();
        if status >= 400 {
            return self.check(app, what, before, response).await;
        }
        let mut after = fingerprint(app).await;
        // Position of dispute_messages in `fingerprint`.
        after[11] -= 1;
        if after != before {
            self.0.push(format!(
                "{what}: accepted but changed more than one message"
            ));
        }
    }
}

async fn post_multipart(
    app: &TestApp,
    path: &str,
    form: reqwest::multipart::Form,
    cookie: Option<&str>,
) -> reqwest::Response {
    let mut request = app
        .client
        .post(app.url(path))
        .header("origin", crate::common::ORIGIN)
        .multipart(form);
    if let Some(cookie) = cookie {
        request = request.header("cookie", cookie);
    }
    request.send().await.unwrap()
}

#[tokio::test]
async fn the_erp_api_refuses_bad_json_with_field_names_and_never_fails() {
    let app = spawn_app().await;
    let key = app.erp_key().await;
    let valid = json!({
        "customer": "C-1001", "number": "SWEEP-1", "issue_date": "2026-11-02",
        "lines": [{"description": "Brackets", "quantity": "4", "unit_price": "12.50"}]
    });
    let mut bodies: Vec<(String, String)> = vec![
        ("empty body".into(), String::new()),
        ("not JSON".into(), "{customer: C-1001".into()),
        ("a JSON list".into(), "[]".into()),
        (
            "1 MB string".into(),
            serde_json::to_string(&huge()).unwrap(),
        ),
    ];
    let fields = [
        (
            "/customer",
            vec![json!(""), json!(-5), json!("名前"), json!("<script>")],
        ),
        (
            "/number",
            vec![json!(""), json!(huge()), json!("<script>alert(1)</script>")],
        ),
        (
            "/issue_date",
            vec![json!(""), json!("2026-13-45"), json!(20261102)],
        ),
        (
            "/lines/0/quantity",
            vec![
                json!("-5"),
                json!("1.2345678"),
                json!(1.5),
                json!("1e400"),
                json!(null),
            ],
        ),
        (
            "/lines/0/unit_price",
            vec![
                json!("-12.50"),
                json!("12.505"),
                json!(12.5),
                json!("99999999999999999999999"),
                json!("abc"),
            ],
        ),
        ("/lines/0/description", vec![json!(""), json!(huge())]),
        ("/lines", vec![json!([]), json!("none")]),
    ];
    for (pointer, values) in fields {
        for value in values {
            let mut body = valid.clone();
            *body.pointer_mut(pointer).unwrap() = value.clone();
            bodies.push((
                format!("{pointer} = {}", clip(&value.to_string())),
                body.to_string(),
            ));
        }
    }
    let mut findings = Findings::default();
    for path in ["/api/v1/invoices", "/api/v1/credit-memos"] {
        for (what, body) in &bodies {
            let before = fingerprint(&app).await;
            let response = app
                .client
                .post(app.url(path))
                .bearer_auth(&key)
                .header("content-type", "application/json")
                .body(body.clone())
                .send()
                .await
                .unwrap();
            findings
                .check(&app, &format!("POST {path} {what}"), &before, response)
                .await;
        }
    }
    for query in [
        "after=-5",
        "after=abc",
        "limit=99999999999999999999",
        "after=%zz",
    ] {
        let before = fingerprint(&app).await;
        let response = app
            .client
            .get(app.url(&format!("/api/v1/payments?{query}")))
            .bearer_auth(&key)
            .send()
            .await
            .unwrap();
        findings
            .check(&app, &format!("GET payments?{query}"), &before, response)
            .await;
    }
    // Signed, so they get past the signature: still not events of the expected shape.
    for body in ["", "[]", "{}", "{\"id\": 5}", "not json", &huge()] {
        let before = fingerprint(&app).await;
        let signature = server::webhooks::signature::sign(
            crate::common::WEBHOOK_SECRET,
            chrono::Utc::now().timestamp(),
            body.as_bytes(),
        );
        let response = app
            .client
            .post(app.url("/webhooks/stripe"))
            .header("stripe-signature", signature)
            .body(body.to_string())
            .send()
            .await
            .unwrap();
        findings
            .check(
                &app,
                &format!("webhook {:?}", clip(body)),
                &before,
                response,
            )
            .await;
    }
    assert!(
        findings.0.is_empty(),
        "{} findings:\n{}",
        findings.0.len(),
        findings.0.join("\n")
    );
}
