//! Tests of `access` against a real database (a fresh one per test, on either engine).

use super::*;
use crate::auth::store::{resolve_session, sign_in};
use crate::outbox::store::message;
use crate::seed::{DEMO_LOGINS, seed_demo};
use crate::testing::fresh_db;

const BASE: LinkBase<'static> = LinkBase("http://127.0.0.1:3000");

async fn demo(db: &Db, index: usize) -> Caller {
    seed_if_needed(db).await;
    crate::testing::sign_in_demo(db, &DEMO_LOGINS[index]).await
}

async fn seed_if_needed(db: &Db) {
    if crate::seed::is_empty(db).await.unwrap() {
        seed_demo(db).await.unwrap();
    }
}

/// The secret of the link in a queued message, as the recipient would click it.
async fn link_secret(db: &Db, outbox_id: i64) -> String {
    let body = message(db, outbox_id).await.unwrap().unwrap().body;
    let start = body.find("token=").unwrap() + "token=".len();
    body[start..].split_whitespace().next().unwrap().to_string()
}

async fn audit_actions(db: &Db) -> Vec<String> {
    sqlx::query("SELECT action FROM audit_log ORDER BY id")
        .fetch_all(db.pool())
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect()
}

async fn invite(db: &Db, email: &str) -> Invited {
    let clerk = demo(db, 2).await;
    let payer = demo(db, 0).await;
    invite_contact(
        db,
        &clerk,
        payer.customer_id.unwrap(),
        email,
        "Robin",
        Role::Payer,
        &BASE,
    )
    .await
    .unwrap()
}

#[tokio::test]
async fn an_invitation_link_sets_the_password_once_and_is_refused_when_reused() {
    let db = fresh_db().await;
    let invited = invite(&db, "robin@acme.example").await;
    let queued = message(&db, invited.outbox_id).await.unwrap().unwrap();
    assert_eq!(queued.recipient, "robin@acme.example");
    assert!(
        queued
            .body
            .contains("http://127.0.0.1:3000/accept-invitation?token=")
    );
    let secret = link_secret(&db, invited.outbox_id).await;
    // Only the hash is stored.
    let stored: i64 = sqlx::query("SELECT count(*) FROM access_links WHERE token_hash = $1")
        .bind(&secret)
        .fetch_one(db.pool())
        .await
        .unwrap()
        .get(0);
    assert_eq!(stored, 0);

    let caller = redeem_link(
        &db,
        LinkPurpose::Invitation,
        &secret,
        "robin-pays-bills",
        "127.0.0.1",
    )
    .await
    .unwrap()
    .into_session();
    assert_eq!(caller.user_id, invited.user_id);
    assert_eq!(caller.role, Role::Payer);
    assert!(
        sign_in(&db, "robin@acme.example", "robin-pays-bills", "127.0.0.1")
            .await
            .is_ok()
    );

    let again = redeem_link(
        &db,
        LinkPurpose::Invitation,
        &secret,
        "another-password",
        "127.0.0.1",
    )
    .await
    .unwrap_err();
    assert!(matches!(again, AccessError::InvalidLink), "{again}");
    assert!(
        sign_in(&db, "robin@acme.example", "another-password", "127.0.0.1")
            .await
            .is_err()
    );
    let actions = audit_actions(&db).await;
    assert!(actions.contains(&"invitation_sent".to_string()));
    assert!(actions.contains(&"invitation_accepted".to_string()));
}

#[tokio::test]
async fn an_expired_invitation_link_is_refused_and_sets_no_password() {
    let db = fresh_db().await;
    let invited = invite(&db, "late@acme.example").await;
    let secret = link_secret(&db, invited.outbox_id).await;
    sqlx::query("UPDATE access_links SET expires_at = $1")
        .bind(timestamp_text(Utc::now() - Duration::minutes(1)))
        .execute(db.pool())
        .await
        .unwrap();
    let refused = redeem_link(
        &db,
        LinkPurpose::Invitation,
        &secret,
        "late-but-keen",
        "127.0.0.1",
    )
    .await
    .unwrap_err();
    assert!(matches!(refused, AccessError::InvalidLink), "{refused}");
    let hash: Option<String> = sqlx::query("SELECT password_hash FROM users WHERE id = $1")
        .bind(invited.user_id)
        .fetch_one(db.pool())
        .await
        .unwrap()
        .get(0);
    assert_eq!(hash, None);
}

#[tokio::test]
async fn an_invitation_link_cannot_be_used_to_reset_a_password() {
    let db = fresh_db().await;
    let invited = invite(&db, "robin@acme.example").await;
    let secret = link_secret(&db, invited.outbox_id).await;
    let refused = redeem_link(
        &db,
        LinkPurpose::PasswordReset,
        &secret,
        "robin-pays-bills",
        "",
    )
    .await
    .unwrap_err();
    assert!(matches!(refused, AccessError::InvalidLink), "{refused}");
}

#[tokio::test]
async fn a_password_reset_ends_every_session_and_the_old_password() {
    let db = fresh_db().await;
    let before = demo(&db, 0).await;
    let login = &DEMO_LOGINS[0];
    let outbox_id = request_link(
        &db,
        EmailedLink::PasswordReset,
        login.email,
        "127.0.0.1",
        &BASE,
    )
    .await
    .unwrap()
    .unwrap();
    let secret = link_secret(&db, outbox_id).await;
    let after = redeem_link(
        &db,
        LinkPurpose::PasswordReset,
        &secret,
        "a-brand-new-secret",
        "127.0.0.1",
    )
    .await
    .unwrap()
    .into_session();
    assert_eq!(
        resolve_session(&db, &before.session_id, before.user_id)
            .await
            .unwrap(),
        None
    );
    assert!(
        resolve_session(&db, &after.session_id, after.user_id)
            .await
            .unwrap()
            .is_some()
    );
    assert!(
        sign_in(&db, login.email, login.password, "127.0.0.1")
            .await
            .is_err()
    );
    assert!(
        sign_in(&db, login.email, "a-brand-new-secret", "127.0.0.1")
            .await
            .is_ok()
    );
}

#[tokio::test]
async fn a_reset_for_an_unknown_email_sends_nothing_and_repeated_requests_are_capped() {
    let db = fresh_db().await;
    seed_if_needed(&db).await;
    assert_eq!(
        request_link(
            &db,
            EmailedLink::PasswordReset,
            "nobody@example.com",
            "",
            &BASE
        )
        .await
        .unwrap(),
        None
    );
    assert_eq!(
        request_link(&db, EmailedLink::PasswordReset, "not an email", "", &BASE)
            .await
            .unwrap(),
        None
    );
    let login = &DEMO_LOGINS[1];
    for _ in 0..LINKS_PER_HOUR {
        assert!(
            request_link(&db, EmailedLink::PasswordReset, login.email, "", &BASE)
                .await
                .unwrap()
                .is_some()
        );
    }
    assert_eq!(
        request_link(&db, EmailedLink::PasswordReset, login.email, "", &BASE)
            .await
            .unwrap(),
        None
    );
}

#[tokio::test]
async fn changing_the_password_needs_the_current_one_and_ends_the_other_sessions() {
    let db = fresh_db().await;
    let here = demo(&db, 0).await;
    let elsewhere = demo(&db, 0).await;
    let wrong = change_password(&db, &here, "not-it", "a-brand-new-secret", "")
        .await
        .unwrap_err();
    assert!(matches!(wrong, AccessError::WrongPassword), "{wrong}");
    let weak = change_password(&db, &here, DEMO_LOGINS[0].password, "password", "")
        .await
        .unwrap_err();
    assert!(
        matches!(weak, AccessError::Invalid(UserError::PasswordTooCommon)),
        "{weak}"
    );
    change_password(
        &db,
        &here,
        DEMO_LOGINS[0].password,
        "a-brand-new-secret",
        "",
    )
    .await
    .unwrap();
    assert!(
        resolve_session(&db, &here.session_id, here.user_id)
            .await
            .unwrap()
            .is_some()
    );
    assert_eq!(
        resolve_session(&db, &elsewhere.session_id, elsewhere.user_id)
            .await
            .unwrap(),
        None
    );
}

#[tokio::test]
async fn only_staff_invite_and_only_managers_change_roles_or_revoke() {
    let db = fresh_db().await;
    let payer = demo(&db, 0).await;
    let viewer = demo(&db, 1).await;
    let clerk = demo(&db, 2).await;
    let customer = payer.customer_id.unwrap();
    let by_payer = invite_contact(
        &db,
        &payer,
        customer,
        "x@acme.example",
        "",
        Role::Payer,
        &BASE,
    )
    .await;
    assert!(matches!(by_payer, Err(AccessError::StaffOnly)));
    let staff_invite = invite_contact(
        &db,
        &clerk,
        customer,
        "x@acme.example",
        "",
        Role::Manager,
        &BASE,
    )
    .await;
    assert!(matches!(staff_invite, Err(AccessError::NotAContactRole)));
    assert!(matches!(
        change_role(&db, &clerk, viewer.user_id, Role::Payer).await,
        Err(AccessError::ManagerOnly)
    ));
    assert!(matches!(
        revoke_access(&db, &clerk, viewer.user_id, "").await,
        Err(AccessError::ManagerOnly)
    ));
    assert!(matches!(
        contacts(&db, &payer, customer).await,
        Err(AccessError::StaffOnly)
    ));
    assert_eq!(contacts(&db, &clerk, customer).await.unwrap().len(), 2);
}

#[tokio::test]
async fn a_role_change_applies_at_once_and_is_audited() {
    let db = fresh_db().await;
    let viewer = demo(&db, 1).await;
    let manager = demo(&db, 3).await;
    let to_staff = change_role(&db, &manager, viewer.user_id, Role::Clerk).await;
    assert!(
        matches!(to_staff, Err(AccessError::NotAContactRole)),
        "{to_staff:?}"
    );
    change_role(&db, &manager, viewer.user_id, Role::Payer)
        .await
        .unwrap();
    assert_eq!(
        resolve_session(&db, &viewer.session_id, viewer.user_id)
            .await
            .unwrap(),
        None
    );
    let again = sign_in(&db, DEMO_LOGINS[1].email, DEMO_LOGINS[1].password, "")
        .await
        .unwrap()
        .into_session();
    assert_eq!(again.role, Role::Payer);
    let detail: String = sqlx::query("SELECT detail FROM audit_log WHERE action = 'role_changed'")
        .fetch_one(db.pool())
        .await
        .unwrap()
        .get(0);
    assert_eq!(detail, "viewer -> payer");
}

#[tokio::test]
async fn revoking_access_ends_the_sessions_and_blocks_sign_in() {
    let db = fresh_db().await;
    let payer = demo(&db, 0).await;
    let manager = demo(&db, 3).await;
    revoke_access(&db, &manager, payer.user_id, "left the company")
        .await
        .unwrap();
    assert_eq!(
        resolve_session(&db, &payer.session_id, payer.user_id)
            .await
            .unwrap(),
        None
    );
    assert!(
        sign_in(&db, DEMO_LOGINS[0].email, DEMO_LOGINS[0].password, "")
            .await
            .is_err()
    );
    assert!(matches!(
        revoke_access(&db, &manager, manager.user_id, "").await,
        Err(AccessError::OwnAccess)
    ));
    assert!(
        audit_actions(&db)
            .await
            .contains(&"access_revoked".to_string())
    );
}

#[tokio::test]
async fn an_emailed_sign_in_link_signs_in_once_and_only_for_fifteen_minutes() {
    let db = fresh_db().await;
    seed_if_needed(&db).await;
    let login = &DEMO_LOGINS[0];
    let outbox_id = request_link(&db, EmailedLink::SignIn, login.email, "127.0.0.1", &BASE)
        .await
        .unwrap()
        .unwrap();
    let body = message(&db, outbox_id).await.unwrap().unwrap().body;
    assert!(
        body.contains("http://127.0.0.1:3000/sign-in/link?token="),
        "{body}"
    );
    let secret = link_secret(&db, outbox_id).await;
    let caller = redeem_sign_in_link(&db, &secret, "127.0.0.1")
        .await
        .unwrap()
        .into_session();
    assert_eq!(caller.email, login.email);
    assert!(matches!(
        redeem_sign_in_link(&db, &secret, "127.0.0.1").await,
        Err(AccessError::InvalidLink)
    ));

    let outbox_id = request_link(&db, EmailedLink::SignIn, login.email, "127.0.0.1", &BASE)
        .await
        .unwrap()
        .unwrap();
    let late = link_secret(&db, outbox_id).await;
    sqlx::query("UPDATE access_links SET expires_at = $1 WHERE purpose = 'sign_in'")
        .bind(timestamp_text(Utc::now() - Duration::seconds(1)))
        .execute(db.pool())
        .await
        .unwrap();
    assert!(matches!(
        redeem_sign_in_link(&db, &late, "127.0.0.1").await,
        Err(AccessError::InvalidLink)
    ));
    let actions = audit_actions(&db).await;
    assert!(actions.contains(&"sign_in_link_requested".to_string()));
}

#[tokio::test]
async fn no_sign_in_link_goes_to_an_unknown_address_or_a_contact_still_invited() {
    let db = fresh_db().await;
    seed_if_needed(&db).await;
    assert_eq!(
        request_link(&db, EmailedLink::SignIn, "nobody@acme.example", "", &BASE)
            .await
            .unwrap(),
        None
    );
    invite(&db, "not-yet@acme.example").await;
    assert_eq!(
        request_link(&db, EmailedLink::SignIn, "not-yet@acme.example", "", &BASE)
            .await
            .unwrap(),
        None
    );
}

#[tokio::test]
async fn a_sign_in_link_still_asks_a_user_with_two_factors_for_the_code() {
    let db = fresh_db().await;
    seed_if_needed(&db).await;
    let outbox_id = request_link(&db, EmailedLink::SignIn, DEMO_LOGINS[3].email, "", &BASE)
        .await
        .unwrap()
        .unwrap();
    let secret = link_secret(&db, outbox_id).await;
    let signed_in = redeem_sign_in_link(&db, &secret, "").await.unwrap();
    assert!(
        matches!(signed_in, SignedIn::CodeNeeded { .. }),
        "{signed_in:?}"
    );
}
