//! Two-factor sign-in over HTTP: the password step's short-lived cookie, the code step, a manager
//! kept from the staff pages until a second factor is set up, and the recovery codes file.

use ledgerport::auth::two_factor::{STEP_SECONDS, code_at};
use ledgerport::seed::DEMO_MANAGER_AUTHENTICATOR;
use ledgerport::testing::{fixtures, unused_code};
use ledgerport::users::Role;

use crate::common::{location, set_cookie, spawn_app};

#[tokio::test]
async fn a_right_password_asks_for_the_code_and_only_a_right_code_opens_a_session() {
    let app = spawn_app().await;
    let password = app
        .post_form(
            "/api/sign-in",
            "email=manager%40ledgerport.example&password=manager-sees-everything",
            None,
        )
        .await;
    assert!(password.status().is_redirection());
    assert_eq!(location(&password), "/sign-in/code");
    assert_eq!(set_cookie(&password, "ledgerport_session"), None);
    let challenge = set_cookie(&password, "ledgerport_code").expect("the challenge cookie");
    let header = password
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|value| value.to_str().ok())
        .find(|value| value.starts_with("ledgerport_code="))
        .unwrap()
        .to_string();
    assert!(
        header.contains("HttpOnly") && header.contains("Max-Age=300"),
        "{header}"
    );

    // Without the challenge, or with a wrong code: refused, no session.
    let no_challenge = app.invoke("/api/sign-in-code", "code=123456", None).await;
    assert_eq!(no_challenge.status(), 400);
    let now = chrono::Utc::now().timestamp();
    let near: Vec<String> = (-2..=2)
        .map(|step| code_at(DEMO_MANAGER_AUTHENTICATOR, now + step * STEP_SECONDS).unwrap())
        .collect();
    let wrong = ["000000", "111111", "222222", "333333", "444444", "555555"]
        .into_iter()
        .find(|code| !near.iter().any(|near| near == code))
        .unwrap();
    let refused = app
        .invoke(
            "/api/sign-in-code",
            &format!("code={wrong}"),
            Some(&challenge),
        )
        .await;
    assert_eq!(refused.status(), 400);
    assert_eq!(set_cookie(&refused, "ledgerport_session"), None);

    let manager: i64 =
        sqlx::query_scalar("SELECT id FROM users WHERE email = 'manager@ledgerport.example'")
            .fetch_one(app.db.pool())
            .await
            .unwrap();
    let code = unused_code(&app.db, manager, DEMO_MANAGER_AUTHENTICATOR).await;
    let signed_in = app
        .post_form(
            "/api/sign-in-code",
            &format!("code={code}"),
            Some(&challenge),
        )
        .await;
    assert_eq!(location(&signed_in), "/admin");
    let session = set_cookie(&signed_in, "ledgerport_session").expect("a session");
    let cleared = signed_in
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|value| value.to_str().ok())
        .any(|value| value.starts_with("ledgerport_code=;") && value.contains("Max-Age=0"));
    assert!(cleared, "the challenge cookie is cleared");
    assert_eq!(
        app.invoke("/api/admin/customers", "", Some(&session))
            .await
            .status(),
        200
    );
}

#[tokio::test]
async fn a_manager_without_a_second_factor_reaches_no_staff_page_until_one_is_set_up() {
    let app = spawn_app().await;
    let (email, password) = ("new-boss@ledgerport.example", "a-long-enough-secret");
    fixtures::user(&app.db, email, password, Role::Manager, None).await;
    let first = app
        .post_form(
            "/api/sign-in",
            &format!("email=new-boss%40ledgerport.example&password={password}"),
            None,
        )
        .await;
    assert_eq!(location(&first), "/profile/two-factor");
    let cookie = set_cookie(&first, "ledgerport_session").expect("a session");

    let refused = app.invoke("/api/admin/customers", "", Some(&cookie)).await;
    assert_eq!(refused.status(), 403);
    assert!(refused.text().await.unwrap().contains("two-factor"));
    assert_eq!(app.page("/admin", Some(&cookie)).await.status(), 403);
    let home = app.page("/", Some(&cookie)).await;
    assert_eq!(location(&home), "/profile/two-factor");

    // Setting it up in this session opens the staff pages.
    assert_eq!(
        app.invoke("/api/two-factor-begin", "", Some(&cookie))
            .await
            .status(),
        200
    );
    let view = app.call("/api/two-factor", Some(&cookie)).await;
    assert_eq!(view["required"], true);
    assert!(view["pending"]["qr_svg"].as_str().unwrap().contains("<svg"));
    let secret = view["pending"]["secret"].as_str().unwrap().replace(' ', "");
    let code = code_at(&secret, chrono::Utc::now().timestamp()).unwrap();
    let confirmed = app
        .invoke(
            "/api/two-factor-confirm",
            &format!("code={code}"),
            Some(&cookie),
        )
        .await;
    assert_eq!(confirmed.status(), 200);
    let shown: Vec<String> = confirmed.json().await.unwrap();
    assert_eq!(shown.len(), 10);
    assert_eq!(
        app.invoke("/api/admin/customers", "", Some(&cookie))
            .await
            .status(),
        200
    );

    // New recovery codes as a file to keep; the ones shown before stop working.
    let file = app
        .post_form("/profile/recovery-codes.txt", "", Some(&cookie))
        .await;
    assert_eq!(file.status(), 200);
    assert!(
        file.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .starts_with("attachment")
    );
    let text = file.text().await.unwrap();
    let codes: Vec<&str> = text
        .lines()
        .filter(|line| line.len() == 19 && line.matches('-').count() == 3)
        .collect();
    assert_eq!(codes.len(), 10, "{text}");
    assert!(shown.iter().all(|old| !text.contains(old.as_str())));
}
