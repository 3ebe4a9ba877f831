//! Every endpoint the router serves, the policy written for each, and a harmless request that
//! names customer A's objects: shared by the access matrix and the bad-input sweep.

use ledgerport::testing::fixtures;
use ledgerport::users::Role;
use sqlx::Row;

use super::TestApp;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Who {
    Anonymous,
    ViewerA,
    PayerA,
    /// A payer of customer B, calling with customer A's objects.
    PayerB,
    Clerk,
    Manager,
    /// An AR manager signed in with the password alone (no second factor set up): no staff page
    /// or function opens to them.
    ManagerWithoutCode,
}

pub const EVERYONE: [Who; 7] = [
    Who::Anonymous,
    Who::ViewerA,
    Who::PayerA,
    Who::PayerB,
    Who::Clerk,
    Who::Manager,
    Who::ManagerWithoutCode,
];

/// Who may call an endpoint.
#[derive(Debug, Clone, Copy)]
pub enum Rule {
    Public,
    SignedIn,
    /// Any customer contact, on their own account (the session names it).
    Contact,
    /// A contact of the account that owns the object named in the request.
    ContactOfA,
    /// A payer (not a viewer), on their own account.
    Payer,
    /// A payer of the account that owns the objects named in the request.
    PayerOfA,
    Staff,
    Manager,
    /// A contact of the object's account, or AR staff.
    ContactOfAOrStaff,
    /// A payer of the object's account, or AR staff.
    PayerOfAOrStaff,
}

impl Rule {
    pub fn allows(self, who: Who) -> bool {
        match self {
            Rule::Public => true,
            Rule::SignedIn => who != Who::Anonymous,
            Rule::Contact => matches!(who, Who::ViewerA | Who::PayerA | Who::PayerB),
            Rule::ContactOfA => matches!(who, Who::ViewerA | Who::PayerA),
            Rule::Payer => matches!(who, Who::PayerA | Who::PayerB),
            Rule::PayerOfA => who == Who::PayerA,
            Rule::Staff => matches!(who, Who::Clerk | Who::Manager),
            Rule::Manager => who == Who::Manager,
            Rule::ContactOfAOrStaff => Rule::ContactOfA.allows(who) || Rule::Staff.allows(who),
            Rule::PayerOfAOrStaff => Rule::PayerOfA.allows(who) || Rule::Staff.allows(who),
        }
    }
}

/// The objects the calls name: customer A's, and a throwaway contact of A's that staff may change.
pub struct Objects {
    pub customer_a: i64,
    pub invoice_a: i64,
    /// Its open amount, so a payment request for it is valid.
    pub invoice_a_open: i64,
    pub payment_a: i64,
    pub checkout_a: String,
    /// A bank transfer A's payer announced.
    pub transfer_a: String,
    /// A promise to pay A's payer made (on the dispute's invoice).
    pub promise_a: i64,
    /// A payment plan offered to A and withdrawn, so every change to it is refused (409).
    pub plan_a: i64,
    /// A card A's payer saved, which A's autopay charges (so removing it is refused).
    pub method_a: i64,
    /// A setup A's payer started and has not finished on the sandbox's page.
    pub setup_a: String,
    pub spare_contact: i64,
    /// A dispute of A's (on another invoice than `invoice_a`), one of its lines, its attachment.
    pub dispute_a: i64,
    pub dispute_invoice_a: i64,
    pub dispute_line_a: i64,
    pub attachment_a: i64,
    /// A CSV import (whose one row has an error, so committing it changes nothing) and an API key.
    pub import: i64,
    /// A bank statement (one account, no lines).
    pub statement: i64,
    pub api_key: i64,
}

/// A plan over A's promised invoice: refused to everyone with a 400.
fn plan_body(o: &Objects) -> String {
    format!(
        "invoices[0]={}&instalments=2&first_due={}&interval=monthly",
        o.dispute_invoice_a,
        chrono::Utc::now().date_naive() + chrono::Duration::days(7)
    )
}

/// The policy and a harmless request for each endpoint. `None` means nobody wrote a policy yet,
/// which fails the test.
pub fn endpoint(path: &str, o: &Objects) -> Option<(Rule, String)> {
    let a = o.customer_a;
    let spare = o.spare_contact;
    let (invoice, payment) = (o.invoice_a, o.payment_a);
    let (open, checkout) = (o.invoice_a_open, &o.checkout_a);
    let dispute = o.dispute_a;
    let (import, key) = (o.import, o.api_key);
    let (rule, body) = match path {
        // pages
        "/" | "/sign-in" | "/forgot-password" | "/reset-password" | "/accept-invitation" => {
            (Rule::Public, String::new())
        }
        "/sign-in/code" | "/sign-in/email" | "/sign-in/link" => (Rule::Public, String::new()),
        "/profile" | "/profile/two-factor" => (Rule::SignedIn, String::new()),
        "/account/billing" => (Rule::Contact, String::new()),
        "/admin/company" | "/admin/bank-accounts" => (Rule::Manager, String::new()),
        "/verify" | "/verify/{code}" => (Rule::Public, String::new()),
        "/admin" => (Rule::Staff, String::new()),
        "/admin/customers/{id}" | "/admin/invoices/{id}" => (Rule::Staff, String::new()),
        "/admin/outbox" => (Rule::Manager, String::new()),
        "/invoices" | "/statements" | "/payments" => (Rule::Contact, String::new()),
        "/invoices/{id}" | "/payments/{id}" => (Rule::ContactOfA, String::new()),
        "/pay" => (Rule::Payer, String::new()),
        "/payments/checkout/{id}" => (Rule::ContactOfA, String::new()),
        "/invoices/{id}/dispute" => (Rule::PayerOfA, String::new()),
        "/disputes" => (Rule::Contact, String::new()),
        "/promise" | "/plan" | "/autopay" => (Rule::Contact, String::new()),
        "/admin/worklist" => (Rule::Staff, String::new()),
        "/disputes/{id}" => (Rule::ContactOfAOrStaff, String::new()),
        "/admin/disputes" | "/admin/disputes/{id}" => (Rule::Staff, String::new()),
        "/admin/reports/aging"
        | "/admin/journal"
        | "/admin/trial-balance"
        | "/admin/ledger-health" => (Rule::Staff, String::new()),
        "/admin/audit" => (Rule::Manager, String::new()),
        "/admin/periods" | "/api/admin/periods" => (Rule::Staff, String::new()),
        // Not a month, and a month never closed: managers are let in and refused (400, 409).
        "/api/admin/close-period" => (Rule::Manager, "month=not-a-month".into()),
        "/api/admin/reopen-period" => (Rule::Manager, "month=2000-01&reason=matrix".into()),
        "/admin/reports/collections" | "/admin/payments" | "/admin/reconciliation" => {
            (Rule::Staff, String::new())
        }
        "/api/admin/reconciliation" => (Rule::Staff, "from=&to=".into()),
        "/admin/imports" | "/admin/imports/{id}" => (Rule::Staff, String::new()),
        "/admin/bank" | "/admin/bank/{id}" | "/admin/cash-application" => {
            (Rule::Staff, String::new())
        }
        "/api/admin/cash-queue" => (Rule::Staff, String::new()),
        // Empty rows and no customer: refused as bad input once the caller is let in.
        "/api/admin/apply-bank-line" => (Rule::Staff, "line_id=0&rows=".into()),
        "/api/admin/keep-bank-line-as-credit" => (Rule::Staff, "line_id=0&customer=".into()),
        "/api/admin/write-off-tolerance" => (Rule::Manager, "currency=XXX&amount=".into()),
        "/api/admin/bank-statements" => (Rule::Staff, String::new()),
        "/api/admin/bank-statement" => (Rule::Staff, format!("id={}", o.statement)),
        // The upload is multipart, built by `dispute_post` (a broken file: nothing imported).
        "/admin/bank-statements" => (Rule::Staff, String::new()),
        "/admin/api-keys" => (Rule::Manager, String::new()),
        "/api/admin/collections" => (Rule::Staff, "from=&to=".into()),
        "/api/admin/payments" => (Rule::Staff, "method=&from=&to=&page=1".into()),
        "/admin/payments/{id}" => (Rule::Staff, String::new()),
        "/api/admin/payment" => (Rule::Staff, format!("payment_id={payment}")),
        // Payment A is a wire: a manager is let in and told it is not refunded through the
        // provider (400); nothing is reserved or sent.
        "/api/admin/refund-payment" => (
            Rule::Manager,
            format!("payment_id={payment}&amount=1.00&reason=matrix"),
        ),
        "/api/admin/resend-refund" => (
            Rule::Manager,
            format!("payment_id={payment}&refund_id=rf_matrix"),
        ),
        "/api/admin/imports" => (Rule::Staff, String::new()),
        "/api/admin/import-preview" | "/api/admin/commit-import" => {
            (Rule::Staff, format!("id={import}"))
        }
        "/api/admin/api-keys" | "/api/admin/run-reminders" => (Rule::Manager, String::new()),
        "/api/admin/create-api-key" => (Rule::Manager, "label=matrix".into()),
        "/api/admin/revoke-api-key" => (Rule::Manager, format!("id={key}")),
        "/api/admin/customer-profile" | "/api/admin/apply-credit" => {
            (Rule::Staff, format!("customer_id={a}"))
        }
        "/api/admin/update-customer" => (
            Rule::Staff,
            format!(
                "customer_id={a}&name=Acme%20Corporation&net_days=30&discount_percent=&discount_days=\
                 &credit_limit=&billing_emails=ap%40acme.example"
            ),
        ),
        // The CSV upload is multipart, built by `dispute_post`.
        "/admin/imports/post" => (Rule::Staff, String::new()),
        "/documents/reports/{file}" => (Rule::Staff, "as_of=".into()),
        // An unknown format: staff are let in and told the formats (400).
        "/documents/journal-exports/{id}/{format}" => (Rule::Staff, String::new()),
        "/api/admin/export-journal" => (Rule::Staff, String::new()),
        "/api/admin/aging" | "/api/admin/trial-balance" => (Rule::Staff, "as_of=".into()),
        "/api/admin/journal" => (Rule::Staff, "from=&to=&kind=&account=&after=".into()),
        "/api/admin/ledger-health" => (Rule::Staff, String::new()),
        // The second staff call finds the number taken (409): still let in.
        "/api/admin/customer-invoices" => (Rule::Staff, format!("customer_id={a}&filter=open&page=1")),
        "/api/admin/record-payment" => (
            Rule::Staff,
            format!("customer_id={a}&method=cheque&amount=1.00&received_on=&reference=MATRIX-1"),
        ),
        "/api/admin/invoice" => (Rule::Staff, format!("invoice_id={invoice}")),
        // Line 99 is not on the invoice: staff get a 400 naming it, nothing is credited.
        "/api/admin/credit-memo" => (
            Rule::Staff,
            format!(
                "invoice_id={invoice}&number=CM-MATRIX-1&reason=matrix&issue_date=\
                 &lines%5B0%5D%5Bline%5D=99&lines%5B0%5D%5Bamount%5D=1.00"
            ),
        ),
        // Invoice 0 does not exist: staff get a 400 with the reason, nothing is voided.
        "/api/admin/void-invoice" => (
            Rule::Staff,
            format!("customer_id={a}&invoice_id=0&reason=matrix"),
        ),
        "/api/admin/create-invoice" => (
            Rule::Staff,
            format!(
                "customer_id={a}&number=INV-MATRIX-1&po_number=&issue_date=2026-11-01\
                 &lines%5B0%5D%5Bdescription%5D=Audit&lines%5B0%5D%5Bquantity%5D=1\
                 &lines%5B0%5D%5Bunit_price%5D=10.00"
            ),
        ),
        "/api/admin/create-customer" => (
            Rule::Staff,
            "number=C-9001&name=Matrix&currency=USD&net_days=30&discount_percent=&discount_days=&credit_limit="
                .into(),
        ),
        "/api/admin/audit" => (Rule::Manager, "actor=&action=&from=&to=&page=1".into()),
        "/api/disputes/mine" => (Rule::Contact, String::new()),
        "/api/promises/offer" => (Rule::Contact, String::new()),
        // On the caller's own account: A's invoice, already promised, is refused to A's payer
        // with a 400 that changes nothing, and is not offered to B's at all (also a 400).
        "/api/promises/make" => (
            Rule::Payer,
            format!(
                "invoices[0]={}&pay_by={}",
                o.dispute_invoice_a,
                chrono::Utc::now().date_naive() + chrono::Duration::days(7)
            ),
        ),
        "/api/promises/withdraw" => (Rule::PayerOfA, format!("id={}", o.promise_a)),
        "/api/plans/page" => (Rule::Contact, String::new()),
        // A's invoice is promised, so no plan can take it: every payer gets a 400.
        "/api/plans/request" => (Rule::Payer, plan_body(o)),
        // A's plan is withdrawn: A's payer gets a 409 naming why, B's payer a 404.
        "/api/plans/accept" | "/api/plans/decline" => {
            (Rule::PayerOfA, format!("id={}", o.plan_a))
        }
        "/api/admin/customer-plans" => (Rule::Staff, format!("customer_id={a}")),
        "/api/admin/offer-plan" => (Rule::Staff, format!("customer_id={a}&{}", plan_body(o))),
        "/api/admin/approve-plan" | "/api/admin/withdraw-plan" => {
            (Rule::Staff, format!("customer_id={a}&id={}", o.plan_a))
        }
        // Fewer than two instalments: a manager gets a 400, nothing changes.
        "/api/admin/plan-limits" => (
            Rule::Manager,
            format!("customer_id={a}&max_instalments=1&max_days=365&grace_days=5"),
        ),
        "/api/autopay/page" => (Rule::Contact, String::new()),
        // A payer gets the provider's page (200); nothing is saved until they finish there.
        "/api/autopay/save-method" => (Rule::Payer, "consent=agreed".into()),
        // Autopay charges A's card: A's payer gets a 409 naming why, B's payer a 404.
        "/api/autopay/remove-method" => (Rule::PayerOfA, format!("id={}", o.method_a)),
        // B's payer cannot choose A's card (a 400); A's payer sets autopay again.
        "/api/autopay/turn-on" => (
            Rule::Payer,
            format!("method_id={}&charge_on=due_date&cap=", o.method_a),
        ),
        // On the caller's own account: B has no autopay to turn off (a 409).
        "/api/autopay/turn-off" => (Rule::Payer, String::new()),
        "/api/admin/customer-autopay" => (Rule::Staff, format!("customer_id={a}")),
        "/api/admin/run-autopay" => (Rule::Manager, String::new()),
        // Only the payer who started the setup finishes it (their consent is recorded).
        "/sandbox/setup/{id}" => (Rule::PayerOfA, String::new()),
        "/api/admin/customer-promises" => (Rule::Staff, format!("customer_id={a}")),
        // A's invoice is already promised: staff get a 400 naming why, nothing is recorded.
        "/api/admin/record-promise" => (
            Rule::Staff,
            format!(
                "customer_id={a}&invoices[0]={}&pay_by={}",
                o.dispute_invoice_a,
                chrono::Utc::now().date_naive() + chrono::Duration::days(7)
            ),
        ),
        "/api/admin/worklist" => (Rule::Staff, "collector=&page=1".into()),
        "/api/admin/collection-note" => (Rule::Staff, format!("customer_id={a}&body=Called")),
        "/api/admin/assign-collector" => (Rule::Staff, format!("customer_id={a}&collector=")),
        "/api/disputes/detail" => (Rule::ContactOfAOrStaff, format!("id={dispute}&admin=false")),
        "/api/disputes/form" => (Rule::PayerOfA, format!("invoice_id={invoice}")),
        "/api/admin/disputes" => (Rule::Staff, "status=&assignee=&sort=".into()),
        // Dispute forms: multipart bodies are built by `dispute_post`.
        "/disputes/new" => (Rule::PayerOfA, String::new()),
        "/disputes/{id}/messages" => (Rule::PayerOfAOrStaff, String::new()),
        // Only staff start a review; a customer asking is refused as the wrong side.
        "/disputes/{id}/act" => (Rule::Staff, "action=start_review".into()),
        "/disputes/{id}/assign" => (Rule::Staff, "assignee=".into()),
        "/documents/disputes/{id}/attachments/{attachment}" => {
            (Rule::ContactOfAOrStaff, String::new())
        }
        // server functions
        "/api/me" | "/api/home" => (Rule::Public, String::new()),
        "/api/sign-in" => (
            Rule::Public,
            "email=nobody%40example.com&password=not-the-password".into(),
        ),
        "/api/sign-out" => (Rule::Public, String::new()),
        "/api/accept-invitation" | "/api/reset-password" => (
            Rule::Public,
            "token=not-a-real-token&password=long-enough-secret".into(),
        ),
        "/api/request-password-reset" | "/api/request-sign-in-link" => {
            (Rule::Public, "email=nobody%40example.com".into())
        }
        // Without the password step's cookie: refused as expired (400), whoever calls.
        "/api/sign-in-code" => (Rule::Public, "code=123456".into()),
        "/api/sign-in-link" => (Rule::Public, "token=not-a-real-token".into()),
        "/api/two-factor" | "/api/two-factor-begin" => (Rule::SignedIn, String::new()),
        // Anyone may start a passkey sign-in (an address holds ten at once, then gets a 429); an
        // answer that is not one is refused (400) whoever sends it.
        "/api/passkey-sign-in-begin" => (Rule::Public, String::new()),
        "/api/passkey-sign-in" => (Rule::Public, "ceremony=none&answer=%7B%7D".into()),
        // A user's own passkeys: the manager (a factor on) may start adding one; the password
        // sessions of contacts with none may too; no such ceremony or passkey of theirs: 400.
        "/api/passkeys" | "/api/passkey-add-begin" => (Rule::SignedIn, String::new()),
        "/api/passkey-add" => (
            Rule::SignedIn,
            "ceremony=none&name=Phone&answer=%7B%7D".into(),
        ),
        "/api/passkey-remove" => (Rule::SignedIn, "id=999999".into()),
        "/api/email-choices" => (Rule::Contact, String::new()),
        "/api/save-email-choices" => (
            Rule::Contact,
            "reminder=on&receipt=on&dispute=on".into(),
        ),
        "/api/save-language" => (Rule::Contact, "language=en".into()),
        // Nobody has a factor waiting or on but the manager, whose factor stays on: 409s.
        "/api/two-factor-confirm" | "/api/two-factor-off" => (Rule::SignedIn, "code=000000".into()),
        // The spare contact has no factor: the manager gets a 409.
        "/api/admin/reset-two-factor" => {
            (Rule::Manager, format!("customer_id={a}&user_id={spare}"))
        }
        // Only a session that proved a second factor gets codes; the others a 409.
        "/profile/recovery-codes.txt" => (Rule::SignedIn, String::new()),
        // A file that only starts like a PNG: a manager is let in and refused (400).
        "/admin/company/logo" => (Rule::Manager, String::new()),
        "/admin/company/logo/remove" => (Rule::Manager, String::new()),
        "/admin/company/logo.png" => (Rule::Staff, String::new()),
        "/api/change-password" => (
            Rule::SignedIn,
            "current=not-the-password&new=another-long-secret".into(),
        ),
        "/api/portal/payments" => (Rule::Contact, String::new()),
        "/api/portal/invoices" => (
            Rule::Contact,
            "filter=all&search=&sort=due&descending=true&page=1".into(),
        ),
        "/api/portal/statement" => (Rule::Contact, "from=2026-01-01&to=2026-12-31".into()),
        "/api/portal/invoice" => (Rule::ContactOfA, format!("id={invoice}")),
        "/api/portal/payment" => (Rule::ContactOfA, format!("id={payment}")),
        "/api/portal/checkout" => (Rule::ContactOfA, format!("id={checkout}")),
        "/api/portal/review-payment" => (Rule::PayerOfA, format!("invoices={invoice}&amounts=")),
        "/api/portal/start-payment" | "/api/portal/apply-credit" => {
            (Rule::PayerOfA, format!("items={invoice}%3A{open}"))
        }
        "/sandbox/checkout/{id}" | "/sandbox/checkout/{id}/settle" => {
            (Rule::ContactOfA, String::new())
        }
        "/api/portal/cancel-payment" => (Rule::PayerOfA, format!("id={checkout}")),
        // The invoice is already on its way (the open checkout): A's payer gets a 409.
        "/api/portal/announce-transfer" => (Rule::PayerOfA, format!("items={invoice}%3A{open}")),
        "/documents/transfers/{file}" | "/documents/payments/{file}" => {
            (Rule::ContactOfA, String::new())
        }
        "/api/admin/customers" => (Rule::Staff, String::new()),
        "/api/admin/contacts" => (Rule::Staff, format!("customer_id={a}")),
        "/api/admin/invite-contact" => (
            Rule::Staff,
            format!("customer_id={a}&email=matrix%40acme.example&display_name=M&role=viewer"),
        ),
        "/api/admin/change-role" => (
            Rule::Manager,
            format!("customer_id={a}&user_id={spare}&role=payer"),
        ),
        "/api/admin/revoke-access" => (Rule::Manager, format!("customer_id={a}&user_id={spare}")),
        "/api/admin/outbox" => (Rule::Manager, String::new()),
        "/api/billing-details" => (Rule::Contact, String::new()),
        "/api/save-billing-details" => (
            Rule::Payer,
            "address=Accounts+Payable&country=US&tax_id=12-3456789&standing_po=".into(),
        ),
        "/api/admin/billing-details" => (Rule::Staff, format!("customer_id={a}")),
        "/api/admin/company" | "/api/admin/bank-accounts" => (Rule::Manager, String::new()),
        "/api/verify-document" => (Rule::Public, "code=abcd-efgh-jkmn".into()),
        // a currency we do not bill in: refused as invalid once the caller is let in
        "/api/admin/propose-bank-account" => (
            Rule::Manager,
            "currency=ZZZ&holder=Matrix&bank_name=Bank&iban=&bic=&account_number=&routing_number=&wait_days=5".into(),
        ),
        // the demo data's first account is in effect: a conflict once the caller is let in
        "/api/admin/approve-bank-account" | "/api/admin/withdraw-bank-account" => {
            (Rule::Manager, "id=1".into())
        }
        "/api/admin/save-company" => (
            Rule::Manager,
            "legal_name=Matrix+Inc.&address=&tax_numbers=&billing_contact=".into(),
        ),
        // downloads (the "body" is the query string)
        "/documents/invoices/{file}" => (Rule::ContactOfA, String::new()),
        "/documents/invoices.csv" => (Rule::Contact, String::new()),
        "/documents/statement.pdf" | "/documents/statement.csv" => {
            (Rule::Contact, "from=2026-01-01&to=2026-12-31".into())
        }
        // probes
        "/healthz" | "/readyz" => (Rule::Public, String::new()),
        _ => return None,
    };
    Some((rule, body))
}

/// `/invoices/{id}` → `/invoices/7`: route parameters name customer A's objects.
pub fn concrete(path: &str, o: &Objects) -> String {
    if path == "/verify/{code}" {
        return "/verify/ABCD-EFGH-JKMN".into();
    }
    if path == "/documents/invoices/{file}" {
        return format!("/documents/invoices/{}.pdf", o.invoice_a);
    }
    if path == "/documents/transfers/{file}" {
        return format!("/documents/transfers/{}.pdf", o.transfer_a);
    }
    if path == "/documents/payments/{file}" {
        return format!("/documents/payments/{}.pdf", o.payment_a);
    }
    if path == "/documents/journal-exports/{id}/{format}" {
        return "/documents/journal-exports/1/matrix".into();
    }
    if path == "/documents/reports/{file}" {
        return "/documents/reports/aging.csv".into();
    }
    if path == "/admin/imports/post" {
        return "/admin/imports".into();
    }
    if path == "/admin/payments/{id}" {
        return path.replace("{id}", &o.payment_a.to_string());
    }
    if path == "/admin/bank/{id}" {
        return format!("/admin/bank/{}", o.statement);
    }
    if path == "/admin/imports/{id}" {
        return path.replace("{id}", &o.import.to_string());
    }
    if path.contains("checkout/{id}") {
        return path.replace("{id}", &o.checkout_a);
    }
    if path.contains("setup/{id}") {
        return path.replace("{id}", &o.setup_a);
    }
    if path.contains("disputes/{id}") {
        return path
            .replace("{id}", &o.dispute_a.to_string())
            .replace("{attachment}", &o.attachment_a.to_string());
    }
    let id = if path.starts_with("/invoices/") || path.starts_with("/admin/invoices/") {
        o.invoice_a
    } else if path.starts_with("/payments/") {
        o.payment_a
    } else {
        o.customer_a
    };
    path.replace("{id}", &id.to_string())
}

pub struct Callers {
    pub cookies: Vec<(Who, Option<String>)>,
}

impl Callers {
    pub async fn new(app: &TestApp) -> Self {
        let mut cookies = vec![(Who::Anonymous, None)];
        for (who, email, password) in [
            (Who::ViewerA, "vic@acme.example", "acme-reads-only"),
            (Who::PayerA, "pat@acme.example", "acme-pays-on-time"),
            (Who::PayerB, "bea@customer-b.example", "customer-b-pays"),
            (
                Who::Clerk,
                "clerk@ledgerport.example",
                "clerk-works-disputes",
            ),
            (
                Who::Manager,
                "manager@ledgerport.example",
                "manager-sees-everything",
            ),
        ] {
            cookies.push((who, Some(app.sign_in(email, password).await)));
        }
        let (email, password) = (
            "no-code-yet@ledgerport.example",
            "a-manager-without-a-phone",
        );
        let known: Option<i64> = sqlx::query_scalar("SELECT id FROM users WHERE email = $1")
            .bind(email)
            .fetch_optional(app.db.pool())
            .await
            .unwrap();
        if known.is_none() {
            fixtures::user(&app.db, email, password, Role::Manager, None).await;
        }
        cookies.push((
            Who::ManagerWithoutCode,
            Some(app.sign_in(email, password).await),
        ));
        Callers { cookies }
    }

    pub fn cookie(&self, who: Who) -> Option<&str> {
        self.cookies
            .iter()
            .find(|(w, _)| *w == who)
            .and_then(|(_, c)| c.as_deref())
    }
}

/// A 2 by 2 pixel PNG, as a logo.
pub fn tiny_png() -> Vec<u8> {
    let mut png = Vec::new();
    let mut encoder = png::Encoder::new(&mut png, 2, 2);
    encoder.set_color(png::ColorType::Rgba);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder.write_header().unwrap();
    writer.write_image_data(&[30u8; 16]).unwrap();
    writer.finish().unwrap();
    png
}

/// A CSV whose only row names no customer: previewing or committing it changes nothing.
pub const IMPORT_WITH_AN_ERROR: &str =
    "customer,invoice,description,quantity,unit_price\nC-404,X-1,Thing,1,1\n";

/// Posts a dispute form as the browser does (multipart where it carries files) and returns the
/// status; a redirect (303) means it went through.
pub async fn dispute_post(
    app: &TestApp,
    path: &str,
    body: &str,
    o: &Objects,
    cookie: Option<&str>,
) -> u16 {
    let url = app.url(&concrete(path, o));
    let mut request = app.client.post(url).header("origin", super::ORIGIN);
    if let Some(cookie) = cookie {
        request = request.header("cookie", cookie);
    }
    request = match path {
        "/disputes/new" => request.multipart(
            reqwest::multipart::Form::new()
                .text("invoice_id", o.dispute_invoice_a.to_string())
                .text("line", o.dispute_line_a.to_string())
                .text(format!("reason_{}", o.dispute_line_a), "quantity")
                .text(format!("amount_{}", o.dispute_line_a), "0.50")
                .text("message", "One more question."),
        ),
        "/disputes/{id}/messages" => {
            request.multipart(reqwest::multipart::Form::new().text("body", "Any news?"))
        }
        "/admin/bank-statements" => request.multipart(
            reqwest::multipart::Form::new().part(
                "file",
                reqwest::multipart::Part::bytes(b"01,BANK,US,261204,0600,1,,,2/\n".to_vec())
                    .file_name("broken.bai"),
            ),
        ),
        "/admin/company/logo" => request.multipart(reqwest::multipart::Form::new().part(
            "logo",
            reqwest::multipart::Part::bytes(tiny_png()[..30].to_vec()).file_name("logo.png"),
        )),
        "/admin/imports/post" => request.multipart(
            reqwest::multipart::Form::new().part(
                "file",
                reqwest::multipart::Part::bytes(IMPORT_WITH_AN_ERROR.as_bytes().to_vec())
                    .file_name("matrix.csv"),
            ),
        ),
        _ => request
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body.to_string()),
    };
    request.send().await.unwrap().status().as_u16()
}

/// Customer A's objects for the calls to name, made on the demo data: a second customer's
/// payer, a spare contact, a checkout, a dispute with an attachment, an import and an API key.
pub async fn objects(app: &TestApp) -> Objects {
    let customer_a: i64 = sqlx::query("SELECT id FROM customers WHERE number = 'C-1001'")
        .fetch_one(app.db.pool())
        .await
        .unwrap()
        .get(0);
    let customer_b: i64 =
        sqlx::query("SELECT id FROM customers WHERE number <> 'C-1001' ORDER BY id")
            .fetch_one(app.db.pool())
            .await
            .unwrap()
            .get(0);
    fixtures::user(
        &app.db,
        "bea@customer-b.example",
        "customer-b-pays",
        Role::Payer,
        Some(customer_b),
    )
    .await;
    let spare_contact = fixtures::user(
        &app.db,
        "spare@acme.example",
        "spare-contact-secret",
        Role::Viewer,
        Some(customer_a),
    )
    .await;
    let first = |sql: &'static str| {
        let db = app.db.clone();
        async move {
            sqlx::query(sql)
                .bind(customer_a)
                .fetch_one(db.pool())
                .await
                .unwrap()
                .get::<i64, _>(0)
        }
    };
    let invoice_a =
        first("SELECT max(id) FROM invoices WHERE customer_id = $1 AND open_minor > 0").await;
    let invoice_a_open: i64 = sqlx::query("SELECT open_minor FROM invoices WHERE id = $1")
        .bind(invoice_a)
        .fetch_one(app.db.pool())
        .await
        .unwrap()
        .get(0);
    let pat: i64 = sqlx::query("SELECT id FROM users WHERE email = 'pat@acme.example'")
        .fetch_one(app.db.pool())
        .await
        .unwrap()
        .get(0);
    let checkout_a = ledgerport::checkout::store::open_checkout(
        &app.db,
        customer_a,
        pat,
        "sandbox",
        &[ledgerport::checkout::PayItem {
            invoice_id: invoice_a,
            amount_minor: invoice_a_open,
        }],
        chrono::Utc::now().date_naive(),
    )
    .await
    .unwrap()
    .id;
    let dispute_invoice_a: i64 = sqlx::query(
        "SELECT min(id) FROM invoices WHERE customer_id = $1 AND open_minor > 0 AND id <> $2",
    )
    .bind(customer_a)
    .bind(invoice_a)
    .fetch_one(app.db.pool())
    .await
    .unwrap()
    .get(0);
    let dispute_line_a = fixtures::line_ids(&app.db, dispute_invoice_a).await[0];
    let transfer_a = ledgerport::transfers::store::announce_transfer(
        &app.db,
        customer_a,
        pat,
        &[ledgerport::checkout::PayItem {
            invoice_id: dispute_invoice_a,
            amount_minor: 500,
        }],
        chrono::Utc::now().date_naive(),
    )
    .await
    .unwrap()
    .id;
    let dispute_a = ledgerport::disputes::store::open_dispute(
        &app.db,
        &ledgerport::disputes::store::NewDispute {
            customer_id: customer_a,
            invoice_id: dispute_invoice_a,
            opened_by: ledgerport::disputes::store::Actor {
                user_id: pat,
                email: "pat@acme.example",
                scope: ledgerport::disputes::store::Scope::Customer(customer_a),
            },
            lines: vec![ledgerport::disputes::DisputedLine {
                invoice_line_id: dispute_line_a,
                reason: ledgerport::disputes::DisputeReason::Price,
                amount_minor: 1_000,
            }],
            message: "The unit price is not the one quoted.".into(),
            attachments: vec![
                ledgerport::disputes::Attachment::new("quote.pdf", b"%PDF-1.4 quote".to_vec())
                    .unwrap(),
            ],
        },
    )
    .await
    .unwrap();
    let promise_a = ledgerport::promises::store::make_promise(
        &app.db,
        customer_a,
        &ledgerport::promises::PromiseDraft {
            invoice_ids: vec![dispute_invoice_a],
            pay_by: (chrono::Utc::now().date_naive() + chrono::Duration::days(7)).to_string(),
            amount: String::new(),
            note: String::new(),
            locale: ledgerport::locale::Locale::En,
        },
        chrono::Utc::now().date_naive(),
        ledgerport::promises::store::MadeBy {
            user_id: pat,
            email: "pat@acme.example",
            ip: "127.0.0.1",
            by_staff: false,
        },
    )
    .await
    .unwrap();
    let plan_a: i64 = sqlx::query_scalar(
        "INSERT INTO payment_plans (customer_id, total_minor, status, proposed_by, proposed_at, \
         grace_days, closed_on, paid_minor) VALUES ($1, 10000, 'withdrawn', $2, $3, 5, $4, 0) \
         RETURNING id",
    )
    .bind(customer_a)
    .bind(pat)
    .bind(ledgerport::db::now_text())
    .bind(chrono::Utc::now().date_naive().to_string())
    .fetch_one(app.db.pool())
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO payment_plan_invoices (plan_id, invoice_id, due_minor) VALUES ($1, $2, 10000)",
    )
    .bind(plan_a)
    .bind(dispute_invoice_a)
    .execute(app.db.pool())
    .await
    .unwrap();
    let method_a =
        ledgerport::testing::fixtures::saved_card(&app.db, customer_a, pat, "pm_matrix_a").await;
    sqlx::query(
        "INSERT INTO sandbox_saved_methods (id, setup_intent, kind, label, last4, exp_month, \
         exp_year, behaviour) VALUES ('pm_matrix_a', 'seti_matrix_a', 'card', 'Visa', '4242', 12, \
         2099, 'succeeds')",
    )
    .execute(app.db.pool())
    .await
    .unwrap();
    ledgerport::autopay::store::turn_on(
        &app.db,
        customer_a,
        &ledgerport::autopay::AutopayDraft {
            method_id: method_a,
            charge_on: "due_date".into(),
            cap: String::new(),
        },
        ledgerport::audit::Actor {
            user_id: Some(pat),
            name: "pat@acme.example",
        },
    )
    .await
    .unwrap();
    let setup_a = "ps_matrix_open".to_string();
    sqlx::query(
        "INSERT INTO payment_method_setups (id, customer_id, user_id, provider, consent_text, \
         created_at) VALUES ($1, $2, $3, 'sandbox', 'terms', $4)",
    )
    .bind(&setup_a)
    .bind(customer_a)
    .bind(pat)
    .bind(ledgerport::db::now_text())
    .execute(app.db.pool())
    .await
    .unwrap();
    let clerk: i64 = sqlx::query("SELECT id FROM users WHERE email = 'clerk@ledgerport.example'")
        .fetch_one(app.db.pool())
        .await
        .unwrap()
        .get(0);
    let import = ledgerport::imports::store::upload(
        &app.db,
        "matrix.csv",
        IMPORT_WITH_AN_ERROR.as_bytes(),
        clerk,
    )
    .await
    .unwrap();
    let api_key = ledgerport::api_keys::store::create(&app.db, "matrix", clerk, "clerk")
        .await
        .unwrap()
        .0;
    let statement = ledgerport::statements::store::import_statement(
        &app.db,
        "matrix.bai",
        "01,BANK,LEDGERPORT,261204,0600,7,,,2/\n02,LEDGERPORT,BANK,1,261204,0600,USD,2/\n\
         03,000123456789,USD,015,100,,/\n49,100,2/\n98,100,1,4/\n99,100,1,6/\n",
        None,
        ledgerport::audit::Actor {
            user_id: Some(clerk),
            name: "clerk@ledgerport.example",
        },
    )
    .await
    .unwrap()[0]
        .id;
    // A logo, so that staff see it back (removing it is a form post, read after the documents).
    sqlx::query(
        "INSERT INTO company_logo (id, png, width, height, updated_at) VALUES (1, $1, 2, 2, '')",
    )
    .bind(tiny_png())
    .execute(app.db.pool())
    .await
    .unwrap();
    Objects {
        import,
        statement,
        api_key,
        customer_a,
        invoice_a,
        invoice_a_open,
        payment_a: first("SELECT min(id) FROM payments WHERE customer_id = $1").await,
        checkout_a,
        transfer_a,
        promise_a,
        plan_a,
        method_a,
        setup_a,
        spare_contact,
        dispute_a,
        dispute_invoice_a,
        dispute_line_a,
        attachment_a: first(
            "SELECT max(a.id) FROM dispute_attachments a JOIN disputes d ON d.id = a.dispute_id \
             WHERE d.customer_id = $1",
        )
        .await,
    }
}

/// Every endpoint, taken from the router itself, so that a new one cannot be forgotten.
pub struct Paths {
    pub pages: Vec<String>,
    pub functions: Vec<String>,
    pub probes: Vec<String>,
    pub documents: Vec<String>,
    /// Plain form posts (multipart where they carry files): disputes, the CSV upload and the
    /// sandbox's "Settle now".
    pub form_posts: Vec<String>,
}

impl Paths {
    pub fn of_router() -> Paths {
        let pages: Vec<String> = server::http::page_routes()
            .iter()
            .map(|route| route.path().to_string())
            .collect();
        let functions: Vec<String> = leptos::server_fn::axum::server_fn_paths()
            .map(|(path, _)| path.to_string())
            .collect();
        let probes: Vec<String> = server::http::probe_routes()
            .iter()
            .map(|(path, _)| path.to_string())
            .collect();
        let (dispute_downloads, mut dispute_posts): (Vec<String>, Vec<String>) =
            server::disputes::routes()
                .into_iter()
                .map(|(path, _)| path.to_string())
                .partition(|path| path.starts_with("/documents/"));
        // The upload route shares its path with the upload page; its policy is written under a
        // name of its own.
        dispute_posts.extend(
            server::imports::routes()
                .into_iter()
                .map(|(path, _)| format!("{path}/post")),
        );
        dispute_posts.extend(
            server::bank_statements::routes()
                .into_iter()
                .chain(server::recovery_codes::routes())
                .map(|(path, _)| path.to_string()),
        );
        // The logo's forms post; its image is read like a document.
        let (logo_images, logo_posts): (Vec<String>, Vec<String>) = server::company_logo::routes()
            .into_iter()
            .map(|(path, _)| path.to_string())
            .partition(|path| path.ends_with(".png"));
        dispute_posts.extend(logo_posts);
        // The sandbox's hosted page is read; its "Settle now" button posts.
        let (sandbox_posts, sandbox_pages): (Vec<String>, Vec<String>) = server::sandbox::routes()
            .into_iter()
            .map(|(path, _)| path.to_string())
            .partition(|path| path.ends_with("/settle"));
        dispute_posts.extend(sandbox_posts);
        let documents: Vec<String> = server::documents::routes()
            .into_iter()
            .map(|(path, _)| path.to_string())
            .chain(sandbox_pages)
            .chain(dispute_downloads)
            .chain(logo_images)
            .collect();
        Paths {
            pages,
            functions,
            probes,
            documents,
            form_posts: dispute_posts,
        }
    }

    /// Every path once, pages first.
    pub fn all(&self) -> impl Iterator<Item = &String> {
        self.pages
            .iter()
            .chain(&self.functions)
            .chain(&self.probes)
            .chain(&self.documents)
            .chain(&self.form_posts)
    }
}
