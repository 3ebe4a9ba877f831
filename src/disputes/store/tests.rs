//! The dispute store against a real database (a fresh one per test, on either engine).

use super::*;
use crate::checkout::store::full_amounts;
use crate::db::Db;
use crate::disputes::DisputeReason;
use crate::disputes::{Attachment, DisputeAction, DisputedLine, ThreadItem};
use crate::reports::store::account_summary;
use crate::testing::fixtures::*;
use crate::testing::fresh_db;
use crate::users::Role;

struct World {
    db: Db,
    customer: i64,
    invoice: i64,
    lines: Vec<i64>,
    payer: i64,
    clerk: i64,
}

/// One invoice: line 1 600.00 untaxed, line 2 400.00 + 10 % tax (440.00); 1,040.00 in all.
async fn world() -> World {
    let db = fresh_db().await;
    let customer = customer(&db, "C-1", Currency::Usd, (30, 0, 0)).await;
    let invoice = invoice(
        &db,
        customer,
        "INV-1",
        Currency::Usd,
        "2026-03-01",
        &[(60_000, 0), (40_000, 1_000)],
    )
    .await;
    let lines = line_ids(&db, invoice).await;
    let payer = user(
        &db,
        "pat@c1.example",
        "a-long-password-1",
        Role::Payer,
        Some(customer),
    )
    .await;
    let clerk = user(
        &db,
        "clara@ar.example",
        "a-long-password-2",
        Role::Clerk,
        None,
    )
    .await;
    World {
        db,
        customer,
        invoice,
        lines,
        payer,
        clerk,
    }
}

impl World {
    fn customer_actor(&self) -> Actor<'static> {
        Actor {
            user_id: self.payer,
            email: "pat@c1.example",
            scope: Scope::Customer(self.customer),
        }
    }

    fn staff_actor(&self) -> Actor<'static> {
        Actor {
            user_id: self.clerk,
            email: "clara@ar.example",
            scope: Scope::Staff,
        }
    }

    /// Disputes `amount` on line 2 (the taxed one).
    async fn dispute(&self, amount: i64) -> Result<i64, DisputeStoreError> {
        open_dispute(
            &self.db,
            &NewDispute {
                customer_id: self.customer,
                invoice_id: self.invoice,
                opened_by: self.customer_actor(),
                lines: vec![DisputedLine {
                    invoice_line_id: self.lines[1],
                    reason: DisputeReason::Damaged,
                    amount_minor: amount,
                }],
                message: "Two boxes arrived crushed.".into(),
                attachments: vec![
                    Attachment::new("photo.png", b"\x89PNG\r\n\x1a\nrest".to_vec()).unwrap(),
                ],
            },
        )
        .await
    }

    async fn held(&self) -> i64 {
        sqlx::query("SELECT held_minor FROM invoices WHERE id = $1")
            .bind(self.invoice)
            .fetch_one(self.db.pool())
            .await
            .unwrap()
            .get(0)
    }

    async fn due_now(&self) -> (i64, i64) {
        let summary = account_summary(&self.db, self.customer, Utc::now().date_naive())
            .await
            .unwrap()
            .unwrap();
        let everything: i64 = full_amounts(&self.db, self.customer, &[])
            .await
            .unwrap()
            .iter()
            .map(|i| i.amount_minor)
            .sum();
        assert_eq!(summary.aging.due_now(), everything);
        (summary.in_dispute_minor, everything)
    }
}

#[tokio::test]
async fn a_dispute_holds_its_amount_out_of_what_is_due_and_pay_everything() {
    let w = world().await;
    assert_eq!(w.due_now().await, (0, 104_000));
    w.dispute(10_000).await.unwrap();
    assert_eq!(w.held().await, 10_000);
    assert_eq!(w.due_now().await, (10_000, 94_000));
    assert_eq!(
        open_minor(&w.db, w.invoice).await,
        104_000,
        "nothing is posted"
    );
    assert_eq!(rows(&w.db, "outbox").await, 1, "AR is told");
    // The undisputed part stays payable; the held part is refused with the reason.
    let pay = |amount_minor| {
        vec![crate::checkout::PayItem {
            invoice_id: w.invoice,
            amount_minor,
        }]
    };
    let today = Utc::now().date_naive();
    assert!(
        crate::checkout::store::review(&w.db, w.customer, &pay(94_000), today)
            .await
            .is_ok()
    );
    let refused = crate::checkout::store::review(&w.db, w.customer, &pay(94_001), today).await;
    assert!(matches!(
        refused,
        Err(crate::checkout::store::CheckoutStoreError::Refused(
            crate::checkout::CheckoutError::InDispute { .. }
        ))
    ));
}

#[tokio::test]
async fn a_line_cannot_be_disputed_beyond_what_is_left_on_it_and_nothing_is_written() {
    let w = world().await;
    let refused = w.dispute(44_001).await.unwrap_err();
    assert!(matches!(
        refused,
        DisputeStoreError::Rule(DisputeError::ExceedsLine { line: 2, .. })
    ));
    w.dispute(40_000).await.unwrap();
    let refused = w.dispute(4_001).await.unwrap_err();
    assert!(matches!(
        refused,
        DisputeStoreError::Rule(DisputeError::ExceedsLine { .. })
    ));
    assert_eq!(rows(&w.db, "disputes").await, 1);
    assert_eq!(w.held().await, 40_000);
}

#[tokio::test]
async fn a_credit_from_an_accepted_proposal_posts_a_balanced_credit_memo_on_exactly_the_disputed_line()
 {
    let w = world().await;
    let id = w.dispute(20_000).await.unwrap();
    act(
        &w.db,
        id,
        w.staff_actor(),
        DisputeAction::StartReview,
        "",
        &vec![],
    )
    .await
    .unwrap();
    act(
        &w.db,
        id,
        w.staff_actor(),
        DisputeAction::Propose,
        "Half, as agreed by phone.",
        &vec![(w.lines[1], 12_000)],
    )
    .await
    .unwrap();
    assert_eq!(w.held().await, 20_000, "a proposal still holds");
    let status = act(
        &w.db,
        id,
        w.customer_actor(),
        DisputeAction::AcceptProposal,
        "",
        &vec![],
    )
    .await
    .unwrap();
    assert_eq!(status, DisputeStatus::Credited);
    assert_eq!(w.held().await, 0);
    assert_eq!(open_minor(&w.db, w.invoice).await, 104_000 - 12_000);
    let credited: Vec<(i64, i64)> =
        sqlx::query("SELECT invoice_line_id, amount_minor FROM adjustment_lines ORDER BY id")
            .fetch_all(w.db.pool())
            .await
            .unwrap()
            .iter()
            .map(|r| (r.get(0), r.get(1)))
            .collect();
    assert_eq!(credited, vec![(w.lines[1], 12_000)]);
    assert_eq!(
        w.due_now().await,
        (0, 92_000),
        "the rest of the disputed amount is due again"
    );
    let detail = detail(&w.db, id, Scope::Customer(w.customer))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(detail.row.credited_minor, 12_000);
    assert_ledger_healthy(&w.db).await;
}

#[tokio::test]
async fn a_rejection_restores_the_amount_due_and_needs_an_explanation() {
    let w = world().await;
    let id = w.dispute(20_000).await.unwrap();
    let refused = act(
        &w.db,
        id,
        w.staff_actor(),
        DisputeAction::Reject,
        " ",
        &vec![],
    )
    .await;
    assert!(matches!(
        refused,
        Err(DisputeStoreError::Rule(DisputeError::NoteRequired(_)))
    ));
    act(
        &w.db,
        id,
        w.staff_actor(),
        DisputeAction::Reject,
        "Delivery note signed without remarks.",
        &vec![],
    )
    .await
    .unwrap();
    assert_eq!(w.due_now().await, (0, 104_000));
    assert_eq!(open_minor(&w.db, w.invoice).await, 104_000);
}

#[tokio::test]
async fn a_withdrawn_dispute_releases_the_hold_and_can_be_reopened_to_hold_again() {
    let w = world().await;
    let id = w.dispute(20_000).await.unwrap();
    act(
        &w.db,
        id,
        w.customer_actor(),
        DisputeAction::Withdraw,
        "",
        &vec![],
    )
    .await
    .unwrap();
    assert_eq!(w.held().await, 0);
    act(
        &w.db,
        id,
        w.customer_actor(),
        DisputeAction::Reopen,
        "",
        &vec![],
    )
    .await
    .unwrap();
    assert_eq!(w.held().await, 20_000);
}

#[tokio::test]
async fn illegal_moves_are_refused_and_change_nothing() {
    let w = world().await;
    let id = w.dispute(20_000).await.unwrap();
    let wrong_side = act(
        &w.db,
        id,
        w.customer_actor(),
        DisputeAction::Credit,
        "",
        &vec![(w.lines[1], 1)],
    )
    .await;
    assert!(matches!(
        wrong_side,
        Err(DisputeStoreError::Rule(DisputeError::WrongSide { .. }))
    ));
    let no_proposal = act(
        &w.db,
        id,
        w.customer_actor(),
        DisputeAction::AcceptProposal,
        "",
        &vec![],
    )
    .await;
    assert!(matches!(
        no_proposal,
        Err(DisputeStoreError::Rule(
            DisputeError::InvalidTransition { .. }
        ))
    ));
    let too_much = act(
        &w.db,
        id,
        w.staff_actor(),
        DisputeAction::Credit,
        "",
        &vec![(w.lines[1], 20_001)],
    )
    .await;
    assert!(matches!(
        too_much,
        Err(DisputeStoreError::Rule(DisputeError::Proposal))
    ));
    let other_line = act(
        &w.db,
        id,
        w.staff_actor(),
        DisputeAction::Credit,
        "",
        &vec![(w.lines[0], 100)],
    )
    .await;
    assert!(matches!(
        other_line,
        Err(DisputeStoreError::Rule(DisputeError::Proposal))
    ));
    act(
        &w.db,
        id,
        w.staff_actor(),
        DisputeAction::Credit,
        "Agreed.",
        &vec![(w.lines[1], 20_000)],
    )
    .await
    .unwrap();
    let again = act(
        &w.db,
        id,
        w.staff_actor(),
        DisputeAction::Credit,
        "",
        &vec![(w.lines[1], 1)],
    )
    .await;
    assert!(matches!(
        again,
        Err(DisputeStoreError::Rule(
            DisputeError::InvalidTransition { .. }
        ))
    ));
    let reopen = act(
        &w.db,
        id,
        w.customer_actor(),
        DisputeAction::Reopen,
        "",
        &vec![],
    )
    .await;
    assert!(matches!(
        reopen,
        Err(DisputeStoreError::Rule(
            DisputeError::InvalidTransition { .. }
        ))
    ));
    assert_eq!(rows(&w.db, "adjustments").await, 1);
    assert_eq!(open_minor(&w.db, w.invoice).await, 84_000);
    assert_ledger_healthy(&w.db).await;
}

#[tokio::test]
async fn another_customer_never_reaches_the_dispute_and_customers_never_see_internal_notes() {
    let w = world().await;
    let id = w.dispute(20_000).await.unwrap();
    post_message(
        &w.db,
        id,
        w.staff_actor(),
        "Customer is on credit hold, be firm.",
        true,
        &[],
    )
    .await
    .unwrap();
    post_message(
        &w.db,
        id,
        w.staff_actor(),
        "We are looking into it.",
        false,
        &[],
    )
    .await
    .unwrap();
    let stranger = Scope::Customer(w.customer + 1000);
    assert!(detail(&w.db, id, stranger).await.unwrap().is_none());
    let foreign = Actor {
        user_id: w.payer,
        email: "x@y.example",
        scope: stranger,
    };
    assert!(matches!(
        post_message(&w.db, id, foreign, "hello", false, &[]).await,
        Err(DisputeStoreError::NotFound)
    ));
    assert!(matches!(
        act(&w.db, id, foreign, DisputeAction::Withdraw, "", &vec![]).await,
        Err(DisputeStoreError::NotFound)
    ));
    let attachment_id: i64 = sqlx::query("SELECT id FROM dispute_attachments")
        .fetch_one(w.db.pool())
        .await
        .unwrap()
        .get(0);
    assert!(
        attachment(&w.db, id, attachment_id, stranger)
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        attachment(&w.db, id, attachment_id, Scope::Customer(w.customer))
            .await
            .unwrap()
            .is_some()
    );

    let seen = detail(&w.db, id, Scope::Customer(w.customer))
        .await
        .unwrap()
        .unwrap();
    let bodies: Vec<String> = seen
        .thread
        .iter()
        .filter_map(|item| match item {
            ThreadItem::Message { body, .. } => Some(body.clone()),
            ThreadItem::Transition { .. } => None,
        })
        .collect();
    assert_eq!(
        bodies,
        vec!["Two boxes arrived crushed.", "We are looking into it."]
    );
    let staff = detail(&w.db, id, Scope::Staff).await.unwrap().unwrap();
    assert!(
        staff
            .thread
            .iter()
            .any(|item| matches!(item, ThreadItem::Message { internal: true, .. }))
    );
}

#[tokio::test]
async fn the_queue_filters_by_status_assignee_and_amount_and_totals_what_it_lists() {
    let w = world().await;
    let small = w.dispute(5_000).await.unwrap();
    let large = w.dispute(30_000).await.unwrap();
    act(
        &w.db,
        large,
        w.staff_actor(),
        DisputeAction::StartReview,
        "",
        &vec![],
    )
    .await
    .unwrap();
    let all = queue_for_staff(&w.db, &QueueFilter::default())
        .await
        .unwrap();
    assert_eq!(
        all.rows.iter().map(|r| r.id).collect::<Vec<_>>(),
        vec![small, large]
    );
    assert_eq!(all.total_disputed, vec![(Currency::Usd, 35_000)]);
    let mine = QueueFilter {
        assignee: Some(AssigneeFilter::User(w.clerk)),
        ..QueueFilter::default()
    };
    assert_eq!(queue_for_staff(&w.db, &mine).await.unwrap().rows.len(), 1);
    let big = QueueFilter {
        min_amount_units: Some(100),
        sort: QueueSort::LargestAmount,
        ..QueueFilter::default()
    };
    let rows = queue_for_staff(&w.db, &big).await.unwrap().rows;
    assert_eq!(rows.iter().map(|r| r.id).collect::<Vec<_>>(), vec![large]);
    let closed = QueueFilter {
        statuses: vec![DisputeStatus::Credited],
        ..QueueFilter::default()
    };
    assert!(
        queue_for_staff(&w.db, &closed)
            .await
            .unwrap()
            .rows
            .is_empty()
    );
}

#[tokio::test]
async fn a_contact_who_reads_german_hears_of_their_dispute_in_german_while_ar_reads_english() {
    let w = world().await;
    sqlx::query("UPDATE users SET locale = 'de' WHERE id = $1")
        .bind(w.payer)
        .execute(w.db.pool())
        .await
        .unwrap();
    let id = w.dispute(20_000).await.unwrap();
    act(
        &w.db,
        id,
        w.staff_actor(),
        DisputeAction::Propose,
        "Half, as agreed by phone.",
        &vec![(w.lines[1], 12_000)],
    )
    .await
    .unwrap();
    post_message(
        &w.db,
        id,
        w.staff_actor(),
        "Photos received, thank you.",
        false,
        &[],
    )
    .await
    .unwrap();
    act(
        &w.db,
        id,
        w.customer_actor(),
        DisputeAction::AcceptProposal,
        "",
        &vec![],
    )
    .await
    .unwrap();
    let mail: Vec<(String, String, String)> =
        sqlx::query("SELECT recipient, subject, body FROM outbox ORDER BY id")
            .fetch_all(w.db.pool())
            .await
            .unwrap()
            .iter()
            .map(|r| (r.get(0), r.get(1), r.get(2)))
            .collect();
    let to = |recipient: &str| -> Vec<(String, String)> {
        mail.iter()
            .filter(|(to, _, _)| to == recipient)
            .map(|(_, subject, body)| (subject.clone(), body.clone()))
            .collect()
    };
    assert_eq!(
        to("pat@c1.example"),
        vec![
            (
                format!("Reklamation Nr. {id} zur Rechnung INV-1: Lösung vorgeschlagen"),
                "Wir haben eine Lösung vorgeschlagen; bitte nehmen Sie sie an oder lehnen Sie \
                 sie ab.\n\nHalf, as agreed by phone."
                    .to_string()
            ),
            (
                format!("Reklamation Nr. {id} zur Rechnung INV-1"),
                "Unsere Debitorenbuchhaltung schreibt:\n\nPhotos received, thank you.".to_string()
            ),
        ]
    );
    assert_eq!(
        to("clara@ar.example").last().unwrap(),
        &(
            format!("Dispute #{id} on invoice INV-1: resolved: credited"),
            "pat@c1.example chose to accept the proposal.\n\nA credit of $120.00 was issued."
                .to_string()
        )
    );
}
