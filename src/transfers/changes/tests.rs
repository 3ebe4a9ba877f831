//! The four-eyes rule, the wait and the notices, against a real database (either engine).

use super::*;
use crate::seed::{DEMO_LOGINS, seed_demo};
use crate::testing::{fresh_db, sign_in_demo};
use crate::transfers::TypedAccount;
use crate::transfers::store::{
    SetUpError, receiving_account, receiving_account_at, set_up_receiving_account,
};

const PORTAL: Notices<'static> = Notices {
    portal: "https://pay.example.com",
    billing_contact: "ar@example.com",
};

fn new_usd_account() -> ReceivingAccount {
    ReceivingAccount::new(
        Currency::Usd,
        &TypedAccount {
            holder: "Ledgerport Demo Inc.",
            bank_name: "Second Demo Bank",
            account_number: Some("9876543210"),
            routing_number: Some("021000021"),
            wait_days: 5,
            ..TypedAccount::default()
        },
    )
    .unwrap()
}

struct Staff {
    clerk: Caller,
    manager: Caller,
    controller: Caller,
}

async fn demo() -> (Db, Staff) {
    let db = fresh_db().await;
    seed_demo(&db).await.unwrap();
    let staff = Staff {
        clerk: sign_in_demo(&db, &DEMO_LOGINS[2]).await,
        manager: sign_in_demo(&db, &DEMO_LOGINS[3]).await,
        controller: sign_in_demo(&db, &DEMO_LOGINS[5]).await,
    };
    (db, staff)
}

/// (recipient, subject, body) of the bank account notices, oldest first.
async fn notices(db: &Db) -> Vec<(String, String, String)> {
    sqlx::query_as(
        "SELECT recipient, subject, body FROM outbox WHERE kind = 'bank_account_change' ORDER BY id",
    )
    .fetch_all(db.pool())
    .await
    .unwrap()
}

async fn audit_actions(db: &Db) -> Vec<String> {
    sqlx::query_scalar(
        "SELECT action FROM audit_log WHERE action LIKE 'bank_account_change%' ORDER BY id",
    )
    .fetch_all(db.pool())
    .await
    .unwrap()
}

#[tokio::test]
async fn a_new_account_needs_a_second_manager_and_shows_only_after_the_wait() {
    let (db, staff) = demo().await;
    let before = receiving_account(db.pool(), Currency::Usd)
        .await
        .unwrap()
        .unwrap();
    let new = new_usd_account();

    assert!(matches!(
        propose(&db, &staff.clerk, &new, &PORTAL, "").await,
        Err(BankChangeError::ManagerOnly)
    ));
    let id = propose(&db, &staff.manager, &new, &PORTAL, "127.0.0.1")
        .await
        .unwrap();
    assert_eq!(
        receiving_account(db.pool(), Currency::Usd).await.unwrap(),
        Some(before.clone()),
        "a proposal changes nothing"
    );
    let wait = Duration::hours(72);
    assert!(matches!(
        approve(&db, &staff.manager, id, wait, &PORTAL, "").await,
        Err(BankChangeError::OwnProposal)
    ));
    assert!(matches!(
        approve(&db, &staff.clerk, id, wait, &PORTAL, "").await,
        Err(BankChangeError::ManagerOnly)
    ));
    let effective = approve(&db, &staff.controller, id, wait, &PORTAL, "127.0.0.1")
        .await
        .unwrap();
    assert!(matches!(
        approve(&db, &staff.controller, id, wait, &PORTAL, "").await,
        Err(BankChangeError::NotAwaitingApproval)
    ));

    let shown_at = |at: DateTime<Utc>| {
        let db = db.clone();
        async move {
            receiving_account_at(db.pool(), Currency::Usd, &timestamp_text(at))
                .await
                .unwrap()
        }
    };
    assert_eq!(
        shown_at(Utc::now()).await,
        Some(before.clone()),
        "approved, still waiting"
    );
    assert_eq!(
        shown_at(effective - Duration::seconds(1)).await,
        Some(before)
    );
    assert_eq!(shown_at(effective).await, Some(new.clone()));

    // Every manager heard of the proposal; every USD payer contact and every manager of the
    // approval. No notice names an account number: the portal is where bank details are.
    let sent = notices(&db).await;
    let proposal: Vec<&str> = sent
        .iter()
        .filter(|(_, subject, _)| subject.contains("proposed"))
        .map(|(to, _, _)| to.as_str())
        .collect();
    assert_eq!(
        proposal,
        [
            "manager@ledgerport.example",
            "controller@ledgerport.example"
        ]
    );
    let mut approval: Vec<String> = sent
        .iter()
        .filter(|(_, subject, _)| subject.contains("changes"))
        .map(|(to, _, _)| to.clone())
        .collect();
    approval.sort();
    let mut expected: Vec<String> = sqlx::query_scalar(
        "SELECT b.email FROM billing_contacts b JOIN customers c ON c.id = b.customer_id \
         WHERE c.currency = 'USD'",
    )
    .fetch_all(db.pool())
    .await
    .unwrap();
    expected.extend(
        [
            "pat@acme.example",
            "nina@northwind.example",
            "manager@ledgerport.example",
            "controller@ledgerport.example",
        ]
        .map(String::from),
    );
    expected.sort();
    assert_eq!(
        approval, expected,
        "payers and billing contacts of USD accounts (not the viewer, not Globex's JPY contacts), \
         and managers"
    );
    for (to, subject, body) in &sent {
        assert!(
            !body.contains("9876543210"),
            "{to} was mailed the whole account number"
        );
        if subject.contains("changes") {
            assert!(
                !body.contains("9876543210"),
                "{to} was mailed the account number"
            );
            assert!(
                body.contains("https://pay.example.com/pay") && body.contains("ar@example.com")
            );
            assert!(body.contains(&shown_time(effective)));
        }
    }
    assert_eq!(
        audit_actions(&db).await,
        [
            "bank_account_change_proposed",
            "bank_account_change_approved"
        ]
    );
}

#[tokio::test]
async fn a_withdrawn_change_never_shows_and_payers_who_were_told_hear_it_is_off() {
    let (db, staff) = demo().await;
    let before = receiving_account(db.pool(), Currency::Usd).await.unwrap();
    let id = propose(&db, &staff.manager, &new_usd_account(), &PORTAL, "")
        .await
        .unwrap();
    assert!(matches!(
        propose(&db, &staff.controller, &new_usd_account(), &PORTAL, "").await,
        Err(BankChangeError::AlreadyWaiting(Currency::Usd))
    ));
    let effective = approve(&db, &staff.controller, id, Duration::hours(72), &PORTAL, "")
        .await
        .unwrap();
    // The proposer may withdraw too: any manager can stop a change before it shows.
    withdraw(&db, &staff.manager, id, &PORTAL, "")
        .await
        .unwrap();
    assert!(matches!(
        withdraw(&db, &staff.manager, id, &PORTAL, "").await,
        Err(BankChangeError::NotWithdrawable)
    ));
    let later = timestamp_text(effective + Duration::days(1));
    assert_eq!(
        receiving_account_at(db.pool(), Currency::Usd, &later)
            .await
            .unwrap(),
        before
    );
    let withdrawn: Vec<String> = notices(&db)
        .await
        .into_iter()
        .filter(|(_, subject, _)| subject.contains("withdrawn"))
        .map(|(to, _, _)| to)
        .collect();
    assert!(withdrawn.contains(&"pat@acme.example".to_string()));
    assert!(withdrawn.contains(&"nina@northwind.example".to_string()));
    // Withdrawn, the currency is free for the next proposal.
    propose(&db, &staff.controller, &new_usd_account(), &PORTAL, "")
        .await
        .unwrap();
}

#[tokio::test]
async fn a_change_withdrawn_before_approval_is_not_announced_to_payers() {
    let (db, staff) = demo().await;
    let id = propose(&db, &staff.manager, &new_usd_account(), &PORTAL, "")
        .await
        .unwrap();
    withdraw(&db, &staff.controller, id, &PORTAL, "")
        .await
        .unwrap();
    assert!(matches!(
        approve(&db, &staff.controller, id, Duration::hours(1), &PORTAL, "").await,
        Err(BankChangeError::NotAwaitingApproval)
    ));
    assert!(
        notices(&db)
            .await
            .iter()
            .all(|(to, _, _)| to.ends_with("@ledgerport.example")),
        "only managers heard of it"
    );
}

#[tokio::test]
async fn the_managers_page_shows_each_version_where_it_stands() {
    let (db, staff) = demo().await;
    let replacing = propose(&db, &staff.manager, &new_usd_account(), &PORTAL, "")
        .await
        .unwrap();
    approve(
        &db,
        &staff.controller,
        replacing,
        Duration::zero(),
        &PORTAL,
        "",
    )
    .await
    .unwrap();
    let mut third = new_usd_account();
    third.bank_name = "Third Demo Bank".into();
    let scheduled = propose(&db, &staff.controller, &third, &PORTAL, "")
        .await
        .unwrap();
    approve(
        &db,
        &staff.manager,
        scheduled,
        Duration::hours(72),
        &PORTAL,
        "",
    )
    .await
    .unwrap();
    let euro = ReceivingAccount {
        currency: Currency::Eur,
        ..third.clone()
    };
    let waiting = propose(&db, &staff.manager, &euro, &PORTAL, "")
        .await
        .unwrap();

    let shown = versions(&db, Utc::now(), 50).await.unwrap();
    let status = |id: i64| shown.iter().find(|v| v.id == id).map(|v| v.status);
    assert_eq!(status(waiting), Some(ChangeStatus::AwaitingApproval));
    assert_eq!(status(scheduled), Some(ChangeStatus::Scheduled));
    assert_eq!(status(replacing), Some(ChangeStatus::InEffect));
    let usd: Vec<ChangeStatus> = shown
        .iter()
        .filter(|v| v.account.currency == Currency::Usd)
        .map(|v| v.status)
        .collect();
    assert_eq!(
        usd,
        [
            ChangeStatus::Scheduled,
            ChangeStatus::InEffect,
            ChangeStatus::Replaced
        ],
        "newest first; the demo data's account was replaced"
    );
    let first = shown.iter().find(|v| v.id == replacing).unwrap();
    assert_eq!(
        first.proposed_by.as_deref(),
        Some("manager@ledgerport.example")
    );
    assert_eq!(
        first.approved_by.as_deref(),
        Some("controller@ledgerport.example")
    );
}

#[tokio::test]
async fn a_first_account_proposed_in_the_portal_is_announced_as_new_and_withdrawing_one_in_effect_is_refused()
 {
    let (db, staff) = demo().await;
    let pounds = ReceivingAccount {
        currency: Currency::Gbp,
        ..new_usd_account()
    };
    let id = propose(&db, &staff.manager, &pounds, &PORTAL, "")
        .await
        .unwrap();
    approve(&db, &staff.controller, id, Duration::zero(), &PORTAL, "")
        .await
        .unwrap();
    assert!(
        notices(&db)
            .await
            .iter()
            .any(|(_, subject, _)| subject == "You can now pay GBP invoices by bank transfer")
    );
    assert_eq!(
        receiving_account(db.pool(), Currency::Gbp).await.unwrap(),
        Some(pounds)
    );
    assert!(matches!(
        withdraw(&db, &staff.controller, id, &PORTAL, "").await,
        Err(BankChangeError::NotWithdrawable)
    ));
    assert!(matches!(
        withdraw(&db, &staff.clerk, id, &PORTAL, "").await,
        Err(BankChangeError::ManagerOnly)
    ));
}

#[tokio::test]
async fn a_manager_promoted_after_the_proposal_cannot_approve_it() {
    let (db, staff) = demo().await;
    let id = propose(&db, &staff.manager, &new_usd_account(), &PORTAL, "")
        .await
        .unwrap();
    // The proposer promotes the clerk, who then tries to approve.
    crate::auth::access::change_role(
        &db,
        &staff.manager,
        staff.clerk.user_id,
        crate::users::Role::Manager,
    )
    .await
    .unwrap();
    let promoted = Caller {
        role: crate::users::Role::Manager,
        second_factor: true,
        ..staff.clerk.clone()
    };
    assert!(matches!(
        approve(&db, &promoted, id, Duration::hours(1), &PORTAL, "").await,
        Err(BankChangeError::ManagerSinceProposal)
    ));
    // A manager from before the proposal can.
    approve(&db, &staff.controller, id, Duration::hours(1), &PORTAL, "")
        .await
        .unwrap();
}

#[tokio::test]
async fn the_operator_sets_up_only_a_currency_without_an_account() {
    let (db, staff) = demo().await;
    assert!(matches!(
        set_up_receiving_account(&db, &new_usd_account()).await,
        Err(SetUpError::AlreadySetUp(Currency::Usd))
    ));
    let pounds = ReceivingAccount {
        currency: Currency::Gbp,
        ..new_usd_account()
    };
    // A first account proposed in the portal and waiting: the operator is sent there.
    let francs = ReceivingAccount {
        currency: Currency::Chf,
        ..new_usd_account()
    };
    propose(&db, &staff.manager, &francs, &PORTAL, "")
        .await
        .unwrap();
    assert!(matches!(
        set_up_receiving_account(&db, &francs).await,
        Err(SetUpError::ChangeWaiting(Currency::Chf))
    ));
    set_up_receiving_account(&db, &pounds).await.unwrap();
    assert_eq!(
        receiving_account(db.pool(), Currency::Gbp).await.unwrap(),
        Some(pounds)
    );
}

#[tokio::test]
async fn a_payer_who_reads_german_hears_of_the_new_account_in_german_and_everyone_else_in_english()
{
    let (db, staff) = demo().await;
    sqlx::query("UPDATE users SET locale = 'de' WHERE email = 'pat@acme.example'")
        .execute(db.pool())
        .await
        .unwrap();
    let id = propose(&db, &staff.manager, &new_usd_account(), &PORTAL, "")
        .await
        .unwrap();
    let effective = approve(&db, &staff.controller, id, Duration::hours(72), &PORTAL, "")
        .await
        .unwrap();
    let sent = notices(&db).await;
    let to = |recipient: &str| -> Vec<(String, String)> {
        sent.iter()
            .filter(|(to, _, _)| to == recipient)
            .map(|(_, subject, body)| (subject.clone(), body.clone()))
            .collect()
    };
    let german = to("pat@acme.example");
    assert_eq!(german.len(), 1, "{sent:?}");
    let (subject, body) = &german[0];
    assert_eq!(
        subject,
        "Unsere Bankverbindung für Zahlungen in USD ändert sich"
    );
    assert!(
        body.contains(&Locale::De.date_time(effective.fixed_offset()))
            && body.contains("https://pay.example.com/pay")
            && body.contains("Fragen Sie zuerst bei ar@example.com nach."),
        "{body}"
    );
    for reader in ["nina@northwind.example", "manager@ledgerport.example"] {
        let (subject, body) = to(reader).pop().unwrap();
        assert_eq!(subject, "Our bank account for USD payments changes");
        assert!(body.contains(&shown_time(effective)), "{body}");
    }
}
