//! The test server: the real router on a random 127.0.0.1 port over a fresh database with the
//! demo data, and a client that speaks to it as the portal's pages and WASM client do.

pub mod endpoints;
pub mod fake_smtp;
pub mod fake_stripe;

use std::net::SocketAddr;
use std::sync::Arc;

use ledgerport::checkout::PaymentProvider;

use ledgerport::db::Db;
use ledgerport::testing::fresh_db;
use leptos::prelude::LeptosOptions;

pub const TEST_KEY: &[u8] = b"a-test-signing-key-of-at-least-32-bytes";
pub const WEBHOOK_SECRET: &[u8] = b"whsec_test_secret_for_the_suite";
pub const ORIGIN: &str = "http://127.0.0.1:3000";

pub struct TestApp {
    pub addr: SocketAddr,
    pub db: Db,
    pub client: reqwest::Client,
}

impl TestApp {
    /// A live ERP API key the demo manager created.
    pub async fn erp_key(&self) -> String {
        let manager: i64 =
            sqlx::query_scalar("SELECT id FROM users WHERE email = 'manager@ledgerport.example'")
                .fetch_one(self.db.pool())
                .await
                .unwrap();
        ledgerport::api_keys::store::create(&self.db, "ERP", manager, "manager@ledgerport.example")
            .await
            .unwrap()
            .1
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }
}

pub async fn spawn_app() -> TestApp {
    let db = fresh_db().await;
    let sandbox = server::sandbox::SandboxProvider {
        public_base_url: ORIGIN.into(),
        db: db.clone(),
        webhook_secret: WEBHOOK_SECRET.to_vec(),
        refunding: Arc::default(),
    };
    serve(db, Arc::new(sandbox)).await
}

/// The test server with another payment provider (the Stripe adapter against a fake Stripe).
pub async fn spawn_app_paying_through(payments: Arc<dyn PaymentProvider>) -> TestApp {
    serve(fresh_db().await, payments).await
}

/// Where the test server's passkeys live (a domain name; the tests' software passkey signs for it).
pub const PASSKEY_ORIGIN: &str = "http://localhost:3000";

async fn serve(db: ledgerport::db::Db, payments: Arc<dyn PaymentProvider>) -> TestApp {
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
        log_messages: false,
        payments,
        sandbox: None,
        webhook_secret: WEBHOOK_SECRET.to_vec(),
        reminder_schedule: ledgerport::reminders::Schedule::default(),
        bank_account_change_wait: chrono::Duration::hours(72),
        passkeys: Some(Arc::new(
            ledgerport::auth::passkeys::RelyingParty::new(PASSKEY_ORIGIN).expect("passkey origin"),
        )),
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
            // A request the server never answers fails its test, naming the URL, instead of
            // stalling the whole run.
            .timeout(std::time::Duration::from_secs(60))
            .build()
            .unwrap(),
    }
}

impl TestApp {
    /// POSTs a form as the portal's own pages do without JavaScript (same origin, HTML
    /// accepted, so server-function redirects are real 302s), with an optional cookie.
    pub async fn post_form(
        &self,
        path: &str,
        body: &str,
        cookie: Option<&str>,
    ) -> reqwest::Response {
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

    /// Signs in and returns the session cookie (`name=value`). A demo login with an
    /// authenticator (the manager) answers the code step with a code not used yet.
    pub async fn sign_in(&self, email: &str, password: &str) -> String {
        let body = format!("email={}&password={}", email.replace('@', "%40"), password);
        let response = self.post_form("/api/sign-in", &body, None).await;
        assert!(
            response.status().is_redirection(),
            "sign-in answered {}",
            response.status()
        );
        if let Some(challenge) = set_cookie(&response, "ledgerport_code") {
            let secret = ledgerport::seed::DEMO_LOGINS
                .iter()
                .find(|login| login.email == email)
                .and_then(|login| login.authenticator)
                .unwrap_or_else(|| panic!("{email} has an authenticator the tests do not know"));
            let user_id: i64 = sqlx::query_scalar("SELECT id FROM users WHERE email = $1")
                .bind(email)
                .fetch_one(self.db.pool())
                .await
                .unwrap();
            let code = ledgerport::testing::unused_code(&self.db, user_id, secret).await;
            let response = self
                .post_form(
                    "/api/sign-in-code",
                    &format!("code={code}"),
                    Some(&challenge),
                )
                .await;
            return set_cookie(&response, "ledgerport_session").unwrap_or_else(|| {
                panic!("{email}'s code did not sign in: {:?}", response.headers())
            });
        }
        set_cookie(&response, "ledgerport_session")
            .unwrap_or_else(|| panic!("{email} was not signed in: {:?}", response.headers()))
    }

    pub async fn me(&self, cookie: Option<&str>) -> serde_json::Value {
        self.call("/api/me", cookie).await
    }

    /// Calls a server function as a script does (an island, forms.js) and returns its JSON answer.
    pub async fn call(&self, path: &str, cookie: Option<&str>) -> serde_json::Value {
        let mut request = self.client.post(self.url(path)).header("origin", ORIGIN);
        if let Some(cookie) = cookie {
            request = request.header("cookie", cookie);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), 200);
        response.json().await.unwrap()
    }
}

impl TestApp {
    /// Calls a server function as a script does (same origin, form-encoded arguments,
    /// no HTML accepted), returning the raw response.
    pub async fn invoke(&self, path: &str, body: &str, cookie: Option<&str>) -> reqwest::Response {
        let mut request = self
            .client
            .post(self.url(path))
            .header("origin", ORIGIN)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body.to_string());
        if let Some(cookie) = cookie {
            request = request.header("cookie", cookie);
        }
        request.send().await.unwrap()
    }

    /// GETs a page as a browser does, with an optional session cookie.
    pub async fn page(&self, path: &str, cookie: Option<&str>) -> reqwest::Response {
        let mut request = self
            .client
            .get(self.url(path))
            .header("accept", "text/html");
        if let Some(cookie) = cookie {
            request = request.header("cookie", cookie);
        }
        request.send().await.unwrap()
    }
}

/// Where a redirect sends the browser (empty when it is not one).
pub fn location(response: &reqwest::Response) -> &str {
    response
        .headers()
        .get("location")
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
}

/// The `name=value` of a cookie a response sets (not one it clears).
pub fn set_cookie(response: &reqwest::Response, name: &str) -> Option<String> {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|value| value.to_str().ok())
        .filter_map(|value| value.split(';').next())
        .find(|pair| {
            pair.split_once('=')
                .is_some_and(|(found, value)| found == name && !value.is_empty())
        })
        .map(str::to_string)
}
