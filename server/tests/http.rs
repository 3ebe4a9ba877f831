//! The HTTP surface, served on a random 127.0.0.1 port over a fresh database per test.

use std::net::SocketAddr;

use ledgerport::db::Db;
use ledgerport::testing::fresh_db;
use leptos::prelude::LeptosOptions;

struct TestApp {
    addr: SocketAddr,
    db: Db,
    client: reqwest::Client,
}

impl TestApp {
    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }
}

async fn spawn_app() -> TestApp {
    let db = fresh_db().await;
    ledgerport::seed::seed_demo(&db).await.expect("demo data");
    let leptos = LeptosOptions::builder()
        .output_name("ledgerport")
        .site_root("target/site")
        .site_pkg_dir("pkg")
        .build();
    let router = server::http::router(leptos, db.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("address");
    tokio::spawn(async move { axum::serve(listener, router).await });
    TestApp {
        addr,
        db,
        client: reqwest::Client::new(),
    }
}

#[tokio::test]
async fn healthz_answers_ok_with_a_request_id() {
    let app = spawn_app().await;
    let response = app.client.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert!(response.headers().contains_key("x-request-id"));
    assert_eq!(response.text().await.unwrap(), "ok");
}

#[tokio::test]
async fn readyz_is_ready_while_the_database_answers_and_503_after_it_is_gone() {
    let app = spawn_app().await;
    let ready = app.client.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), 200);
    app.db.close().await;
    let gone = app.client.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(gone.status(), 503);
    // The process itself is still up.
    let health = app.client.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(health.status(), 200);
}

#[tokio::test]
async fn the_start_page_is_rendered_on_the_server_with_the_database_status() {
    let app = spawn_app().await;
    let response = app.client.get(app.url("/")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let html = response.text().await.unwrap();
    assert!(html.contains("Pay invoices, read statements, settle disputes"));
    assert!(
        html.contains(r#"data-testid="database-ready">yes"#),
        "{html}"
    );
    assert!(html.contains(r#"data-hydrated="false""#));
    assert!(html.contains("/pkg/ledgerport.js"));
}

#[tokio::test]
async fn the_status_server_function_reports_the_engine() {
    let app = spawn_app().await;
    let response = app
        .client
        .post(app.url("/api/status"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["database"], app.db.engine().name());
    assert_eq!(body["database_ready"], true);
}

#[tokio::test]
async fn an_unknown_page_answers_404() {
    let app = spawn_app().await;
    let response = app
        .client
        .get(app.url("/no/such/page"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
    assert!(response.text().await.unwrap().contains("Page not found"));
}
