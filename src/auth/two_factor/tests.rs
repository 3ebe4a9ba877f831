//! Tests of two-factor sign-in against a real database (a fresh one per test, on either engine).

use super::*;
use crate::auth::store::{SignedIn, resolve_session, sign_in};
use crate::seed::{DEMO_LOGINS, seed_demo};
use crate::testing::fixtures::user;
use crate::testing::{fresh_db, sign_in_demo};

const PASSWORD: &str = "a-long-enough-secret";

/// A user with a confirmed authenticator: their signed-in caller (the enrolling session), the
/// secret and the recovery codes.
async fn enrolled(db: &Db, email: &str, role: Role) -> (Caller, String, Vec<String>) {
    let customer_id = if role.is_staff() {
        None
    } else {
        Some(
            crate::testing::fixtures::customer(db, "C-9", crate::money::Currency::Usd, (30, 0, 0))
                .await,
        )
    };
    user(db, email, PASSWORD, role, customer_id).await;
    let caller = sign_in(db, email, PASSWORD, "127.0.0.1")
        .await
        .unwrap()
        .into_session();
    let enrolment = begin(db, &caller).await.unwrap();
    let code = code_at(&enrolment.secret, Utc::now().timestamp()).unwrap();
    let codes = confirm(db, &caller, &code, "127.0.0.1").await.unwrap();
    (caller, enrolment.secret, codes)
}

async fn challenge_for(db: &Db, email: &str) -> String {
    match sign_in(db, email, PASSWORD, "127.0.0.1").await.unwrap() {
        SignedIn::CodeNeeded { challenge } => challenge,
        SignedIn::Session(_) => panic!("{email} signed in without a code"),
    }
}

async fn user_id(db: &Db, email: &str) -> i64 {
    sqlx::query_scalar("SELECT id FROM users WHERE email = $1")
        .bind(email)
        .fetch_one(db.pool())
        .await
        .unwrap()
}

/// A six-digit code that is none of the codes accepted around now.
fn wrong_code(secret: &str) -> String {
    let now = Utc::now().timestamp();
    let near: Vec<String> = (-2..=2)
        .map(|step| code_at(secret, now + step * STEP_SECONDS).unwrap())
        .collect();
    (0..10)
        .map(|digit| digit.to_string().repeat(6))
        .find(|code| !near.contains(code))
        .unwrap()
}

#[test]
fn codes_match_the_sha1_test_vectors_of_rfc_6238() {
    // RFC 6238 appendix B: the ASCII secret "12345678901234567890", 8 digits; 6 digits are the
    // last six of each.
    let secret = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ";
    for (time, expected) in [
        (59, "287082"),
        (1_111_111_109, "081804"),
        (1_234_567_890, "005924"),
        (2_000_000_000, "279037"),
    ] {
        assert_eq!(code_at(secret, time).unwrap(), expected, "at {time}");
    }
}

#[test]
fn a_typed_code_is_read_whatever_its_case_blanks_dashes_and_look_alikes() {
    assert_eq!(
        TypedCode::parse(" 123 456 "),
        Some(TypedCode::Authenticator("123456".into()))
    );
    assert_eq!(
        TypedCode::parse("ABCD-EFGH-JKMN-PQ0O"),
        Some(TypedCode::Recovery("abcdefghjkmnpq00".into()))
    );
    assert_eq!(
        TypedCode::parse("il11 2345 6789 abcd"),
        Some(TypedCode::Recovery("111123456789abcd".into()))
    );
    assert_eq!(TypedCode::parse("12345"), None);
    assert_eq!(TypedCode::parse("abcd-efgh-jkmn-pqr"), None);
    assert_eq!(TypedCode::parse("uuuu-uuuu-uuuu-uuuu"), None);
}

#[test]
fn new_recovery_codes_are_four_groups_of_four_and_differ() {
    let first = in_groups_of_four(&new_recovery_code());
    let second = in_groups_of_four(&new_recovery_code());
    assert_eq!(first.len(), 19);
    assert_eq!(first.matches('-').count(), 3);
    assert_ne!(first, second);
    assert!(matches!(
        TypedCode::parse(&first),
        Some(TypedCode::Recovery(_))
    ));
}

#[tokio::test]
async fn after_enrolment_sign_in_asks_for_a_code_and_refuses_a_wrong_an_expired_and_a_replayed_one()
{
    let db = fresh_db().await;
    let email = "robin@ledgerport.example";
    let (enrolling, secret, codes) = enrolled(&db, email, Role::Clerk).await;
    assert_eq!(codes.len(), RECOVERY_CODES);
    // The enrolling session proved the factor.
    let resolved = resolve_session(&db, &enrolling.session_id, enrolling.user_id)
        .await
        .unwrap()
        .unwrap();
    assert!(resolved.second_factor);

    let challenge = challenge_for(&db, email).await;
    let wrong = complete_sign_in(&db, &challenge, &wrong_code(&secret), "127.0.0.1").await;
    assert!(matches!(wrong, Err(TwoFactorError::WrongCode)), "{wrong:?}");
    let now = Utc::now().timestamp();
    let expired = code_at(&secret, now - 5 * STEP_SECONDS).unwrap();
    let late = complete_sign_in(&db, &challenge, &expired, "127.0.0.1").await;
    assert!(matches!(late, Err(TwoFactorError::WrongCode)), "{late:?}");

    let id = user_id(&db, email).await;
    let code = crate::testing::unused_code(&db, id, &secret).await;
    let caller = complete_sign_in(&db, &challenge, &code, "127.0.0.1")
        .await
        .unwrap();
    assert!(caller.second_factor);
    assert!(caller.is_staff());
    // The challenge worked once.
    let again = complete_sign_in(&db, &challenge, &code, "127.0.0.1").await;
    assert!(
        matches!(again, Err(TwoFactorError::SignInExpired)),
        "{again:?}"
    );
    // The same code on a new sign-in is a replay.
    let second = challenge_for(&db, email).await;
    let replay = complete_sign_in(&db, &second, &code, "127.0.0.1").await;
    assert!(
        matches!(replay, Err(TwoFactorError::CodeUsed)),
        "{replay:?}"
    );
    let failures: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM login_attempts WHERE email = $1 AND NOT succeeded",
    )
    .bind(email)
    .fetch_one(db.pool())
    .await
    .unwrap();
    assert_eq!(failures, 3, "every refused code counts against the limits");
}

#[tokio::test]
async fn a_challenge_older_than_five_minutes_is_refused() {
    let db = fresh_db().await;
    let email = "late@ledgerport.example";
    let (_, secret, _) = enrolled(&db, email, Role::Clerk).await;
    let challenge = challenge_for(&db, email).await;
    sqlx::query("UPDATE access_links SET expires_at = $1 WHERE purpose = 'second_factor'")
        .bind(timestamp_text(Utc::now() - Duration::seconds(1)))
        .execute(db.pool())
        .await
        .unwrap();
    let code = crate::testing::unused_code(&db, user_id(&db, email).await, &secret).await;
    let refused = complete_sign_in(&db, &challenge, &code, "127.0.0.1").await;
    assert!(
        matches!(refused, Err(TwoFactorError::SignInExpired)),
        "{refused:?}"
    );
}

#[tokio::test]
async fn five_wrong_codes_end_the_sign_in() {
    let db = fresh_db().await;
    let email = "guess@ledgerport.example";
    let (_, secret, _) = enrolled(&db, email, Role::Clerk).await;
    let challenge = challenge_for(&db, email).await;
    // From another address each time, so the per-address limit is not what stops it.
    for attempt in 0..CODE_FAILURES {
        let ip = format!("198.51.100.{attempt}");
        let wrong = complete_sign_in(&db, &challenge, &wrong_code(&secret), &ip).await;
        assert!(matches!(wrong, Err(TwoFactorError::WrongCode)), "{wrong:?}");
    }
    let code = crate::testing::unused_code(&db, user_id(&db, email).await, &secret).await;
    let ended = complete_sign_in(&db, &challenge, &code, "198.51.100.99").await;
    assert!(
        matches!(ended, Err(TwoFactorError::SignInExpired)),
        "{ended:?}"
    );
}

#[tokio::test]
async fn recovery_codes_are_single_use_stored_hashed_and_their_use_is_mailed() {
    let db = fresh_db().await;
    let email = "lost@ledgerport.example";
    let (_, _, codes) = enrolled(&db, email, Role::Clerk).await;
    let stored: Vec<String> = sqlx::query_scalar("SELECT code_hash FROM recovery_codes")
        .fetch_all(db.pool())
        .await
        .unwrap();
    assert_eq!(stored.len(), RECOVERY_CODES);
    for code in &codes {
        let plain = code.replace('-', "");
        assert!(!stored.iter().any(|hash| hash.contains(&plain)));
        assert!(stored.contains(&crate::secrets::digest_hex(&plain)));
    }

    // Typed in capitals with blanks instead of dashes, as people copy them.
    let typed = codes[0].to_uppercase().replace('-', " ");
    let challenge = challenge_for(&db, email).await;
    let caller = complete_sign_in(&db, &challenge, &typed, "127.0.0.1")
        .await
        .unwrap();
    assert!(caller.second_factor);
    let notices: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM outbox WHERE recipient = $1 AND subject = 'A recovery code was used'",
    )
    .bind(email)
    .fetch_one(db.pool())
    .await
    .unwrap();
    assert_eq!(notices, 1);

    let challenge = challenge_for(&db, email).await;
    let reused = complete_sign_in(&db, &challenge, &codes[0], "127.0.0.1").await;
    assert!(
        matches!(reused, Err(TwoFactorError::WrongCode)),
        "{reused:?}"
    );
    assert_eq!(
        state(&db, &caller).await.unwrap().recovery_codes_left,
        RECOVERY_CODES as i64 - 1
    );

    // New codes replace every old one.
    let fresh = new_recovery_codes(&db, &caller, "127.0.0.1").await.unwrap();
    let challenge = challenge_for(&db, email).await;
    let old = complete_sign_in(&db, &challenge, &codes[1], "127.0.0.1").await;
    assert!(matches!(old, Err(TwoFactorError::WrongCode)), "{old:?}");
    assert!(
        complete_sign_in(&db, &challenge, &fresh[0], "127.0.0.1")
            .await
            .is_ok()
    );
}

#[tokio::test]
async fn a_manager_without_a_second_factor_is_not_staff_until_enrolment_finishes() {
    let db = fresh_db().await;
    let email = "boss@ledgerport.example";
    user(&db, email, PASSWORD, Role::Manager, None).await;
    let caller = sign_in(&db, email, PASSWORD, "127.0.0.1")
        .await
        .unwrap()
        .into_session();
    assert!(caller.needs_second_factor());
    assert!(!caller.is_staff());

    let enrolment = begin(&db, &caller).await.unwrap();
    assert!(
        enrolment
            .otpauth_url
            .starts_with("otpauth://totp/Ledgerport:boss%40ledgerport.example?secret=")
    );
    let wrong = confirm(&db, &caller, &wrong_code(&enrolment.secret), "").await;
    assert!(matches!(wrong, Err(TwoFactorError::WrongCode)), "{wrong:?}");
    let code = code_at(&enrolment.secret, Utc::now().timestamp()).unwrap();
    confirm(&db, &caller, &code, "").await.unwrap();
    let now_staff = resolve_session(&db, &caller.session_id, caller.user_id)
        .await
        .unwrap()
        .unwrap();
    assert!(now_staff.is_staff());
    assert!(matches!(
        begin(&db, &now_staff).await,
        Err(TwoFactorError::AlreadyOn)
    ));
    assert!(matches!(
        turn_off(&db, &now_staff, &code, "").await,
        Err(TwoFactorError::ManagersKeepIt)
    ));
    let audited: i64 =
        sqlx::query_scalar("SELECT count(*) FROM audit_log WHERE action = 'two_factor_on'")
            .fetch_one(db.pool())
            .await
            .unwrap();
    assert_eq!(audited, 1);
}

#[tokio::test]
async fn a_contact_turns_it_off_with_a_code_and_signs_in_with_the_password_alone() {
    let db = fresh_db().await;
    let email = "payer@acme.example";
    let (caller, secret, _) = enrolled(&db, email, Role::Payer).await;
    let wrong = turn_off(&db, &caller, &wrong_code(&secret), "").await;
    assert!(matches!(wrong, Err(TwoFactorError::WrongCode)), "{wrong:?}");
    let code = crate::testing::unused_code(&db, caller.user_id, &secret).await;
    turn_off(&db, &caller, &code, "").await.unwrap();
    assert!(matches!(
        sign_in(&db, email, PASSWORD, "127.0.0.1").await.unwrap(),
        SignedIn::Session(_)
    ));
}

#[tokio::test]
async fn a_manager_resets_a_lost_factor_audited_and_the_user_is_told() {
    let db = fresh_db().await;
    seed_demo(&db).await.unwrap();
    let manager = sign_in_demo(&db, &DEMO_LOGINS[3]).await;
    let clerk = sign_in_demo(&db, &DEMO_LOGINS[2]).await;
    let email = "phone-lost@acme.example";
    let (contact, _, _) = enrolled(&db, email, Role::Payer).await;

    assert!(matches!(
        reset(&db, &clerk, contact.user_id, "").await,
        Err(TwoFactorError::ManagerOnly)
    ));
    assert!(matches!(
        reset(&db, &manager, manager.user_id, "").await,
        Err(TwoFactorError::OwnAccess)
    ));
    reset(&db, &manager, contact.user_id, "127.0.0.1")
        .await
        .unwrap();
    assert_eq!(
        resolve_session(&db, &contact.session_id, contact.user_id)
            .await
            .unwrap(),
        None
    );
    assert!(matches!(
        sign_in(&db, email, PASSWORD, "127.0.0.1").await.unwrap(),
        SignedIn::Session(_)
    ));
    let (actor, subject): (String, String) =
        sqlx::query_as("SELECT actor, subject FROM audit_log WHERE action = 'two_factor_reset'")
            .fetch_one(db.pool())
            .await
            .unwrap();
    assert_eq!(actor, DEMO_LOGINS[3].email);
    assert!(subject.contains(email), "{subject}");
    let told: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM outbox WHERE recipient = $1 AND subject = 'Your two-factor sign-in was reset'",
    )
    .bind(email)
    .fetch_one(db.pool())
    .await
    .unwrap();
    assert_eq!(told, 1);
    assert!(matches!(
        reset(&db, &manager, contact.user_id, "").await,
        Err(TwoFactorError::NotOn)
    ));
}

#[tokio::test]
async fn a_password_reset_does_not_skip_the_second_factor() {
    use crate::auth::access::{EmailedLink, LinkBase, LinkPurpose, redeem_link, request_link};
    let db = fresh_db().await;
    let email = "forgetful@ledgerport.example";
    enrolled(&db, email, Role::Clerk).await;
    let outbox_id = request_link(
        &db,
        EmailedLink::PasswordReset,
        email,
        "",
        &LinkBase("http://x"),
    )
    .await
    .unwrap()
    .unwrap();
    let body = crate::outbox::store::message(&db, outbox_id)
        .await
        .unwrap()
        .unwrap()
        .body;
    let start = body.find("token=").unwrap() + "token=".len();
    let secret = body[start..].split_whitespace().next().unwrap();
    let after = redeem_link(
        &db,
        LinkPurpose::PasswordReset,
        secret,
        "a-brand-new-password",
        "",
    )
    .await
    .unwrap();
    assert!(matches!(after, SignedIn::CodeNeeded { .. }), "{after:?}");
}
