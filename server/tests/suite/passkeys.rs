//! Passkeys over HTTP, as `public/passkeys.js` drives them: a `begin` server function answers
//! the ceremony, the answer goes back in a plain form post, and the session cookie and redirect
//! come back as a password sign-in's do.

use ledgerport::testing::PasskeyDevice;

use crate::common::{PASSKEY_ORIGIN, TestApp, location, set_cookie, spawn_app};

fn encoded(value: &str) -> String {
    url::form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

/// Adds a passkey for the session `cookie` belongs to, as the two-factor page's form does.
async fn add_passkey(app: &TestApp, cookie: &str, device: &mut PasskeyDevice, name: &str) {
    let begun = app.call("/api/passkey-add-begin", Some(cookie)).await;
    let answer = device.create(PASSKEY_ORIGIN, begun["options"].as_str().unwrap());
    let body = format!(
        "ceremony={}&name={}&answer={}",
        begun["ceremony"].as_str().unwrap(),
        encoded(name),
        encoded(&answer)
    );
    let added = app.post_form("/api/passkey-add", &body, Some(cookie)).await;
    assert!(added.status().is_redirection(), "{}", added.status());
    assert_eq!(location(&added), "/profile/two-factor?passkey_added=1");
}

#[tokio::test]
async fn a_contact_adds_a_passkey_and_signs_in_with_it_through_the_portals_forms() {
    let app = spawn_app().await;
    let sign_in_page = app.page("/sign-in", None).await.text().await.unwrap();
    assert!(
        sign_in_page.contains(&format!("content=\"{PASSKEY_ORIGIN}\"")),
        "the page names where passkeys work"
    );
    assert!(sign_in_page.contains("src=\"/passkeys.js\""));
    assert!(sign_in_page.contains("data-passkey-sign-in"));

    let cookie = app.sign_in("pat@acme.example", "acme-pays-on-time").await;
    let mut phone = PasskeyDevice::default();
    add_passkey(&app, &cookie, &mut phone, "Pat's phone").await;
    let listed = app.call("/api/passkeys", Some(&cookie)).await;
    assert_eq!(listed["passkeys"][0]["name"], "Pat's phone");
    assert_eq!(
        listed["proved"], true,
        "adding the first one proved a second factor"
    );
    // A later session by password alone is told to use the passkey before changing factors.
    let password_only = app.sign_in("pat@acme.example", "acme-pays-on-time").await;
    let page = app.call("/api/two-factor", Some(&password_only)).await;
    assert_eq!(page["passkey_first"], true, "{page}");
    assert_eq!(
        app.call("/api/two-factor", Some(&cookie)).await["passkey_first"],
        false
    );

    let begun = app.call("/api/passkey-sign-in-begin", None).await;
    let answer = phone.sign_in(PASSKEY_ORIGIN, begun["options"].as_str().unwrap());
    let body = format!(
        "ceremony={}&answer={}",
        begun["ceremony"].as_str().unwrap(),
        encoded(&answer)
    );
    let signed_in = app.post_form("/api/passkey-sign-in", &body, None).await;
    assert!(
        signed_in.status().is_redirection(),
        "{}",
        signed_in.status()
    );
    assert_eq!(location(&signed_in), "/");
    let session = set_cookie(&signed_in, "ledgerport_session").expect("a session cookie");
    assert_eq!(app.me(Some(&session)).await["email"], "pat@acme.example");

    // The same answer again: refused with the reason, no session.
    let again = app.invoke("/api/passkey-sign-in", &body, None).await;
    assert_eq!(again.status(), 400);
    assert_eq!(set_cookie(&again, "ledgerport_session"), None);
    let reason = again.text().await.unwrap();
    assert!(reason.contains("already used"), "{reason}");
}

#[tokio::test]
async fn a_manager_who_signs_in_with_a_passkey_reaches_the_staff_pages() {
    let app = spawn_app().await;
    let db = &app.db;
    ledgerport::testing::fixtures::user(
        db,
        "noor@ledgerport.example",
        "a-long-enough-secret",
        ledgerport::users::Role::Manager,
        None,
    )
    .await;
    let password_only = app
        .sign_in("noor@ledgerport.example", "a-long-enough-secret")
        .await;
    assert_eq!(
        app.me(Some(&password_only)).await["needs_second_factor"],
        true
    );
    let mut key = PasskeyDevice::default();
    add_passkey(&app, &password_only, &mut key, "Security key").await;

    let begun = app.call("/api/passkey-sign-in-begin", None).await;
    let answer = key.sign_in(PASSKEY_ORIGIN, begun["options"].as_str().unwrap());
    let body = format!(
        "ceremony={}&answer={}",
        begun["ceremony"].as_str().unwrap(),
        encoded(&answer)
    );
    let signed_in = app.post_form("/api/passkey-sign-in", &body, None).await;
    assert_eq!(location(&signed_in), "/admin");
    let session = set_cookie(&signed_in, "ledgerport_session").unwrap();
    let me = app.me(Some(&session)).await;
    assert_eq!(me["is_staff"], true);
    assert_eq!(me["needs_second_factor"], false);
}

#[tokio::test]
async fn what_cannot_be_a_passkey_answer_gets_a_400_with_a_reason_and_signs_no_one_in() {
    let app = spawn_app().await;
    let begun = app.call("/api/passkey-sign-in-begin", None).await;
    let ceremony = begun["ceremony"].as_str().unwrap();
    for answer in ["not-json", "{}", &"x".repeat(70 * 1024)] {
        let refused = app
            .invoke(
                "/api/passkey-sign-in",
                &format!("ceremony={ceremony}&answer={}", encoded(answer)),
                None,
            )
            .await;
        assert_eq!(refused.status(), 400, "{:.20}", answer);
        assert_eq!(set_cookie(&refused, "ledgerport_session"), None);
        let reason = refused.text().await.unwrap();
        assert!(reason.contains("could not be read"), "{reason}");
    }
    // Adding one is for a signed-in user only.
    let anonymous = app.invoke("/api/passkey-add-begin", "", None).await;
    assert_eq!(anonymous.status(), 401);
}
