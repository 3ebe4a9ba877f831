//! The customer's pages: account summary, invoices, one invoice, statements, payments.
//! Lists take their filters from the URL (plain GET forms), so they work without JavaScript
//! and every view can be bookmarked.

use chrono::{Datelike, NaiveDate};
use ledgerport::checkout::CheckoutStatus;
use ledgerport::invoices::views::{
    InvoiceDetail, InvoiceFilter, InvoicePage, InvoiceSort, InvoiceStatus, activity_label,
};
use ledgerport::money::Currency;
use ledgerport::payments::PaymentMethod;
use ledgerport::reports::Aging;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use crate::components::Loaded;
use crate::format::{date, method_label, money};
use crate::i18n::{Locale, tr, use_locale};
use crate::portal::{AccountOverview, account_statement, invoice, invoices, payment, payments};

pub(crate) fn status_badge(status: InvoiceStatus) -> impl IntoView {
    let class = match status {
        InvoiceStatus::Open => "badge open",
        InvoiceStatus::Overdue => "badge overdue",
        InvoiceStatus::Paid => "badge paid",
        InvoiceStatus::Void => "badge void",
    };
    view! { <span class=class>{status.label_in(use_locale())}</span> }
}

/// The customer's aging as horizontal bars, drawn as SVG so it needs no script and scales.
#[component]
fn AgingChart(aging: Aging, currency: Currency) -> impl IntoView {
    let locale = use_locale();
    // Disputed amounts are open but not due: a column of their own, out of the buckets.
    let mut columns: Vec<(String, i64)> = Aging::labels(locale)
        .iter()
        .map(|label| label.to_string())
        .zip(aging.buckets())
        .collect();
    let in_dispute = tr!(locale, "aging.in_dispute");
    columns.push((in_dispute.clone(), aging.in_dispute));
    let largest = columns.iter().map(|c| c.1).max().unwrap_or(0).max(1);
    view! {
        <figure class="aging" data-testid="aging">
            <figcaption>{tr!(locale, "aging.caption")}</figcaption>
            <table class="table compact">
                <thead><tr>{columns.iter().map(|(l, _)| view! { <th scope="col">{l.clone()}</th> }).collect_view()}</tr></thead>
                <tbody><tr>{columns.iter().map(|(l, b)| view! {
                    <td class="num" data-testid=(*l == in_dispute).then_some("aging-in-dispute")>{money(*b, currency)}</td>
                }).collect_view()}</tr></tbody>
            </table>
            <svg viewBox="0 0 300 134" role="img" aria-label=tr!(locale, "aging.bars") class="bars">
                {columns.iter().enumerate().map(|(i, (label, amount))| {
                    let width = (*amount as f64 / largest as f64 * 220.0).max(if *amount > 0 { 2.0 } else { 0.0 });
                    let y = i as f64 * 22.0;
                    view! {
                        <text x="0" y=y + 14.0 class="bar-label">{label.clone()}</text>
                        <rect x="60" y=y + 3.0 width=width height="14" class=format!("bar bucket-{i}")/>
                    }
                }).collect_view()}
            </svg>
        </figure>
    }
}

/// A contact's account summary (the start page for a signed-in contact).
pub fn summary_view(o: AccountOverview) -> impl IntoView {
    let locale = use_locale();
    let s = o.summary;
    let c = s.currency;
    let next = s.next_due.map(|(day, amount)| {
        tr!(
            locale,
            "summary.next_due_on",
            amount = money(amount, c),
            date = date(day)
        )
    });
    view! {
        <Title text=tr!(locale, "summary.title")/>
        <h1>{o.customer_name}</h1>
        <section class="figures" aria-label=tr!(locale, "summary.figures") data-testid="summary">
            <div class="figure"><span class="label">{tr!(locale, "summary.balance_due")}</span>
                <span class="value" data-testid="balance-due">{money(s.balance_due_minor, c)}</span></div>
            <div class="figure"><span class="label">{tr!(locale, "summary.overdue")}</span>
                <span class="value warn" data-testid="overdue">{money(s.overdue_minor, c)}</span></div>
            {(s.in_dispute_minor > 0).then(|| view! {
                <div class="figure"><span class="label"><a href="/disputes">{tr!(locale, "summary.in_dispute")}</a></span>
                    <span class="value" data-testid="in-dispute">{money(s.in_dispute_minor, c)}</span></div>
            })}
            {(s.in_payment_minor > 0).then(|| view! {
                <div class="figure"><span class="label">{tr!(locale, "summary.in_payment")}</span>
                    <span class="value" data-testid="in-payment">{money(s.in_payment_minor, c)}</span></div>
            })}
            <div class="figure"><span class="label">{tr!(locale, "summary.credit")}</span>
                <span class="value" data-testid="credit">{money(s.unapplied_credit_minor, c)}</span></div>
            <div class="figure"><span class="label">{tr!(locale, "summary.next_due")}</span>
                <span class="value small">{next.unwrap_or_else(|| tr!(locale, "summary.nothing_due"))}</span></div>
        </section>
        <p class="hint">{if s.open_invoices == 1 {
                tr!(locale, "summary.as_of_one", date = date(s.as_of))
            } else {
                tr!(locale, "summary.as_of", date = date(s.as_of), count = s.open_invoices)
            }}" "
            <a href="/invoices?filter=open">{tr!(locale, "summary.see_open")}</a>" · "<a href="/statements">{tr!(locale, "nav.statements")}</a></p>
        {o.promises.iter().map(|p| view! {
            <p class="notice" data-testid="open-promise">
                {tr!(locale, "summary.promise", amount = money(p.amount_minor, c), date = date(p.pay_by), met = money(p.met_minor, c))}" "
                <a href="/promise">{tr!(locale, "summary.see_promises")}</a></p>
        }).collect_view()}
        {plan_notice(locale, &s)}
        {(s.due_now_minor > 0).then(|| view! {
            <p><a class="button" href="/pay?all=1">{tr!(locale, "summary.pay_all")}</a>" "
                <a class="button secondary" href="/promise">{tr!(locale, "summary.promise_to_pay")}</a>" "
                {(s.plan.is_none() && s.pending_plan.is_none()).then(|| view! {
                    <a class="button secondary" href="/plan">{tr!(locale, "summary.ask_plan")}</a>
                })}
                {(s.in_dispute_minor > 0).then(|| view! {
                    <span class="hint">" "{tr!(locale, "summary.disputed_left_out")}</span>
                })}
                {(s.in_payment_minor > 0).then(|| view! {
                    <span class="hint">" "{tr!(locale, "summary.in_payment_left_out")}</span>
                })}</p>
        })}
        <div class="columns">
            <section class="card"><AgingChart aging=s.aging currency=c/></section>
            <section class="card" aria-labelledby="recent-heading">
                <h2 id="recent-heading">{tr!(locale, "summary.recent")}</h2>
                {if o.recent.is_empty() {
                    view! { <p class="empty">{tr!(locale, "summary.nothing_recent")}</p> }.into_any()
                } else {
                    view! {
                        <ul class="activity">
                            {o.recent.into_iter().map(|line| view! {
                                <li>
                                    <span class="muted">{date(line.date)}</span>" "
                                    <span>{activity_label(&line.kind, locale)}</span>" "
                                    <span class="muted">{line.description}</span>
                                    <span class="num">{money(line.amount_minor, c)}</span>
                                </li>
                            }).collect_view()}
                        </ul>
                    }.into_any()
                }}
            </section>
        </div>
    }
}

/// The account's payment plan on the summary: the next instalment with a link that pays it, or
/// an offer or a request waiting for an answer.
fn plan_notice(locale: Locale, s: &ledgerport::reports::AccountSummary) -> AnyView {
    use ledgerport::plans::PlanStatus;
    let c = s.currency;
    if let Some(plan) = &s.plan {
        let pay_link = plan.next_items.iter().fold(
            format!("/pay?lang={}&", locale.code()),
            |link, (id, minor)| {
                let amount = locale.plain_decimal(*minor, c.exponent());
                format!("{link}invoice={id}&amount={amount}&")
            },
        );
        return view! {
            <p class="notice" data-testid="plan-next">
                {plan.next.map(|next| view! {
                    {tr!(locale, "plan.next", amount = money(next.amount_minor, c), date = date(next.due_date))}" "
                    <a class="button small" href=pay_link.trim_end_matches('&').to_string()>{tr!(locale, "plan.pay_next")}</a>" "
                })}
                {(plan.late_minor > 0).then(|| view! {
                    <strong>{tr!(locale, "plan.late", amount = money(plan.late_minor, c))}" "</strong>
                })}
                <a href="/plan">{tr!(locale, "plan.see")}</a>
            </p>
        }
        .into_any();
    }
    match s.pending_plan {
        Some(PlanStatus::Offered) => view! {
            <p class="notice" data-testid="plan-offered">{tr!(locale, "plan.offered")}" "
                <a href="/plan">{tr!(locale, "plan.see_offer")}</a></p>
        }
        .into_any(),
        Some(PlanStatus::Requested) => view! {
            <p class="notice">{tr!(locale, "plan.requested")}" "
                <a href="/plan">{tr!(locale, "plan.see_request")}</a></p>
        }
        .into_any(),
        _ => ().into_any(),
    }
}

/// The invoice list's state, read from the URL.
#[derive(Clone, PartialEq)]
struct ListState {
    filter: InvoiceFilter,
    search: String,
    sort: InvoiceSort,
    descending: bool,
    page: u32,
}

impl ListState {
    fn href(&self, change: impl FnOnce(&mut ListState)) -> String {
        let mut next = self.clone();
        change(&mut next);
        format!(
            "/invoices?filter={}&q={}&sort={}&dir={}&page={}",
            next.filter.as_str(),
            encode(&next.search),
            next.sort.as_str(),
            if next.descending { "desc" } else { "asc" },
            next.page
        )
    }
}

/// Percent-encodes a query value.
fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            other => format!("%{other:02X}"),
        })
        .collect()
}

#[component]
pub fn InvoicesPage() -> impl IntoView {
    let query = use_query_map();
    let state = Memo::new(move |_| {
        query.with(|q| ListState {
            filter: InvoiceFilter::parse(&q.get("filter").unwrap_or_default()),
            search: q.get("q").unwrap_or_default(),
            sort: InvoiceSort::parse(&q.get("sort").unwrap_or_default()),
            descending: q.get("dir").as_deref() != Some("asc"),
            page: q.get("page").and_then(|p| p.parse().ok()).unwrap_or(1),
        })
    });
    let list = Resource::new(
        move || state.get(),
        |s| {
            invoices(
                s.filter.as_str().to_string(),
                s.search,
                s.sort.as_str().to_string(),
                s.descending,
                s.page,
            )
        },
    );
    let locale = use_locale();
    view! {
        <Title text=tr!(locale, "nav.invoices")/>
        <h1>{tr!(locale, "nav.invoices")}</h1>
        <nav class="tabs" aria-label=tr!(locale, "invoices.status_tabs")>
            {move || {
                let s = state.get();
                InvoiceFilter::ALL.into_iter().map(|f| {
                    let href = s.href(|n| { n.filter = f; n.page = 1; });
                    let current = (f == s.filter).then_some("page");
                    let label = match f {
                        InvoiceFilter::All => tr!(locale, "invoices.all"),
                        InvoiceFilter::Open => InvoiceStatus::Open.label_in(locale).to_string(),
                        InvoiceFilter::Overdue => InvoiceStatus::Overdue.label_in(locale).to_string(),
                        InvoiceFilter::Paid => InvoiceStatus::Paid.label_in(locale).to_string(),
                        InvoiceFilter::Void => InvoiceStatus::Void.label_in(locale).to_string(),
                        InvoiceFilter::InDispute => tr!(locale, "summary.in_dispute"),
                    };
                    view! { <a href=href aria-current=current>{label}</a> }
                }).collect_view()
            }}
        </nav>
        <form method="get" action="/invoices" class="toolbar" role="search">
            <input type="hidden" name="filter" value=move || state.get().filter.as_str()/>
            <label for="q" class="visually-hidden">{tr!(locale, "invoices.search")}</label>
            <input id="q" type="search" name="q" placeholder=tr!(locale, "invoices.search_placeholder") maxlength="100"
                value=move || state.get().search/>
            <label for="sort">{tr!(locale, "invoices.sort_by")}</label>
            <select id="sort" name="sort">
                {move || {
                    let current = state.get().sort;
                    InvoiceSort::ALL.into_iter().map(|s| {
                        let label = match s {
                            InvoiceSort::DueDate => tr!(locale, "invoices.sort.due_date"),
                            InvoiceSort::IssueDate => tr!(locale, "invoices.sort.issue_date"),
                            InvoiceSort::Number => tr!(locale, "invoices.sort.number"),
                            InvoiceSort::Total => tr!(locale, "invoices.sort.total"),
                            InvoiceSort::Open => tr!(locale, "invoices.sort.open"),
                        };
                        view! { <option value=s.as_str() selected=s == current>{label}</option> }
                    }).collect_view()
                }}
            </select>
            <select name="dir" aria-label=tr!(locale, "invoices.order")>
                <option value="desc" selected=move || state.get().descending>{tr!(locale, "invoices.newest_first")}</option>
                <option value="asc" selected=move || !state.get().descending>{tr!(locale, "invoices.oldest_first")}</option>
            </select>
            <button class="button secondary" type="submit">{tr!(locale, "invoices.apply")}</button>
            <a class="button link" href="/documents/invoices.csv" download>{tr!(locale, "invoices.csv")}</a>
        </form>
        <Loaded data=list let:page>
            {invoice_table(page, state.get_untracked()).into_any()}
        </Loaded>
    }
}

fn invoice_table(page: InvoicePage, state: ListState) -> impl IntoView {
    let locale = use_locale();
    let c = page.currency;
    let pages = page.pages();
    if page.rows.is_empty() {
        return view! { <p class="empty" data-testid="no-invoices">{tr!(locale, "invoices.none")}</p> }
            .into_any();
    }
    let prev = (page.page > 1).then(|| state.href(|n| n.page = page.page - 1));
    let next = (page.page < pages).then(|| state.href(|n| n.page = page.page + 1));
    view! {
        <form method="get" action="/pay">
        <div class="table-wrap">
        <table class="table" data-testid="invoices">
            <caption class="visually-hidden">{tr!(locale, "invoices.caption")}</caption>
            <thead><tr>
                <th scope="col"><span class="visually-hidden">{tr!(locale, "invoices.select")}</span></th>
                <th scope="col">{tr!(locale, "invoice.invoice")}</th><th scope="col">{tr!(locale, "invoice.po")}</th><th scope="col">{tr!(locale, "invoice.issued")}</th>
                <th scope="col">{tr!(locale, "invoice.due")}</th><th scope="col" class="num">{tr!(locale, "invoice.total")}</th>
                <th scope="col" class="num">{tr!(locale, "invoice.open")}</th><th scope="col">{tr!(locale, "invoices.status")}</th>
            </tr></thead>
            <tbody>
                {page.rows.into_iter().map(|row| view! {
                    <tr>
                        <td>{(row.open_minor > 0 && row.status != InvoiceStatus::Void).then(|| view! {
                            <input type="checkbox" name="invoice" value=row.id
                                aria-label=tr!(locale, "invoices.select_to_pay", number = row.number.clone())/>
                        })}</td>
                        <td><a href=format!("/invoices/{}", row.id)>{row.number}</a></td>
                        <td>{row.po_number.unwrap_or_default()}</td>
                        <td>{date(row.issue_date)}</td>
                        <td>{date(row.due_date)}</td>
                        <td class="num">{money(row.total_minor, c)}</td>
                        <td class="num">{money(row.open_minor, c)}</td>
                        <td>{status_badge(row.status)}
                            {(row.held_minor > 0).then(|| view! {
                                " "<span class="badge overdue" title=tr!(locale, "invoices.held_title", amount = money(row.held_minor, c))>{tr!(locale, "summary.in_dispute")}</span>
                            })}
                            {(row.announced_minor > 0).then(|| view! {
                                " "<span class="badge" data-testid="transfer-badge" title=tr!(locale, "invoices.transfer_title")>
                                    {tr!(locale, "invoices.transfer_announced", amount = money(row.announced_minor, c))}</span>
                            })}
                            {(row.pending_minor > row.announced_minor).then(|| view! {
                                " "<span class="badge" data-testid="in-payment-badge" title=tr!(locale, "invoices.on_its_way", amount = money(row.pending_minor - row.announced_minor, c))>
                                    {tr!(locale, "invoices.in_payment", amount = money(row.pending_minor - row.announced_minor, c))}</span>
                            })}</td>
                    </tr>
                }).collect_view()}
            </tbody>
        </table>
        </div>
        <button class="button" type="submit">{tr!(locale, "invoices.pay_selected")}</button>
        </form>
        <nav class="pager" aria-label=tr!(locale, "pager.pages")>
            {prev.map(|href| view! { <a href=href rel="prev">{tr!(locale, "pager.previous")}</a> })}
            <span data-testid="page-of">{tr!(locale, "invoices.page_of", page = page.page, pages = pages, count = page.matching)}</span>
            {next.map(|href| view! { <a href=href rel="next">{tr!(locale, "pager.next")}</a> })}
        </nav>
    }
    .into_any()
}

#[component]
pub fn InvoiceDetailPage() -> impl IntoView {
    let id = crate::components::id_param();
    let detail = Resource::new(id, invoice);
    let locale = use_locale();
    view! {
        <Loaded data=detail let:d>
            {{
                        let c = d.currency;
                        let terms = if d.discount_bp > 0 {
                            tr!(locale, "invoice.terms_discount",
                                percent = locale.percent(d.discount_bp),
                                days = d.discount_until.map(|u| (u - d.issue_date).num_days()).unwrap_or(0),
                                net = d.net_days)
                        } else {
                            tr!(locale, "invoice.terms_net", net = d.net_days)
                        };
                        let paid_in_full = d.open_minor == 0 && d.status == InvoiceStatus::Paid;
                        let due = ledgerport::receivables::due_now(d.open_minor, d.held_minor, d.pending_minor);
                        let number = d.number.clone();
                        view! {
                            <Title text=tr!(locale, "invoice.title", number = d.number.clone())/>
                            <div class="heading-row">
                                <h1>{tr!(locale, "invoice.invoice")}" " <span data-testid="invoice-number">{d.number.clone()}</span></h1>
                                {status_badge(d.status)}
                                <a class="button secondary" href=format!("/documents/invoices/{}.pdf", d.id)
                                    download=format!("{number}.pdf")>{tr!(locale, "invoice.download_pdf")}</a>
                                {(due > 0 && d.status != InvoiceStatus::Void).then(|| view! {
                                    <a class="button" href=format!("/pay?invoice={}", d.id)>
                                        {if d.held_minor > 0 { tr!(locale, "invoice.pay_undisputed") } else if d.pending_minor > 0 { tr!(locale, "invoice.pay_rest") } else { tr!(locale, "invoice.pay") }}</a>
                                    <a class="button secondary" href=format!("/invoices/{}/dispute", d.id)>{tr!(locale, "invoice.dispute_lines")}</a>
                                })}
                            </div>
                            <dl class="facts inline">
                                <dt>{tr!(locale, "invoice.issued")}</dt><dd>{date(d.issue_date)}</dd>
                                <dt>{tr!(locale, "invoice.due")}</dt><dd>{date(d.due_date)}</dd>
                                <dt>{tr!(locale, "invoice.terms")}</dt><dd>{terms}</dd>
                                <dt>{tr!(locale, "invoice.po")}</dt><dd>{d.po_number.clone().unwrap_or_else(|| "—".into())}</dd>
                                {d.discount_until.filter(|_| !paid_in_full).map(|until| view! {
                                    <dt>{tr!(locale, "invoice.early_discount")}</dt><dd>{tr!(locale, "invoice.until", date = date(until))}</dd>
                                })}
                            </dl>
                            <div class="table-wrap">
                            <table class="table" data-testid="lines">
                                <caption class="visually-hidden">{tr!(locale, "invoice.lines")}</caption>
                                <thead><tr>
                                    <th scope="col">"#"</th><th scope="col">{tr!(locale, "invoice.description")}</th>
                                    <th scope="col" class="num">{tr!(locale, "invoice.quantity")}</th><th scope="col" class="num">{tr!(locale, "invoice.unit_price")}</th>
                                    <th scope="col" class="num">{tr!(locale, "invoice.discount")}</th><th scope="col" class="num">{tr!(locale, "invoice.tax")}</th>
                                    <th scope="col" class="num">{tr!(locale, "invoice.net")}</th>
                                </tr></thead>
                                <tbody>
                                    {d.lines.iter().map(|l| view! {
                                        <tr>
                                            <td>{l.line_no}</td>
                                            <td>{l.description.clone()}</td>
                                            <td class="num">{locale.number_trimmed(l.quantity_milli, 3)}</td>
                                            <td class="num">{money(l.unit_price_minor, c)}</td>
                                            <td class="num">{if l.discount_bp > 0 { locale.percent(l.discount_bp) } else { "—".into() }}</td>
                                            <td class="num">{money(l.tax_minor, c)}</td>
                                            <td class="num">{money(l.net_minor, c)}</td>
                                        </tr>
                                    }).collect_view()}
                                </tbody>
                                <tfoot>
                                    <tr><th scope="row" colspan="6">{tr!(locale, "invoice.subtotal")}</th><td class="num">{money(d.subtotal_minor, c)}</td></tr>
                                    <tr><th scope="row" colspan="6">{tr!(locale, "invoice.tax")}</th><td class="num">{money(d.tax_minor, c)}</td></tr>
                                    <tr><th scope="row" colspan="6">{tr!(locale, "invoice.total")}</th><td class="num" data-testid="total">{money(d.total_minor, c)}</td></tr>
                                    <tr><th scope="row" colspan="6">{tr!(locale, "invoice.open")}</th><td class="num strong" data-testid="open">{money(d.open_minor, c)}</td></tr>
                                    {(d.held_minor > 0).then(|| view! {
                                        <tr><th scope="row" colspan="6">{tr!(locale, "invoice.held")}</th><td class="num" data-testid="held">{money(d.held_minor, c)}</td></tr>
                                    })}
                                    {d.in_progress.iter().map(|p| {
                                        let what = match (p.status, p.method, p.expected_on) {
                                            (CheckoutStatus::Processing, Some(PaymentMethod::Wire), Some(on)) =>
                                                tr!(locale, "invoice.transfer_awaited", date = date(on)),
                                            (CheckoutStatus::Processing, Some(PaymentMethod::Wire), None) =>
                                                tr!(locale, "invoice.transfer_announced"),
                                            (CheckoutStatus::Processing, Some(method), Some(on)) =>
                                                tr!(locale, "invoice.processing_expected", method = method.label_in(locale), date = date(on)),
                                            (CheckoutStatus::Processing, Some(method), None) =>
                                                tr!(locale, "invoice.processing", method = method.label_in(locale)),
                                            _ => tr!(locale, "invoice.on_payment_page"),
                                        };
                                        view! {
                                            <tr data-testid="in-progress"><th scope="row" colspan="6">
                                                <a href=format!("/payments/checkout/{}", p.checkout_id)>{what}</a></th>
                                                <td class="num">{money(p.amount_minor, c)}</td></tr>
                                        }
                                    }).collect_view()}
                                    {(d.held_minor > 0 || d.pending_minor > 0).then(|| view! {
                                        <tr><th scope="row" colspan="6">{tr!(locale, "invoice.due_now")}</th><td class="num strong" data-testid="due-now">{money(due, c)}</td></tr>
                                    })}
                                </tfoot>
                            </table>
                            </div>
                            {(!d.disputes.is_empty()).then(|| view! {
                                <section class="card" aria-labelledby="disputes-heading">
                                    <h2 id="disputes-heading">{tr!(locale, "nav.disputes")}</h2>
                                    <ul class="activity" data-testid="invoice-disputes">
                                        {d.disputes.iter().map(|x| view! {
                                            <li><a href=format!("/disputes/{}", x.id)>{tr!(locale, "invoice.dispute_number", id = x.id)}</a>" "
                                                {crate::disputes::pages::status_badge(x.status)}" "
                                                <span class="num">{money(x.disputed_minor, c)}</span>
                                                {(x.credited_minor > 0).then(|| view! { <span class="muted">" "{tr!(locale, "invoice.credited", amount = money(x.credited_minor, c))}</span> })}
                                            </li>
                                        }).collect_view()}
                                    </ul>
                                </section>
                            })}
                            {invoice_timeline(&d)}
                        }.into_any()
                    }}
        </Loaded>
    }
}

/// What happened to an invoice since it was issued, oldest first.
pub(crate) fn invoice_timeline(d: &InvoiceDetail) -> impl IntoView + use<> {
    let locale = use_locale();
    let c = d.currency;
    let paid_in_full = d.open_minor == 0 && d.status == InvoiceStatus::Paid;
    view! {
        <section class="card" aria-labelledby="timeline-heading">
            <h2 id="timeline-heading">{tr!(locale, "timeline.title")}</h2>
            <ol class="timeline" data-testid="timeline">
                <li><span class="muted">{date(d.issue_date)}</span>" "{tr!(locale, "timeline.issued", amount = money(d.total_minor, c))}</li>
                {d.activity.iter().map(|a| view! {
                    <li>
                        <span class="muted">{date(a.date)}</span>" "
                        {activity_label(&a.kind, locale)}" "
                        <span class="num">{money(-a.amount_minor, c)}</span>
                        " "<span class="muted">{a.description.clone()}</span>
                    </li>
                }).collect_view()}
                {(d.status == InvoiceStatus::Overdue).then(|| view! {
                    <li class="warn">{date(d.due_date)}" "{tr!(locale, "timeline.overdue", amount = money(d.open_minor, c))}</li>
                })}
                {paid_in_full.then(|| view! { <li class="ok">{tr!(locale, "timeline.paid")}</li> })}
            </ol>
        </section>
    }
}

/// Preset statement periods, relative to today.
fn presets(locale: Locale, today: NaiveDate) -> Vec<(String, NaiveDate, NaiveDate)> {
    let first_of_month = today.with_day(1).unwrap_or(today);
    let last_month_end = first_of_month.pred_opt().unwrap_or(first_of_month);
    let last_month_start = last_month_end.with_day(1).unwrap_or(last_month_end);
    let year_start = NaiveDate::from_ymd_opt(today.year(), 1, 1).unwrap_or(today);
    vec![
        (tr!(locale, "statements.this_month"), first_of_month, today),
        (
            tr!(locale, "statements.last_month"),
            last_month_start,
            last_month_end,
        ),
        (tr!(locale, "statements.year_to_date"), year_start, today),
    ]
}

#[component]
pub fn StatementsPage() -> impl IntoView {
    let locale = use_locale();
    let query = use_query_map();
    let today = chrono::Utc::now().date_naive();
    let period = Memo::new(move |_| {
        query.with(|q| {
            let (default_from, default_to) =
                (presets(locale, today)[1].1, presets(locale, today)[1].2);
            (
                q.get("from").unwrap_or_else(|| default_from.to_string()),
                q.get("to").unwrap_or_else(|| default_to.to_string()),
            )
        })
    });
    let statement = Resource::new(
        move || period.get(),
        |(from, to)| account_statement(from, to),
    );
    view! {
        <Title text=tr!(locale, "nav.statements")/>
        <h1>{tr!(locale, "nav.statements")}</h1>
        <nav class="tabs" aria-label=tr!(locale, "statements.period")>
            {presets(locale, today).into_iter().map(|(label, from, to)| {
                let current = move || (period.get() == (from.to_string(), to.to_string())).then_some("page");
                view! { <a href=format!("/statements?from={from}&to={to}") aria-current=current>{label}</a> }
            }).collect_view()}
        </nav>
        <form method="get" action="/statements" class="toolbar">
            <label for="from">{tr!(locale, "statements.from")}</label>
            <input id="from" type="date" name="from" required value=move || period.get().0/>
            <label for="to">{tr!(locale, "statements.to")}</label>
            <input id="to" type="date" name="to" required value=move || period.get().1/>
            <button class="button secondary" type="submit">{tr!(locale, "statements.show")}</button>
            <a class="button link" href=move || { let (f, t) = period.get(); format!("/documents/statement.pdf?from={f}&to={t}") } download>"PDF"</a>
            <a class="button link" href=move || { let (f, t) = period.get(); format!("/documents/statement.csv?from={f}&to={t}") } download>"CSV"</a>
        </form>
        <Loaded data=statement let:s>
            {{
                        let c = s.currency;
                        view! {
                            <section class="card" aria-labelledby="statement-heading" data-testid="statement">
                                <h2 id="statement-heading">{date(s.from)} " – " {date(s.to)}</h2>
                                <div class="table-wrap">
                                <table class="table">
                                    <thead><tr>
                                        <th scope="col">{tr!(locale, "statements.date")}</th><th scope="col">{tr!(locale, "statements.activity")}</th>
                                        <th scope="col">{tr!(locale, "statements.reference")}</th><th scope="col" class="num">{tr!(locale, "statements.amount")}</th>
                                        <th scope="col" class="num">{tr!(locale, "statements.balance")}</th>
                                    </tr></thead>
                                    <tbody>
                                        <tr class="strong"><td>{date(s.from)}</td><td colspan="3">{tr!(locale, "statements.opening")}</td>
                                            <td class="num" data-testid="opening">{money(s.opening_minor, c)}</td></tr>
                                        {s.lines.iter().map(|l| view! {
                                            <tr>
                                                <td>{date(l.date)}</td>
                                                <td>{activity_label(&l.kind, locale)}</td>
                                                <td>{l.description.clone()}</td>
                                                <td class="num">{money(l.amount_minor, c)}</td>
                                                <td class="num">{money(l.balance_minor, c)}</td>
                                            </tr>
                                        }).collect_view()}
                                        <tr class="strong"><td>{date(s.to)}</td><td colspan="3">{tr!(locale, "statements.closing")}</td>
                                            <td class="num" data-testid="closing">{money(s.closing_minor, c)}</td></tr>
                                    </tbody>
                                </table>
                                </div>
                            </section>
                            <section class="card"><AgingChart aging=s.aging currency=c/></section>
                        }.into_any()
                    }}
        </Loaded>
    }
}

#[component]
pub fn PaymentsPage() -> impl IntoView {
    let list = Resource::new(|| (), |_| payments());
    let locale = use_locale();
    view! {
        <Title text=tr!(locale, "nav.payments")/>
        <h1>{tr!(locale, "nav.payments")}</h1>
        <Loaded data=list let:value>
            {match value {
                    rows if rows.is_empty() => view! { <p class="empty">{tr!(locale, "payments.none")}</p> }.into_any(),
                    rows => view! {
                        <div class="table-wrap">
                        <table class="table" data-testid="payments">
                            <thead><tr>
                                <th scope="col">{tr!(locale, "payment.received")}</th><th scope="col">{tr!(locale, "payment.method")}</th>
                                <th scope="col" class="num">{tr!(locale, "statements.amount")}</th><th scope="col">{tr!(locale, "payment.applied_to")}</th>
                            </tr></thead>
                            <tbody>
                                {rows.into_iter().map(|p| { let c = p.currency; view! {
                                    <tr>
                                        <td><a href=format!("/payments/{}", p.id)>{date(p.received_date)}</a></td>
                                        <td>{method_label(&p.method)}
                                            {p.returned.map(|why| view! { " "<span class="badge overdue" title=why>{tr!(locale, "payment.returned_badge")}</span> })}</td>
                                        <td class="num">{money(p.amount_minor, c)}</td>
                                        <td>{p.applied.into_iter().map(|a| a.invoice_number).collect::<Vec<_>>().join(", ")}</td>
                                    </tr>
                                }}).collect_view()}
                            </tbody>
                        </table>
                        </div>
                    }.into_any(),
                }}
        </Loaded>
    }
}

#[component]
pub fn ReceiptPage() -> impl IntoView {
    let id = crate::components::id_param();
    let receipt = Resource::new(id, payment);
    let locale = use_locale();
    view! {
        <Title text=tr!(locale, "payment.receipt")/>
        <Loaded data=receipt let:p>
            {{ let c = p.currency; view! {
                        <section class="card narrow" data-testid="receipt">
                            <h1>{tr!(locale, "payment.receipt")}</h1>
                            <dl class="facts">
                                <dt>{tr!(locale, "payment.received")}</dt><dd>{date(p.received_date)}</dd>
                                <dt>{tr!(locale, "payment.method")}</dt><dd>{method_label(&p.method)}</dd>
                                <dt>{tr!(locale, "statements.reference")}</dt><dd>{p.reference}</dd>
                                <dt>{tr!(locale, "statements.amount")}</dt><dd>{money(p.amount_minor, c)}</dd>
                            </dl>
                            {p.returned.map(|why| view! {
                                <p class="error" role="alert" data-testid="returned">
                                    {tr!(locale, "payment.returned", reason = why)}</p>
                            })}
                            <p><a class="button secondary" href=format!("/documents/payments/{}.pdf", p.id)
                                download>{tr!(locale, "payment.download_receipt")}</a></p>
                            <h2>{tr!(locale, "payment.applied_to")}</h2>
                            <ul>
                                {p.applied.into_iter().map(|a| view! {
                                    <li><a href=format!("/invoices/{}", a.invoice_id)>{a.invoice_number}</a>": "
                                        {money(a.amount_minor, c)}
                                        {(a.discount_minor > 0).then(|| format!(" {}", tr!(locale, "payment.plus_discount", amount = money(a.discount_minor, c))))}
                                    </li>
                                }).collect_view()}
                                {(p.unapplied_minor > 0).then(|| view! {
                                    <li>{tr!(locale, "payment.credit", amount = money(p.unapplied_minor, c))}</li>
                                })}
                            </ul>
                        </section>
                    }.into_any() }}
        </Loaded>
    }
}
