//! Tests of passkeys against a real database (a fresh one per test, on either engine), with a
//! software passkey making real P-256 keys and signatures.

use super::*;
use crate::auth::store::{resolve_session, sign_in};
use crate::seed::{DEMO_LOGINS, seed_demo};
use crate::testing::fixtures::user;
use crate::testing::{PasskeyDevice as Device, fresh_db, sign_in_demo};

const ORIGIN: &str = "http://localhost:3000";
const PASSWORD: &str = "a-long-enough-secret";
const IP: &str = "127.0.0.1";

fn portal() -> RelyingParty {
    RelyingParty::new(ORIGIN).unwrap()
}

/// A user signed in with their password (no second factor in the session).
async fn password_session(db: &Db, email: &str, role: Role) -> Caller {
    let customer_id = if role.is_staff() {
        None
    } else {
        let existing: Option<i64> =
            sqlx::query_scalar("SELECT id FROM customers WHERE number = 'C-7'")
                .fetch_optional(db.pool())
                .await
                .unwrap();
        Some(match existing {
            Some(id) => id,
            None => {
                crate::testing::fixtures::customer(
                    db,
                    "C-7",
                    crate::money::Currency::Eur,
                    (30, 0, 0),
                )
                .await
            }
        })
    };
    user(db, email, PASSWORD, role, customer_id).await;
    sign_in(db, email, PASSWORD, IP)
        .await
        .unwrap()
        .into_session()
}

/// Adds a passkey named `name` on `device` from `caller`'s session.
async fn add(
    db: &Db,
    caller: &Caller,
    device: &mut Device,
    name: &str,
) -> Result<(), PasskeyError> {
    let rp = portal();
    let ceremony = begin_adding(db, &rp, caller, IP).await?;
    let answer = device.create(ORIGIN, &ceremony.options_json);
    finish_adding(db, &rp, caller, &ceremony.id, name, &answer, IP).await
}

/// A payer with one passkey on their phone, and a later session of theirs by password alone.
async fn with_a_passkey(db: &Db, email: &str) -> (Device, Caller) {
    let first = password_session(db, email, Role::Payer).await;
    let mut phone = Device::default();
    add(db, &first, &mut phone, "Phone").await.unwrap();
    let password_only = sign_in(db, email, PASSWORD, IP)
        .await
        .unwrap()
        .into_session();
    (phone, password_only)
}

async fn sign_in_with(db: &Db, device: &mut Device) -> Result<Caller, PasskeyError> {
    let rp = portal();
    let ceremony = begin_sign_in(db, &rp, IP).await?;
    let answer = device.sign_in(ORIGIN, &ceremony.options_json);
    finish_sign_in(db, &rp, &ceremony.id, &answer, IP).await
}

async fn mails_to(db: &Db, email: &str, subject: &str) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM outbox WHERE recipient = $1 AND subject = $2")
        .bind(email)
        .bind(subject)
        .fetch_one(db.pool())
        .await
        .unwrap()
}

#[test]
fn passkeys_are_bound_to_a_domain_name_never_to_an_ip_address() {
    assert_eq!(
        RelyingParty::new("https://billing.example.com/portal")
            .unwrap()
            .origin(),
        "https://billing.example.com"
    );
    assert_eq!(portal().origin(), "http://localhost:3000");
    for refused in [
        "http://billing.example.com",
        "http://127.0.0.1:3000",
        "https://[::1]",
        "billing.example.com",
        "ftp://x.example",
    ] {
        assert!(RelyingParty::new(refused).is_err(), "{refused}");
    }
}

#[test]
fn a_passkey_name_is_one_line_of_one_to_sixty_characters() {
    assert_eq!(passkey_name("  Work laptop ").unwrap(), "Work laptop");
    assert_eq!(passkey_name(&"ü".repeat(60)).unwrap().chars().count(), 60);
    for refused in ["", "   ", "two\nlines", &"x".repeat(61)] {
        assert!(
            matches!(passkey_name(refused), Err(PasskeyError::NameInvalid)),
            "{refused:?}"
        );
    }
}

#[tokio::test]
async fn a_contact_adds_a_passkey_and_then_signs_in_with_it_alone_as_two_factors() {
    let db = fresh_db().await;
    let email = "pat@fabrikam.example";
    let caller = password_session(&db, email, Role::Payer).await;
    assert!(list(&db, &caller).await.unwrap().may_add);
    let mut phone = Device::default();
    add(&db, &caller, &mut phone, "  My phone ").await.unwrap();

    let listed = list(&db, &caller).await.unwrap();
    assert_eq!(listed.passkeys.len(), 1);
    assert_eq!(listed.passkeys[0].name, "My phone");
    assert_eq!(listed.passkeys[0].last_used_at, None);
    // Adding the first one proved a second factor in this session, as enrolling an app does.
    let session = resolve_session(&db, &caller.session_id, caller.user_id)
        .await
        .unwrap()
        .unwrap();
    assert!(session.second_factor);
    assert_eq!(
        mails_to(&db, email, "A passkey was added to your account").await,
        1
    );

    let signed_in = sign_in_with(&db, &mut phone).await.unwrap();
    assert_eq!(signed_in.user_id, caller.user_id);
    assert_ne!(signed_in.session_id, caller.session_id);
    assert!(signed_in.second_factor);
    let listed = list(&db, &signed_in).await.unwrap();
    assert!(listed.passkeys[0].last_used_at.is_some());
    let how: String = sqlx::query_scalar(
        "SELECT detail FROM audit_log WHERE action = 'sign_in' AND actor_user_id = $1 \
         ORDER BY id DESC LIMIT 1",
    )
    .bind(caller.user_id)
    .fetch_one(db.pool())
    .await
    .unwrap();
    assert_eq!(how, "passkey");
    // The same device cannot be added twice (the browser is told which keys exist already).
    let again = begin_adding(&db, &portal(), &signed_in, IP).await.unwrap();
    let options: CreationChallengeResponse = serde_json::from_str(&again.options_json).unwrap();
    assert_eq!(
        options.public_key.exclude_credentials.unwrap().len(),
        1,
        "the user's key is excluded"
    );
}

#[tokio::test]
async fn a_sign_in_answer_counts_once_and_only_for_its_own_ceremony_and_site() {
    let db = fresh_db().await;
    let caller = password_session(&db, "ola@fabrikam.example", Role::Payer).await;
    let mut phone = Device::default();
    add(&db, &caller, &mut phone, "Phone").await.unwrap();
    let rp = portal();

    let ceremony = begin_sign_in(&db, &rp, IP).await.unwrap();
    let answer = phone.sign_in(ORIGIN, &ceremony.options_json);
    finish_sign_in(&db, &rp, &ceremony.id, &answer, IP)
        .await
        .unwrap();
    let replayed = finish_sign_in(&db, &rp, &ceremony.id, &answer, IP).await;
    assert!(
        matches!(replayed, Err(PasskeyError::CeremonyExpired)),
        "{replayed:?}"
    );

    // An answer to one challenge does not finish another ceremony.
    let other = begin_sign_in(&db, &rp, IP).await.unwrap();
    let crossed = finish_sign_in(&db, &rp, &other.id, &answer, IP).await;
    assert!(
        matches!(crossed, Err(PasskeyError::NotRecognised)),
        "{crossed:?}"
    );

    // What the passkey signed for another origin (another program on the host) does not count.
    let phished = begin_sign_in(&db, &rp, IP).await.unwrap();
    let answer = phone.sign_in("http://localhost:8080", &phished.options_json);
    let refused = finish_sign_in(&db, &rp, &phished.id, &answer, IP).await;
    assert!(
        matches!(refused, Err(PasskeyError::NotRecognised)),
        "{refused:?}"
    );

    let failures = |email: &'static str| {
        let db = db.clone();
        async move {
            sqlx::query_scalar::<_, i64>(
                "SELECT count(*) FROM login_attempts WHERE email = $1 AND ip = $2 AND NOT succeeded",
            )
            .bind(email)
            .bind(IP)
            .fetch_one(db.pool())
            .await
            .unwrap()
        }
    };
    assert_eq!(
        failures("").await,
        2,
        "each refused answer counts against the address's sign-in limit"
    );
    assert_eq!(
        failures("ola@fabrikam.example").await,
        0,
        "and not against the password's attempts"
    );
    assert!(matches!(
        finish_sign_in(&db, &rp, "no-such-ceremony", "{}", IP).await,
        Err(PasskeyError::BadAnswer)
    ));
}

#[tokio::test]
async fn a_disabled_users_passkey_and_a_removed_passkey_sign_no_one_in() {
    let db = fresh_db().await;
    let caller = password_session(&db, "kim@fabrikam.example", Role::Viewer).await;
    let mut laptop = Device::default();
    add(&db, &caller, &mut laptop, "Laptop").await.unwrap();
    sqlx::query("UPDATE users SET disabled_at = '2026-12-01T00:00:00Z' WHERE id = $1")
        .bind(caller.user_id)
        .execute(db.pool())
        .await
        .unwrap();
    assert!(matches!(
        sign_in_with(&db, &mut laptop).await,
        Err(PasskeyError::NotRecognised)
    ));
    sqlx::query("UPDATE users SET disabled_at = NULL WHERE id = $1")
        .bind(caller.user_id)
        .execute(db.pool())
        .await
        .unwrap();
    let proved = sign_in_with(&db, &mut laptop).await.unwrap();
    let id = list(&db, &proved).await.unwrap().passkeys[0].id;
    remove(&db, &proved, id, IP).await.unwrap();
    assert!(list(&db, &proved).await.unwrap().passkeys.is_empty());
    assert!(matches!(
        sign_in_with(&db, &mut laptop).await,
        Err(PasskeyError::NotRecognised)
    ));
    assert_eq!(
        mails_to(
            &db,
            "kim@fabrikam.example",
            "A passkey was removed from your account"
        )
        .await,
        1
    );
}

#[tokio::test]
async fn once_a_user_has_a_second_factor_only_a_session_that_proved_one_adds_or_removes_a_passkey()
{
    let db = fresh_db().await;
    let (mut phone, password_only) = with_a_passkey(&db, "lee@fabrikam.example").await;

    // Someone with the password alone: no new passkey of theirs, no removing the user's.
    assert!(!list(&db, &password_only).await.unwrap().may_add);
    assert!(matches!(
        begin_adding(&db, &portal(), &password_only, IP).await,
        Err(PasskeyError::SecondFactorFirst)
    ));
    let id = list(&db, &password_only).await.unwrap().passkeys[0].id;
    assert!(matches!(
        remove(&db, &password_only, id, IP).await,
        Err(PasskeyError::SecondFactorFirst)
    ));
    // A passkey's session may, and another user's passkey is not theirs to remove.
    let proved = sign_in_with(&db, &mut phone).await.unwrap();
    add(&db, &proved, &mut Device::default(), "Spare key")
        .await
        .unwrap();
    let stranger = password_session(&db, "eve@fabrikam.example", Role::Payer).await;
    let stranger = Caller {
        second_factor: true,
        ..stranger
    };
    assert!(matches!(
        remove(&db, &stranger, id, IP).await,
        Err(PasskeyError::UnknownPasskey)
    ));
    assert_eq!(list(&db, &proved).await.unwrap().passkeys.len(), 2);
}

#[tokio::test]
async fn an_ar_manager_signs_in_with_a_passkey_keeps_the_last_one_and_another_manager_resets_them()
{
    let db = fresh_db().await;
    seed_demo(&db).await.unwrap();
    let email = "mo@ledgerport.example";
    let new_manager = password_session(&db, email, Role::Manager).await;
    assert!(new_manager.needs_second_factor());
    let mut key = Device::default();
    add(&db, &new_manager, &mut key, "Security key")
        .await
        .unwrap();

    let manager = sign_in_with(&db, &mut key).await.unwrap();
    assert!(
        manager.is_manager(),
        "a passkey's session reaches the staff pages"
    );
    let id = list(&db, &manager).await.unwrap().passkeys[0].id;
    assert!(matches!(
        remove(&db, &manager, id, IP).await,
        Err(PasskeyError::ManagersKeepOne)
    ));
    assert_eq!(list(&db, &manager).await.unwrap().passkeys.len(), 1);

    // A lost key: another manager's reset removes every passkey and ends the sessions.
    let other = sign_in_demo(&db, &DEMO_LOGINS[3]).await;
    crate::auth::two_factor::reset(&db, &other, manager.user_id, IP)
        .await
        .unwrap();
    assert!(list(&db, &manager).await.unwrap().passkeys.is_empty());
    assert_eq!(
        resolve_session(&db, &manager.session_id, manager.user_id)
            .await
            .unwrap(),
        None
    );
    assert!(matches!(
        sign_in_with(&db, &mut key).await,
        Err(PasskeyError::NotRecognised)
    ));
}

#[tokio::test]
async fn one_address_holds_only_a_few_open_sign_in_ceremonies() {
    let db = fresh_db().await;
    let rp = portal();
    for _ in 0..OPEN_SIGN_INS_PER_ADDRESS {
        begin_sign_in(&db, &rp, "203.0.113.9").await.unwrap();
    }
    assert!(matches!(
        begin_sign_in(&db, &rp, "203.0.113.9").await,
        Err(PasskeyError::TooManyAttempts { .. })
    ));
    begin_sign_in(&db, &rp, "198.51.100.4").await.unwrap();
}

#[tokio::test]
async fn a_password_alone_cannot_set_up_an_authenticator_app_beside_a_passkey() {
    use crate::auth::two_factor::{TwoFactorError, begin};
    let db = fresh_db().await;
    let (mut phone, password_only) = with_a_passkey(&db, "ana@fabrikam.example").await;
    // Finishing an app's set-up proves a second factor: from a stolen password it would make
    // the thief one, and then let them add their own passkey.
    assert!(matches!(
        begin(&db, &password_only).await,
        Err(TwoFactorError::PasskeyFirst)
    ));
    let proved = sign_in_with(&db, &mut phone).await.unwrap();
    begin(&db, &proved).await.unwrap();
}

#[tokio::test]
async fn the_limit_of_ten_passkeys_is_checked_again_when_an_answer_arrives() {
    let db = fresh_db().await;
    let caller = password_session(&db, "max@fabrikam.example", Role::Payer).await;
    let caller = Caller {
        second_factor: true,
        ..caller
    };
    let rp = portal();
    for n in 0..MAX_PASSKEYS - 1 {
        add(&db, &caller, &mut Device::default(), &format!("Key {n}"))
            .await
            .unwrap();
    }
    // An addition started at nine, answered after a tenth arrived another way (a second tab's
    // ceremony would have replaced this one, so the tenth is written here directly).
    let started = begin_adding(&db, &rp, &caller, IP).await.unwrap();
    let answer = Device::default().create(ORIGIN, &started.options_json);
    sqlx::query(
        "INSERT INTO passkeys (user_id, credential_id, name, credential, created_at) \
         VALUES ($1, 'aa', 'Tenth', '{}', '2026-12-01T00:00:00Z')",
    )
    .bind(caller.user_id)
    .execute(db.pool())
    .await
    .unwrap();
    let late = finish_adding(&db, &rp, &caller, &started.id, "Late", &answer, IP).await;
    assert!(
        matches!(late, Err(PasskeyError::TooManyPasskeys)),
        "{late:?}"
    );
    assert_eq!(
        list(&db, &caller).await.unwrap().passkeys.len() as i64,
        MAX_PASSKEYS
    );
    // The refused answer used its ceremony up.
    let again = finish_adding(&db, &rp, &caller, &started.id, "Late", &answer, IP).await;
    assert!(
        matches!(again, Err(PasskeyError::CeremonyExpired)),
        "{again:?}"
    );
}

#[tokio::test]
async fn starting_to_add_a_passkey_again_replaces_the_addition_in_flight() {
    let db = fresh_db().await;
    let caller = password_session(&db, "rae@fabrikam.example", Role::Payer).await;
    let rp = portal();
    let first = begin_adding(&db, &rp, &caller, IP).await.unwrap();
    let first_answer = Device::default().create(ORIGIN, &first.options_json);
    begin_adding(&db, &rp, &caller, IP).await.unwrap();
    let stale = finish_adding(&db, &rp, &caller, &first.id, "Old tab", &first_answer, IP).await;
    assert!(
        matches!(stale, Err(PasskeyError::CeremonyExpired)),
        "{stale:?}"
    );
}
