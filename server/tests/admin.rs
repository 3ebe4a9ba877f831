//! Staff opening customer accounts over HTTP: checked terms, a unique number, staff only.

mod common;

use common::spawn_app;
use sqlx::Row;

const GOOD: &str = "number=c-2001&name=Initech+LLC&currency=usd&net_days=30&discount_percent=2&discount_days=10&credit_limit=25000.00";

#[tokio::test]
async fn a_clerk_opens_an_account_with_2_10_net_30_terms_and_a_credit_limit() {
    let app = spawn_app().await;
    let clerk = app
        .sign_in("clerk@ledgerport.example", "clerk-works-disputes")
        .await;
    let response = app
        .invoke("/api/admin/create-customer", GOOD, Some(&clerk))
        .await;
    assert_eq!(response.status(), 200);
    let id: i64 = response.json().await.unwrap();
    let row = sqlx::query(
        "SELECT number, name, currency, net_days, discount_bp, discount_days, credit_limit_minor \
         FROM customers WHERE id = $1",
    )
    .bind(id)
    .fetch_one(app.db.pool())
    .await
    .unwrap();
    assert_eq!(row.get::<String, _>("number"), "C-2001");
    assert_eq!(row.get::<String, _>("name"), "Initech LLC");
    assert_eq!(row.get::<String, _>("currency"), "USD");
    assert_eq!(
        (
            row.get::<i64, _>("net_days"),
            row.get::<i64, _>("discount_bp"),
            row.get::<i64, _>("discount_days"),
            row.get::<i64, _>("credit_limit_minor")
        ),
        (30, 200, 10, 2_500_000)
    );
    let again = app
        .invoke("/api/admin/create-customer", GOOD, Some(&clerk))
        .await;
    assert_eq!(again.status(), 409);
    let audited: i64 =
        sqlx::query("SELECT count(*) FROM audit_log WHERE action = 'customer.opened'")
            .fetch_one(app.db.pool())
            .await
            .unwrap()
            .get(0);
    assert_eq!(audited, 1);
}

#[tokio::test]
async fn bad_terms_are_refused_with_a_reason_and_nothing_is_created() {
    let app = spawn_app().await;
    let clerk = app
        .sign_in("clerk@ledgerport.example", "clerk-works-disputes")
        .await;
    let before: i64 = sqlx::query("SELECT count(*) FROM customers")
        .fetch_one(app.db.pool())
        .await
        .unwrap()
        .get(0);
    for (change, reason) in [
        ("discount_percent=2", "discount_percent=two", "percentage"),
        ("discount_days=10", "discount_days=30", "discount window"),
        ("net_days=30", "net_days=400", "net days"),
        ("currency=usd", "currency=xyz", "currency"),
        ("credit_limit=25000.00", "credit_limit=-1", "credit limit"),
        ("number=c-2001", "number=%3Cscript%3E", "customer number"),
    ]
    .map(|(from, to, reason)| (GOOD.replace(from, to), reason))
    {
        let response = app
            .invoke("/api/admin/create-customer", &change, Some(&clerk))
            .await;
        assert_eq!(response.status(), 400, "{change}");
        let body = response.text().await.unwrap().to_lowercase();
        assert!(body.contains(reason), "{change}: {body}");
    }
    let after: i64 = sqlx::query("SELECT count(*) FROM customers")
        .fetch_one(app.db.pool())
        .await
        .unwrap()
        .get(0);
    assert_eq!(after, before);
}
