//! The HTTP surface, served on a random 127.0.0.1 port over a fresh database per test.

use std::net::SocketAddr;

use ledgerport::db::Db;
use ledgerport::testing::fresh_db;
use leptos::prelude::LeptosOptions;

const TEST_KEY: &[u8] = b"a-test-signing-key-of-at-least-32-bytes";
const ORIGIN: &str = "http://127.0.0.1:3000";

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
    let settings = server::http::RouterSettings {
        keys: ledgerport::auth::tokens::SigningKeys::new(TEST_KEY, &[]),
        public_base_url: "http://127.0.0.1:3000".into(),
        cookie_secure: false,
    };
    let router = server::http::router(leptos, db.clone(), settings)
        .into_make_service_with_connect_info::<SocketAddr>();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("address");
    tokio::spawn(async move { axum::serve(listener, router).await });
    TestApp {
        addr,
        db,
        client: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap(),
    }
}

impl TestApp {
    /// POSTs a form as the portal's own pages do without JavaScript (same origin, HTML
    /// accepted, so server-function redirects are real 302s), with an optional cookie.
    async fn post_form(&self, path: &str, body: &str, cookie: Option<&str>) -> reqwest::Response {
        let mut request = self
            .client
            .post(self.url(path))
            .header("origin", ORIGIN)
            .header("accept", "text/html")
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body.to_string());
        if let Some(cookie) = cookie {
            request = request.header("cookie", cookie);
        }
        request.send().await.unwrap()
    }

    /// Signs in and returns the session cookie (`name=value`).
    async fn sign_in(&self, email: &str, password: &str) -> String {
        let body = format!("email={}&password={}", email.replace('@', "%40"), password);
        let response = self.post_form("/api/sign-in", &body, None).await;
        assert!(
            response.status().is_redirection(),
            "sign-in answered {}",
            response.status()
        );
        let set_cookie = response.headers()["set-cookie"]
            .to_str()
            .unwrap()
            .to_string();
        set_cookie.split(';').next().unwrap().to_string()
    }

    async fn me(&self, cookie: Option<&str>) -> serde_json::Value {
        self.call("/api/me", cookie).await
    }

    /// Calls a server function as the WASM client does and returns its JSON answer.
    async fn call(&self, path: &str, cookie: Option<&str>) -> serde_json::Value {
        let mut request = self.client.post(self.url(path)).header("origin", ORIGIN);
        if let Some(cookie) = cookie {
            request = request.header("cookie", cookie);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), 200);
        response.json().await.unwrap()
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
    let body = app.call("/api/status", None).await;
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

#[tokio::test]
async fn signing_in_sets_a_hardened_cookie_that_names_the_caller() {
    let app = spawn_app().await;
    let body = "email=pat%40acme.example&password=acme-pays-on-time";
    let response = app.post_form("/api/sign-in", body, None).await;
    assert!(response.status().is_redirection());
    let set_cookie = response.headers()["set-cookie"].to_str().unwrap();
    assert!(
        set_cookie.contains("HttpOnly") && set_cookie.contains("SameSite=Lax"),
        "{set_cookie}"
    );
    let cookie = set_cookie.split(';').next().unwrap();
    let me = app.me(Some(cookie)).await;
    assert_eq!(me["email"], "pat@acme.example");
    assert_eq!(me["role"], "payer");
    assert_eq!(me["customer_name"], "Acme Fabrication Ltd");
}

#[tokio::test]
async fn a_wrong_password_sets_no_cookie() {
    let app = spawn_app().await;
    let response = app
        .post_form(
            "/api/sign-in",
            "email=pat%40acme.example&password=wrong-password",
            None,
        )
        .await;
    assert!(!response.headers().contains_key("set-cookie"));
    assert!(app.me(None).await.is_null());
}

#[tokio::test]
async fn a_cookie_stops_working_after_sign_out() {
    let app = spawn_app().await;
    let cookie = app.sign_in("pat@acme.example", "acme-pays-on-time").await;
    assert!(!app.me(Some(&cookie)).await.is_null());
    let out = app.post_form("/api/sign-out", "", Some(&cookie)).await;
    assert!(out.status().is_redirection());
    assert!(app.me(Some(&cookie)).await.is_null());
}

#[tokio::test]
async fn a_token_signed_with_another_key_is_nobody() {
    let app = spawn_app().await;
    let cookie = app.sign_in("pat@acme.example", "acme-pays-on-time").await;
    let (_, token) = cookie.split_once('=').unwrap();
    let claims = ledgerport::auth::tokens::SigningKeys::new(TEST_KEY, &[])
        .verify(token)
        .unwrap();
    let forged =
        ledgerport::auth::tokens::SigningKeys::new(b"another-key-another-key-another-key", &[])
            .issue(
                claims.sub.parse().unwrap(),
                &claims.sid,
                chrono::Utc::now().timestamp(),
            )
            .unwrap();
    assert!(
        app.me(Some(&format!("ledgerport_session={forged}")))
            .await
            .is_null()
    );
}

#[tokio::test]
async fn a_cross_site_post_is_refused_and_changes_nothing() {
    let app = spawn_app().await;
    let response = app
        .client
        .post(app.url("/api/sign-in"))
        .header("origin", "https://evil.example")
        .header("content-type", "application/x-www-form-urlencoded")
        .body("email=pat%40acme.example&password=acme-pays-on-time")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 403);
    let no_origin = app
        .client
        .post(app.url("/api/sign-in"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("email=pat%40acme.example&password=acme-pays-on-time")
        .send()
        .await
        .unwrap();
    assert_eq!(no_origin.status(), 403);
    use sqlx::Row;
    let attempts: i64 = sqlx::query("SELECT count(*) FROM login_attempts")
        .fetch_one(app.db.pool())
        .await
        .unwrap()
        .get(0);
    assert_eq!(attempts, 0);
}

#[tokio::test]
async fn pages_carry_a_nonce_csp_and_the_hardening_headers() {
    let app = spawn_app().await;
    let page = app.client.get(app.url("/")).send().await.unwrap();
    let csp = page.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        csp.contains("script-src 'self' 'nonce-") && csp.contains("'wasm-unsafe-eval'"),
        "{csp}"
    );
    assert!(csp.contains("frame-ancestors 'none'"));
    assert_eq!(page.headers()["x-content-type-options"], "nosniff");
    let html = page.text().await.unwrap();
    let nonce = csp
        .split("'nonce-")
        .nth(1)
        .unwrap()
        .split('\'')
        .next()
        .unwrap();
    assert!(
        html.contains(&format!("nonce=\"{nonce}\"")),
        "the hydration script must carry the CSP nonce"
    );
    let probe = app.client.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(
        probe.headers()["content-security-policy"],
        "default-src 'none'; frame-ancestors 'none'"
    );
}
