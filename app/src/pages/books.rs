//! Staff pages for the books: aging report, journal, trial balance, ledger health, audit log.
//! Every filter is a GET form, so each view is a bookmarkable URL and works without JavaScript.

use ledgerport::money::Currency;
use ledgerport::reports::Aging;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use crate::books::{aging_report, audit_log, journal, ledger_health, trial_balance};
use crate::format::{date, money, timestamp};
use crate::pages::error_view;

/// A query parameter, empty when absent.
fn param(name: &'static str) -> impl Fn() -> String + Copy + Send + Sync + 'static {
    let query = use_query_map();
    move || query.with(|q| q.get(name).unwrap_or_default())
}

fn page_param() -> impl Fn() -> u32 + Copy + Send + Sync + 'static {
    let page = param("page");
    move || page().parse().unwrap_or(1)
}

/// The books' sections, shown on each of their pages.
#[component]
fn BooksNav() -> impl IntoView {
    view! {
        <nav class="tabs" aria-label="Books">
            <a href="/admin/reports/aging">"Aging"</a>
            <a href="/admin/journal">"Journal"</a>
            <a href="/admin/trial-balance">"Trial balance"</a>
            <a href="/admin/ledger-health">"Ledger health"</a>
            <a href="/admin/audit">"Audit log"</a>
        </nav>
    }
}

/// `/admin/reports/aging?as_of=YYYY-MM-DD`: every customer's aging, largest balance first, with
/// totals per currency.
#[component]
pub fn AgingReportPage() -> impl IntoView {
    let as_of = param("as_of");
    let report = Resource::new(as_of, aging_report);
    view! {
        <Title text="Aging report"/>
        <h1>"Aging report"</h1>
        <BooksNav/>
        <Suspense fallback=|| view! { <p class="muted">"Adding up the book…"</p> }>
            {move || Suspend::new(async move {
                match report.await {
                    Err(e) => error_view(e),
                    Ok(r) => {
                        let mut totals: Vec<(Currency, Aging)> = Vec::new();
                        for c in &r.customers {
                            let total = match totals.iter_mut().find(|(cur, _)| *cur == c.currency) {
                                Some((_, total)) => total,
                                None => {
                                    totals.push((c.currency, Aging::default()));
                                    &mut totals.last_mut().expect("just pushed").1
                                }
                            };
                            for (i, amount) in c.aging.buckets().into_iter().enumerate() {
                                total.add(i, amount);
                            }
                            total.in_dispute += c.aging.in_dispute;
                        }
                        view! {
                            <form class="filters" method="get" action="/admin/reports/aging">
                                <label>"As of "<input type="date" name="as_of" value=r.as_of.to_string()/></label>
                                <button class="button secondary" type="submit">"Show"</button>
                            </form>
                            <p class="hint">"As of " {date(r.as_of)} ". Amounts in each customer's currency."</p>
                            <div class="table-wrap">
                            <table class="table" data-testid="aging-report">
                                <caption class="visually-hidden">"Aging by customer"</caption>
                                <thead><tr>
                                    <th scope="col">"Customer"</th>
                                    {Aging::LABELS.iter().map(|l| view! { <th scope="col" class="num">{*l}</th> }).collect_view()}
                                    <th scope="col" class="num">"In dispute"</th><th scope="col" class="num">"Total"</th>
                                </tr></thead>
                                <tbody>
                                    {r.customers.iter().map(|c| view! {
                                        <tr>
                                            <td><a href=format!("/admin/customers/{}", c.customer_id)>{c.name.clone()}</a>
                                                " "<span class="muted">{c.number.clone()}</span>
                                                " · "<a href=format!("/admin/journal?customer={}", c.customer_id)>"entries"</a></td>
                                            {aging_cells(c.aging, c.currency)}
                                        </tr>
                                    }).collect_view()}
                                </tbody>
                                <tfoot>
                                    {totals.into_iter().map(|(currency, aging)| view! {
                                        <tr class="strong"><th scope="row">"Total " {currency.code()}</th>{aging_cells(aging, currency)}</tr>
                                    }).collect_view()}
                                </tfoot>
                            </table>
                            </div>
                        }.into_any()
                    }
                }
            })}
        </Suspense>
    }
}

fn aging_cells(aging: Aging, currency: Currency) -> impl IntoView {
    let mut cells: Vec<i64> = aging.buckets().to_vec();
    cells.push(aging.in_dispute);
    cells.push(aging.total());
    cells
        .into_iter()
        .map(|amount| view! { <td class="num">{money(amount, currency)}</td> })
        .collect_view()
}

/// Signed minor units in a stored currency code (unknown codes shown as plain numbers).
fn amount(minor: i64, code: &str) -> String {
    match code.parse::<Currency>() {
        Ok(currency) => money(minor, currency),
        Err(_) => format!("{minor} {code}"),
    }
}

/// `/admin/journal`: entries newest first with their lines; filters by date, customer, kind, account.
#[component]
pub fn JournalPage() -> impl IntoView {
    let (from, to, customer, kind, account, page) = (
        param("from"),
        param("to"),
        param("customer"),
        param("kind"),
        param("account"),
        page_param(),
    );
    let entries = Resource::new(
        move || {
            (
                from(),
                to(),
                customer().parse::<i64>().ok(),
                kind(),
                account(),
                page(),
            )
        },
        |(from, to, customer, kind, account, page)| {
            journal(from, to, customer, kind, account, page)
        },
    );
    view! {
        <Title text="Journal"/>
        <h1>"Journal"</h1>
        <BooksNav/>
        <form class="filters" method="get" action="/admin/journal">
            <label>"From "<input type="date" name="from" value=from/></label>
            <label>"To "<input type="date" name="to" value=to/></label>
            <label>"Kind "<select name="kind">
                {["", "invoice_issued", "payment_received", "early_payment_discount", "credit_memo",
                  "credit_applied", "refund", "write_off", "reversal", "chargeback", "chargeback_closed"]
                    .into_iter().map(|k| view! {
                        <option value=k selected=move || kind() == k>{if k.is_empty() { "Any" } else { k }}</option>
                    }).collect_view()}
            </select></label>
            <label>"Account "<input name="account" size="5" inputmode="numeric" value=account/></label>
            <input type="hidden" name="customer" value=customer/>
            <button class="button secondary" type="submit">"Filter"</button>
        </form>
        <Suspense fallback=|| view! { <p class="muted">"Loading entries…"</p> }>
            {move || Suspend::new(async move {
                match entries.await {
                    Err(e) => error_view(e),
                    Ok(p) => {
                        let pages = (p.matching + i64::from(p.per_page) - 1) / i64::from(p.per_page.max(1));
                        let link = move |n: u32| format!(
                            "/admin/journal?from={}&to={}&customer={}&kind={}&account={}&page={n}",
                            from(), to(), customer(), kind(), account()
                        );
                        view! {
                            <div class="table-wrap">
                            <table class="table compact" data-testid="journal">
                                <caption class="visually-hidden">"Journal entries"</caption>
                                <thead><tr>
                                    <th scope="col">"Date"</th><th scope="col">"Entry"</th><th scope="col">"Account"</th>
                                    <th scope="col">"Invoice"</th><th scope="col" class="num">"Debit"</th><th scope="col" class="num">"Credit"</th>
                                </tr></thead>
                                {p.entries.into_iter().map(|e| view! {
                                    <tbody class="entry">
                                        <tr class="strong">
                                            <td>{date(e.effective_date)}</td>
                                            <td colspan="5">{e.kind.clone()}" · "{e.memo.clone()}
                                                {e.customer.clone().map(|c| view! { " · "<span class="muted">{c}</span> })}
                                                " "<span class="muted" title=timestamp(&e.posted_at)>"#"{e.id}</span></td>
                                        </tr>
                                        {e.lines.into_iter().map(|l| view! {
                                            <tr>
                                                <td></td><td></td>
                                                <td>{l.account_code.clone()}" "{l.account_name.clone()}</td>
                                                <td>{l.invoice_number.clone().unwrap_or_default()}</td>
                                                <td class="num">{(l.amount_minor > 0).then(|| amount(l.amount_minor, &l.currency))}</td>
                                                <td class="num">{(l.amount_minor < 0).then(|| amount(-l.amount_minor, &l.currency))}</td>
                                            </tr>
                                        }).collect_view()}
                                    </tbody>
                                }).collect_view()}
                            </table>
                            </div>
                            <nav class="pager" aria-label="Pages">
                                {(p.page > 1).then(|| view! { <a href=link(p.page - 1) rel="prev">"← Newer"</a> })}
                                <span>"Page " {p.page} " of " {pages.max(1)} " · " {p.matching} " entries"</span>
                                {(i64::from(p.page) < pages).then(|| view! { <a href=link(p.page + 1) rel="next">"Older →"</a> })}
                            </nav>
                        }.into_any()
                    }
                }
            })}
        </Suspense>
    }
}

/// `/admin/trial-balance?as_of=`: each account's balance as of a date; debits equal credits.
#[component]
pub fn TrialBalancePage() -> impl IntoView {
    let as_of = param("as_of");
    let balance = Resource::new(as_of, trial_balance);
    view! {
        <Title text="Trial balance"/>
        <h1>"Trial balance"</h1>
        <BooksNav/>
        <Suspense fallback=|| view! { <p class="muted">"Adding up the accounts…"</p> }>
            {move || Suspend::new(async move {
                match balance.await {
                    Err(e) => error_view(e),
                    Ok(t) => {
                        let mut totals: Vec<(String, i64, i64)> = Vec::new();
                        for r in &t.rows {
                            let net = r.debit_minor - r.credit_minor;
                            match totals.iter_mut().find(|(c, _, _)| *c == r.currency) {
                                Some((_, d, c)) => { *d += net.max(0); *c += (-net).max(0); }
                                None => totals.push((r.currency.clone(), net.max(0), (-net).max(0))),
                            }
                        }
                        view! {
                            <form class="filters" method="get" action="/admin/trial-balance">
                                <label>"As of "<input type="date" name="as_of" value=t.as_of.to_string()/></label>
                                <button class="button secondary" type="submit">"Show"</button>
                            </form>
                            <div class="table-wrap">
                            <table class="table" data-testid="trial-balance">
                                <caption>"As of " {date(t.as_of)}</caption>
                                <thead><tr><th scope="col">"Account"</th><th scope="col">"Currency"</th>
                                    <th scope="col" class="num">"Debit"</th><th scope="col" class="num">"Credit"</th></tr></thead>
                                <tbody>
                                    {t.rows.iter().map(|r| {
                                        let net = r.debit_minor - r.credit_minor;
                                        view! {
                                            <tr>
                                                <td>{r.account_code.clone()}" "{r.account_name.clone()}</td><td>{r.currency.clone()}</td>
                                                <td class="num">{(net > 0).then(|| amount(net, &r.currency))}</td>
                                                <td class="num">{(net < 0).then(|| amount(-net, &r.currency))}</td>
                                            </tr>
                                        }
                                    }).collect_view()}
                                </tbody>
                                <tfoot>
                                    {totals.into_iter().map(|(currency, debit, credit)| view! {
                                        <tr class="strong" data-testid="trial-balance-total">
                                            <th scope="row">"Total"</th><td>{currency.clone()}</td>
                                            <td class="num">{amount(debit, &currency)}</td><td class="num">{amount(credit, &currency)}</td>
                                        </tr>
                                    }).collect_view()}
                                </tfoot>
                            </table>
                            </div>
                        }.into_any()
                    }
                }
            })}
        </Suspense>
    }
}

/// `/admin/ledger-health`: re-derives every balance and lists any broken invariant.
#[component]
pub fn LedgerHealthPage() -> impl IntoView {
    let report = Resource::new(|| (), |_| ledger_health());
    view! {
        <Title text="Ledger health"/>
        <h1>"Ledger health"</h1>
        <BooksNav/>
        <Suspense fallback=|| view! { <p class="muted">"Checking every entry…"</p> }>
            {move || Suspend::new(async move {
                match report.await {
                    Err(e) => error_view(e),
                    Ok(h) => view! {
                        <p data-testid="health-counts">"Checked " {h.entries} " entries, " {h.lines} " lines and " {h.invoices} " invoices."</p>
                        {if h.violations.is_empty() {
                            view! { <p class="notice" data-testid="health-ok">"No violations: every entry balances, every invoice matches its ledger lines, every hold matches its disputes."</p> }.into_any()
                        } else {
                            view! {
                                <ul class="error" data-testid="health-violations">
                                    {h.violations.into_iter().map(|v| view! { <li>{v}</li> }).collect_view()}
                                </ul>
                            }.into_any()
                        }}
                    }.into_any(),
                }
            })}
        </Suspense>
    }
}

/// `/admin/audit`: who did what and when, newest first (managers).
#[component]
pub fn AuditPage() -> impl IntoView {
    let (actor, action, from, to, page) = (
        param("actor"),
        param("action"),
        param("from"),
        param("to"),
        page_param(),
    );
    let rows = Resource::new(
        move || (actor(), action(), from(), to(), page()),
        |(actor, action, from, to, page)| audit_log(actor, action, from, to, page),
    );
    view! {
        <Title text="Audit log"/>
        <h1>"Audit log"</h1>
        <BooksNav/>
        <form class="filters" method="get" action="/admin/audit">
            <label>"Who "<input name="actor" value=actor placeholder="email or name"/></label>
            <label>"Action "<input name="action" value=action placeholder="e.g. dispute."/></label>
            <label>"From "<input type="date" name="from" value=from/></label>
            <label>"To "<input type="date" name="to" value=to/></label>
            <button class="button secondary" type="submit">"Filter"</button>
        </form>
        <Suspense fallback=|| view! { <p class="muted">"Loading the log…"</p> }>
            {move || Suspend::new(async move {
                match rows.await {
                    Err(e) => error_view(e),
                    Ok(rows) => {
                        let next = (rows.len() as u32 == ledgerport::journal::AUDIT_PER_PAGE).then(|| format!(
                            "/admin/audit?actor={}&action={}&from={}&to={}&page={}", actor(), action(), from(), to(), page() + 1));
                        view! {
                            <div class="table-wrap">
                            <table class="table compact" data-testid="audit">
                                <caption class="visually-hidden">"Audit records"</caption>
                                <thead><tr><th scope="col">"When"</th><th scope="col">"Who"</th><th scope="col">"Action"</th>
                                    <th scope="col">"Subject"</th><th scope="col">"Detail"</th><th scope="col">"From"</th></tr></thead>
                                <tbody>
                                    {rows.into_iter().map(|r| view! {
                                        <tr><td>{timestamp(&r.at)}</td><td>{r.actor}</td><td>{r.action}</td>
                                            <td>{r.subject}</td><td>{r.detail}</td><td>{r.ip}</td></tr>
                                    }).collect_view()}
                                </tbody>
                            </table>
                            </div>
                            {next.map(|href| view! { <nav class="pager"><a href=href rel="next">"Older →"</a></nav> })}
                        }.into_any()
                    }
                }
            })}
        </Suspense>
    }
}
