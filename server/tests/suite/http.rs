//! The HTTP surface, served on a random 127.0.0.1 port over a fresh database per test.

use crate::common::{TEST_KEY, spawn_app};

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
async fn the_start_page_tells_a_visitor_which_engine_serves_and_a_staff_member_to_go_to_work() {
    let app = spawn_app().await;
    let body = app.call("/api/home", None).await;
    assert_eq!(body["Visitor"]["database"], app.db.engine().name());
    assert_eq!(body["Visitor"]["database_ready"], true);
    let clerk = app
        .sign_in("clerk@ledgerport.example", "clerk-works-disputes")
        .await;
    assert_eq!(app.call("/api/home", Some(&clerk)).await, "Staff");
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

#[tokio::test]
async fn the_eleventh_rapid_sign_in_is_refused_with_429_even_with_the_right_password() {
    let app = spawn_app().await;
    for _ in 0..10 {
        let wrong = app
            .invoke(
                "/api/sign-in",
                "email=pat%40acme.example&password=guess-guess",
                None,
            )
            .await;
        assert!(matches!(wrong.status().as_u16(), 400 | 429));
    }
    let eleventh = app
        .invoke(
            "/api/sign-in",
            "email=pat%40acme.example&password=acme-pays-on-time",
            None,
        )
        .await;
    assert_eq!(eleventh.status(), 429);
    assert!(!eleventh.headers().contains_key("set-cookie"));
    let body: serde_json::Value = eleventh.json().await.unwrap();
    assert_eq!(
        body["TooManyRequests"],
        "Too many failed sign-ins; try again in 15 minutes"
    );
}

#[tokio::test]
async fn an_invitation_link_signs_the_contact_in_once_and_is_refused_the_second_time() {
    let app = spawn_app().await;
    let clerk = app
        .sign_in("clerk@ledgerport.example", "clerk-works-disputes")
        .await;
    let customer: i64 = {
        use sqlx::Row;
        sqlx::query("SELECT id FROM customers WHERE number = 'C-1001'")
            .fetch_one(app.db.pool())
            .await
            .unwrap()
            .get(0)
    };
    let invited = app
        .invoke(
            "/api/admin/invite-contact",
            &format!(
                "customer_id={customer}&email=robin%40acme.example&display_name=Robin&role=payer"
            ),
            Some(&clerk),
        )
        .await;
    assert_eq!(invited.status(), 200);
    let body = ledgerport::outbox::store::recent(&app.db, 1)
        .await
        .unwrap()
        .remove(0)
        .body;
    let token = body
        .split("token=")
        .nth(1)
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .to_string();
    let form = format!("token={token}&password=robin-pays-bills");
    let accepted = app.post_form("/api/accept-invitation", &form, None).await;
    assert_eq!(accepted.status(), 302);
    assert_eq!(accepted.headers()["location"], "/");
    let cookie = accepted.headers()["set-cookie"].to_str().unwrap();
    let cookie = cookie.split(';').next().unwrap();
    assert_eq!(app.me(Some(cookie)).await["email"], "robin@acme.example");

    let reused = app.invoke("/api/accept-invitation", &form, None).await;
    assert_eq!(reused.status(), 400);
    assert!(!reused.headers().contains_key("set-cookie"));
    let reason: serde_json::Value = reused.json().await.unwrap();
    assert!(
        reason["Invalid"]
            .as_str()
            .unwrap()
            .starts_with("This link does not work any more"),
        "{reason}"
    );
}

/// What `public/forms.js` relies on: a server function posted by a script (`Accept:
/// application/json`) answers a success with 200 and the next page in `Location`, and a refusal
/// with its status and `{"Variant": "reason"}`, the reason in the person's words.
#[tokio::test]
async fn a_form_posted_by_a_script_gets_the_next_page_in_location_or_the_refusal_as_json() {
    let app = spawn_app().await;
    let cookie = app.sign_in("pat@acme.example", "acme-pays-on-time").await;
    let post = |body: &'static str| {
        app.client
            .post(app.url("/api/save-billing-details"))
            .header("origin", crate::common::ORIGIN)
            .header("accept", "application/json")
            .header("content-type", "application/x-www-form-urlencoded")
            .header("cookie", cookie.as_str())
            .body(body)
            .send()
    };

    let refused = post("address=&country=DE&tax_id=DE123&standing_po=")
        .await
        .unwrap();
    assert_eq!(refused.status(), 400);
    assert!(refused.headers().get("location").is_none());
    let reason: serde_json::Value = refused.json().await.unwrap();
    assert!(
        reason["Invalid"]
            .as_str()
            .is_some_and(|text| text.contains("VAT numbers of DE look like DE123456789")),
        "{reason}"
    );

    let saved = post("address=Acme&country=gb&tax_id=GB+123+4567+89&standing_po=")
        .await
        .unwrap();
    assert_eq!(saved.status(), 200);
    assert_eq!(saved.headers()["location"], "/account/billing?saved=1");
}
