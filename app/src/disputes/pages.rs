//! Disputes: the customer's form and list, the dispute page both sides share, and the staff
//! queue. Every change is a plain form post (see the server's `disputes` module), so these pages
//! work the same with JavaScript off.

use ledgerport::disputes::{
    DisputeAction, DisputeReason, DisputeRow, DisputeStatus, Side, ThreadItem,
};
use ledgerport::money::Currency;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use crate::components::{Loaded, id_param};
use crate::disputes::{DisputePage, dispute, dispute_form_for, dispute_queue, my_disputes};
use crate::format::{age, money, timestamp};
use crate::i18n::{tr, use_locale};

pub fn status_badge(status: DisputeStatus) -> impl IntoView {
    let class = match status {
        DisputeStatus::Open | DisputeStatus::InReview => "badge overdue",
        DisputeStatus::Proposed => "badge open",
        DisputeStatus::Credited => "badge paid",
        DisputeStatus::Rejected | DisputeStatus::Withdrawn => "badge void",
    };
    view! { <span class=class data-testid="dispute-status">{status.label_in(use_locale())}</span> }
}

/// The reason a form post was refused, carried back in the URL.
fn refusal() -> impl Fn() -> Option<String> + Copy {
    let query = use_query_map();
    move || query.with(|q| q.get("error"))
}

/// An amount as a form field shows it, in the page's language (`1234,50` in German).
fn plain_amount(minor: i64, currency: Currency) -> String {
    use_locale().plain_decimal(minor, currency.exponent())
}

/// `/invoices/:id/dispute`: choose lines, a reason and an amount for each, explain, attach.
#[component]
pub fn DisputeNewPage() -> impl IntoView {
    let id = id_param();
    let form = Resource::new(id, dispute_form_for);
    let error = refusal();
    let locale = use_locale();
    view! {
        <Title text=tr!(locale, "dispute.new_title")/>
        <Loaded data=form let:f>
            {{
                        let c = f.currency;
                        view! {
                            <div class="heading-row">
                                <h1>{tr!(locale, "dispute.new_heading", number = f.number.clone())}</h1>
                                <a class="button secondary" href=format!("/invoices/{}", f.invoice_id)>{tr!(locale, "dispute.back_to_invoice")}</a>
                            </div>
                            <p class="hint">{tr!(locale, "dispute.new_hint", amount = money(f.disputable_minor, c))}</p>
                            {move || error().map(|e| view! { <p class="error" role="alert" data-testid="form-error">{e}</p> })}
                            <form class="form wide" method="post" action="/disputes/new" enctype="multipart/form-data">
                                <input type="hidden" name="invoice_id" value=f.invoice_id.to_string()/>
                                <div class="table-wrap">
                                <table class="table" data-testid="dispute-lines">
                                    <caption class="visually-hidden">{tr!(locale, "dispute.lines_to_dispute")}</caption>
                                    <thead><tr>
                                        <th scope="col">{tr!(locale, "dispute.dispute")}</th><th scope="col">"#"</th>
                                        <th scope="col">{tr!(locale, "invoice.description")}</th><th scope="col" class="num">{tr!(locale, "dispute.line_total")}</th>
                                        <th scope="col">{tr!(locale, "dispute.reason")}</th><th scope="col" class="num">{tr!(locale, "dispute.amount_disputed")}</th>
                                    </tr></thead>
                                    <tbody>
                                        {f.lines.iter().map(|l| {
                                            let id = l.invoice_line_id;
                                            let open = l.disputable_minor > 0;
                                            view! {
                                                <tr>
                                                    <td><input type="checkbox" name="line" value=id.to_string()
                                                        id=format!("line-{id}") disabled=!open
                                                        aria-label=tr!(locale, "dispute.dispute_line", line = l.line_no)/></td>
                                                    <td>{l.line_no}</td>
                                                    <td><label for=format!("line-{id}")>{l.description.clone()}</label></td>
                                                    <td class="num">{money(l.line_total_minor, c)}</td>
                                                    <td>
                                                        <select name=format!("reason_{id}") aria-label=tr!(locale, "dispute.reason_for_line", line = l.line_no) disabled=!open>
                                                            {DisputeReason::ALL.iter().map(|r| view! {
                                                                <option value=r.as_str()>{r.label_in(locale)}</option>
                                                            }).collect_view()}
                                                        </select>
                                                    </td>
                                                    <td class="num">
                                                        {if open {
                                                            view! {
                                                                <input class="amount" name=format!("amount_{id}") inputmode="decimal"
                                                                    value=plain_amount(l.disputable_minor, c)
                                                                    aria-label=tr!(locale, "dispute.amount_on_line", line = l.line_no)/>
                                                            }.into_any()
                                                        } else {
                                                            view! { <span class="muted">{tr!(locale, "dispute.nothing_left")}</span> }.into_any()
                                                        }}
                                                    </td>
                                                </tr>
                                            }
                                        }).collect_view()}
                                    </tbody>
                                </table>
                                </div>
                                <label for="message">{tr!(locale, "dispute.what_is_wrong")}</label>
                                <textarea id="message" name="message" rows="4" required maxlength="4000"></textarea>
                                <label for="attachment">{tr!(locale, "dispute.evidence")}</label>
                                <input id="attachment" type="file" name="attachment" multiple
                                    accept=".pdf,.png,.jpg,.jpeg,application/pdf,image/png,image/jpeg"/>
                                <p class="hint">{tr!(locale, "dispute.file_types")}</p>
                                <button class="button" type="submit">{tr!(locale, "dispute.send")}</button>
                            </form>
                        }.into_any()
                    }}
        </Loaded>
    }
}

/// `/disputes`: the account's disputes, newest first.
#[component]
pub fn DisputesPage() -> impl IntoView {
    let rows = Resource::new(|| (), |_| my_disputes());
    let locale = use_locale();
    view! {
        <Title text=tr!(locale, "nav.disputes")/>
        <h1>{tr!(locale, "nav.disputes")}</h1>
        <Loaded data=rows let:value>
            {match value {
                    rows if rows.is_empty() => view! {
                        <p class="muted">{tr!(locale, "dispute.none")}" "<q>{tr!(locale, "invoice.dispute_lines")}</q>"."</p>
                    }.into_any(),
                    rows => dispute_table(rows, false, None).into_any(),
                }}
        </Loaded>
    }
}

fn dispute_table(rows: Vec<DisputeRow>, staff: bool, now: Option<String>) -> impl IntoView {
    let locale = use_locale();
    view! {
        <div class="table-wrap">
        <table class="table" data-testid="disputes">
            <caption class="visually-hidden">{tr!(locale, "nav.disputes")}</caption>
            <thead><tr>
                <th scope="col">{tr!(locale, "dispute.dispute")}</th>
                {staff.then(|| view! { <th scope="col">"Customer"</th> })}
                <th scope="col">{tr!(locale, "invoice.invoice")}</th><th scope="col">{tr!(locale, "invoices.status")}</th>
                <th scope="col" class="num">{tr!(locale, "dispute.disputed")}</th><th scope="col" class="num">{tr!(locale, "dispute.credited")}</th>
                {staff.then(|| view! {
                    <th scope="col">"Assignee"</th><th scope="col">"Age"</th><th scope="col">"Customer's last message"</th>
                })}
                {(!staff).then(|| view! { <th scope="col">{tr!(locale, "dispute.opened")}</th> })}
            </tr></thead>
            <tbody>
                {rows.into_iter().map(|r| {
                    let href = if staff { format!("/admin/disputes/{}", r.id) } else { format!("/disputes/{}", r.id) };
                    let now = now.clone().unwrap_or_default();
                    view! {
                        <tr>
                            <td><a href=href>"#"{r.id}</a></td>
                            {staff.then(|| view! { <td>{r.customer_name.clone()}</td> })}
                            <td>{r.invoice_number.clone()}</td>
                            <td>{status_badge(r.status)}</td>
                            <td class="num">{money(r.disputed_minor, r.currency)}</td>
                            <td class="num">{money(r.credited_minor, r.currency)}</td>
                            {staff.then(|| view! {
                                <td>{r.assignee.clone().unwrap_or_else(|| "—".into())}</td>
                                <td>{age(&r.opened_at, &now)}</td>
                                <td>{age(&r.last_customer_message_at, &now)}" ago"</td>
                            })}
                            {(!staff).then(|| view! { <td>{timestamp(&r.opened_at)}</td> })}
                        </tr>
                    }
                }).collect_view()}
            </tbody>
        </table>
        </div>
    }
}

/// `/disputes/:id` and `/admin/disputes/:id`: the dispute, its lines, the thread, and what the
/// viewer may do next.
#[component]
pub fn DisputeDetailPage() -> impl IntoView {
    let id = id_param();
    let admin = leptos_router::hooks::use_location()
        .pathname
        .get_untracked()
        .starts_with("/admin/");
    let page = Resource::new(id, move |id| dispute(id, admin));
    let error = refusal();
    view! {
        <Loaded data=page let:page>
            {dispute_view(page, error).into_any()}
        </Loaded>
    }
}

fn dispute_view(
    page: DisputePage,
    error: impl Fn() -> Option<String> + Copy + Send + 'static,
) -> impl IntoView {
    let staff = page.staff_view;
    let d = page.detail;
    let r = d.row.clone();
    let c = r.currency;
    let id = r.id;
    let back = if staff {
        "/admin/disputes".to_string()
    } else {
        "/disputes".to_string()
    };
    let invoice_link = if staff {
        format!("/admin/customers/{}", r.customer_id)
    } else {
        format!("/invoices/{}", r.invoice_id)
    };
    let can = |a: DisputeAction| d.actions.contains(&a);
    let (propose, credit, reject, start) = (
        can(DisputeAction::Propose),
        can(DisputeAction::Credit),
        can(DisputeAction::Reject),
        can(DisputeAction::StartReview),
    );
    let (accept, decline, withdraw, reopen) = (
        can(DisputeAction::AcceptProposal),
        can(DisputeAction::DeclineProposal),
        can(DisputeAction::Withdraw),
        can(DisputeAction::Reopen),
    );
    let lines = d.lines.clone();
    let open = r.status.holds();
    let locale = use_locale();
    view! {
        <Title text=tr!(locale, "invoice.dispute_number", id = id)/>
        <div class="heading-row">
            <h1>{tr!(locale, "invoice.dispute_number", id = id)}</h1>
            {status_badge(r.status)}
            <a class="button secondary" href=back>{tr!(locale, "dispute.all")}</a>
        </div>
        {move || error().map(|e| view! { <p class="error" role="alert" data-testid="form-error">{e}</p> })}
        <dl class="facts inline">
            <dt>{tr!(locale, "invoice.invoice")}</dt><dd><a href=invoice_link>{r.invoice_number.clone()}</a></dd>
            {staff.then(|| view! { <dt>"Customer"</dt><dd>{r.customer_name.clone()}</dd> })}
            <dt>{tr!(locale, "dispute.disputed")}</dt><dd data-testid="disputed">{money(r.disputed_minor, c)}</dd>
            <dt>{tr!(locale, "dispute.credited")}</dt><dd data-testid="credited">{money(r.credited_minor, c)}</dd>
            <dt>{tr!(locale, "dispute.opened")}</dt><dd>{timestamp(&r.opened_at)}</dd>
            {staff.then(|| view! {
                <dt>"Waiting since"</dt><dd>{timestamp(&r.last_customer_message_at)}" (customer's last message)"</dd>
                <dt>"Assignee"</dt><dd>{r.assignee.clone().unwrap_or_else(|| "Nobody yet".into())}</dd>
            })}
        </dl>
        <div class="table-wrap">
        <table class="table" data-testid="disputed-lines">
            <caption class="visually-hidden">{tr!(locale, "dispute.disputed_lines")}</caption>
            <thead><tr>
                <th scope="col">"#"</th><th scope="col">{tr!(locale, "invoice.description")}</th><th scope="col">{tr!(locale, "dispute.reason")}</th>
                <th scope="col" class="num">{tr!(locale, "dispute.line_total")}</th><th scope="col" class="num">{tr!(locale, "dispute.disputed")}</th>
                <th scope="col" class="num">{tr!(locale, "dispute.proposed_credit")}</th>
            </tr></thead>
            <tbody>
                {lines.iter().map(|l| view! {
                    <tr>
                        <td>{l.line_no}</td><td>{l.description.clone()}</td><td>{l.reason.label_in(locale)}</td>
                        <td class="num">{money(l.line_total_minor, c)}</td>
                        <td class="num">{money(l.amount_minor, c)}</td>
                        <td class="num">{if l.proposed_minor > 0 { money(l.proposed_minor, c) } else { "—".into() }}</td>
                    </tr>
                }).collect_view()}
            </tbody>
        </table>
        </div>
        {(accept || decline).then(|| view! {
            <section class="card" aria-labelledby="proposal-heading" data-testid="proposal">
                <h2 id="proposal-heading">{tr!(locale, "dispute.proposal", amount = money(d.proposed_minor, c))}</h2>
                <p class="hint">{tr!(locale, "dispute.proposal_hint")}</p>
                <div class="actions">
                    {accept.then(|| action_form(id, DisputeAction::AcceptProposal, tr!(locale, "dispute.accept"), false, false))}
                    {decline.then(|| action_form(id, DisputeAction::DeclineProposal, tr!(locale, "dispute.decline"), true, false))}
                </div>
            </section>
        })}
        {staff.then(|| staff_panel(id, page.staff.clone(), d.assignee_id, lines.clone(), c, (propose, credit, reject, start)))}
        <section class="card" aria-labelledby="thread-heading">
            <h2 id="thread-heading">{tr!(locale, "dispute.conversation")}</h2>
            <ol class="thread" data-testid="thread">
                {d.thread.into_iter().map(|item| thread_item(id, item)).collect_view()}
            </ol>
            <span id="thread-end"></span>
            {(page.can_write && (open || staff)).then(|| view! {
                <form class="form wide" method="post" action=format!("/disputes/{id}/messages") enctype="multipart/form-data">
                    <label for="body">{if staff { "Reply or note".to_string() } else { tr!(locale, "dispute.write") }}</label>
                    <textarea id="body" name="body" rows="3" required maxlength="4000"></textarea>
                    <label for="message-attachment">{tr!(locale, "dispute.attach")}</label>
                    <input id="message-attachment" type="file" name="attachment" multiple
                        accept=".pdf,.png,.jpg,.jpeg,application/pdf,image/png,image/jpeg"/>
                    {staff.then(|| view! {
                        <label class="check"><input type="checkbox" name="internal" value="on"/>" Internal note (the customer never sees it)"</label>
                    })}
                    <button class="button" type="submit">{if staff { "Post".to_string() } else { tr!(locale, "dispute.send_message") }}</button>
                </form>
            })}
        </section>
        {(withdraw || reopen).then(|| view! {
            <section class="card" aria-labelledby="manage-heading">
                <h2 id="manage-heading">{if withdraw { tr!(locale, "dispute.withdraw") } else { tr!(locale, "dispute.reopen") }}</h2>
                <p class="hint">{if withdraw {
                    tr!(locale, "dispute.withdraw_hint")
                } else {
                    tr!(locale, "dispute.reopen_hint")
                }}</p>
                {withdraw.then(|| action_form(id, DisputeAction::Withdraw, tr!(locale, "dispute.withdraw"), false, true))}
                {reopen.then(|| action_form(id, DisputeAction::Reopen, tr!(locale, "dispute.reopen"), true, false))}
            </section>
        })}
    }
}

/// One button (with an optional note) that posts an action.
fn action_form(
    id: i64,
    action: DisputeAction,
    label: String,
    note: bool,
    danger: bool,
) -> impl IntoView {
    let locale = use_locale();
    let note_id = format!("note-{}", action.as_str());
    view! {
        <form class="form inline-form" method="post" action=format!("/disputes/{id}/act")>
            <input type="hidden" name="action" value=action.as_str()/>
            {note.then(|| view! {
                <label for=note_id.clone()>{tr!(locale, "dispute.note")}</label>
                <input id=note_id.clone() name="note" maxlength="1000"/>
            })}
            <button class=if danger { "button danger" } else { "button" } type="submit">{label}</button>
        </form>
    }
}

fn staff_panel(
    id: i64,
    staff: Vec<(i64, String)>,
    assignee: Option<i64>,
    lines: Vec<ledgerport::disputes::DisputeLineView>,
    c: Currency,
    (propose, credit, reject, start): (bool, bool, bool, bool),
) -> impl IntoView {
    view! {
        <section class="card" aria-labelledby="work-heading" data-testid="staff-panel">
            <h2 id="work-heading">"Work the dispute"</h2>
            <form class="form inline-form" method="post" action=format!("/disputes/{id}/assign")>
                <label for="assignee">"Assignee"</label>
                <select id="assignee" name="assignee">
                    <option value="" selected=assignee.is_none()>"Nobody"</option>
                    {staff.into_iter().map(|(user, name)| view! {
                        <option value=user.to_string() selected=assignee == Some(user)>{name}</option>
                    }).collect_view()}
                </select>
                <button class="button secondary" type="submit">"Assign"</button>
            </form>
            {start.then(|| action_form(id, DisputeAction::StartReview, "Start the review (assigns it to me)".into(), false, false))}
            {(propose || credit).then(|| view! {
                <form class="form wide" method="post" action=format!("/disputes/{id}/act") data-testid="resolve-form">
                    <h3>"Credit"</h3>
                    <p class="hint">"Credit per line, up to what is disputed on it. Propose it to the customer, or credit now."</p>
                    {lines.iter().map(|l| {
                        let field = format!("credit-{}", l.invoice_line_id);
                        view! {
                            <label for=field.clone()>"Line "{l.line_no}": "{l.description.clone()}" (disputed "{money(l.amount_minor, c)}")"</label>
                            <input id=field name=format!("credit_{}", l.invoice_line_id) inputmode="decimal"
                                value=plain_amount(if l.proposed_minor > 0 { l.proposed_minor } else { l.amount_minor }, c)/>
                        }
                    }).collect_view()}
                    <label for="resolve-note">"Note to the customer"</label>
                    <input id="resolve-note" name="note" maxlength="1000"/>
                    <div class="actions">
                        {propose.then(|| view! { <button class="button" type="submit" name="action" value="propose">"Propose this credit"</button> })}
                        {credit.then(|| view! { <button class="button secondary" type="submit" name="action" value="credit">"Credit now"</button> })}
                    </div>
                </form>
            })}
            {reject.then(|| view! {
                <form class="form wide" method="post" action=format!("/disputes/{id}/act")>
                    <h3>"Reject"</h3>
                    <input type="hidden" name="action" value="reject"/>
                    <label for="reject-note">"Explanation for the customer (required)"</label>
                    <input id="reject-note" name="note" required maxlength="1000"/>
                    <button class="button danger" type="submit">"Reject the dispute"</button>
                </form>
            })}
        </section>
    }
}

fn thread_item(dispute_id: i64, item: ThreadItem) -> impl IntoView {
    match item {
        ThreadItem::Message {
            author,
            side,
            internal,
            body,
            at,
            attachments,
            ..
        } => {
            let class = match (side, internal) {
                (_, true) => "message internal",
                (Side::Customer, _) => "message customer",
                (Side::Staff, _) => "message staff",
            };
            view! {
                <li class=class>
                    <p class="meta"><strong>{author}</strong>" · "{timestamp(&at)}
                        {internal.then(|| view! { " · "<span class="badge void">"Internal note"</span> })}</p>
                    <p class="body">{body}</p>
                    {(!attachments.is_empty()).then(|| view! {
                        <ul class="attachments">
                            {attachments.into_iter().map(|a| view! {
                                <li><a href=format!("/documents/disputes/{dispute_id}/attachments/{}", a.id) download=a.file_name.clone()>
                                    {a.file_name.clone()}</a>" "<span class="muted">{format!("({} KB)", (a.size_bytes + 1023) / 1024)}</span></li>
                            }).collect_view()}
                        </ul>
                    })}
                </li>
            }.into_any()
        }
        ThreadItem::Transition {
            to,
            actor,
            note,
            at,
            ..
        } => view! {
            <li class="event">
                <p class="meta">{timestamp(&at)}" · "{actor}" · "<strong>{to.label()}</strong></p>
                {(!note.is_empty()).then(|| view! { <p class="body">{note}</p> })}
            </li>
        }
        .into_any(),
    }
}

/// `/admin/disputes`: the queue with its filters (all in the URL), counts and total.
#[component]
pub fn AdminDisputesPage() -> impl IntoView {
    let query = use_query_map();
    let filters = move || {
        query.with(|q| {
            (
                q.get("status").unwrap_or_default(),
                q.get("customer").and_then(|c| c.parse::<i64>().ok()),
                q.get("assignee").unwrap_or_default(),
                q.get("min").and_then(|m| m.parse::<i64>().ok()),
                q.get("age").and_then(|a| a.parse::<i64>().ok()),
                q.get("sort").unwrap_or_default(),
            )
        })
    };
    let queue = Resource::new(filters, |(status, customer, assignee, min, age, sort)| {
        dispute_queue(status, customer, assignee, min, age, sort)
    });
    view! {
        <Title text="Dispute queue"/>
        <h1>"Dispute queue"</h1>
        <Loaded data=queue let:q>
            {let (status, customer, assignee, min, age_days, sort) = filters(); view! {
                        <div class="figures" data-testid="queue-counts">
                            {[DisputeStatus::Open, DisputeStatus::InReview, DisputeStatus::Proposed].into_iter().map(|s| {
                                let n = q.counts.iter().find(|(c, _)| *c == s).map_or(0, |(_, n)| *n);
                                view! { <div class="figure"><span class="label">{s.label()}</span><span class="value">{n}</span></div> }
                            }).collect_view()}
                            <div class="figure"><span class="label">"Disputed in this list"</span>
                                <span class="value small" data-testid="queue-total">{
                                    if q.total_disputed.is_empty() { "—".to_string() } else {
                                        q.total_disputed.iter().map(|(c, m)| money(*m, *c)).collect::<Vec<_>>().join(" · ")
                                    }
                                }</span></div>
                        </div>
                        <form class="filters" method="get" action="/admin/disputes">
                            <label>"Status "<select name="status">
                                <option value="" selected=status.is_empty()>"Active"</option>
                                <option value="all" selected=status == "all">"All"</option>
                                {DisputeStatus::ALL.into_iter().map(|s| view! {
                                    <option value=s.as_str() selected=status == s.as_str()>{s.label()}</option>
                                }).collect_view()}
                            </select></label>
                            <label>"Customer "<select name="customer">
                                <option value="" selected=customer.is_none()>"Any"</option>
                                {q.customers.iter().map(|(id, name)| view! {
                                    <option value=id.to_string() selected=customer == Some(*id)>{name.clone()}</option>
                                }).collect_view()}
                            </select></label>
                            <label>"Assignee "<select name="assignee">
                                <option value="" selected=assignee.is_empty()>"Anyone"</option>
                                <option value="me" selected=assignee == "me">"Me"</option>
                                <option value="unassigned" selected=assignee == "unassigned">"Nobody"</option>
                                {q.staff.iter().map(|(id, name)| view! {
                                    <option value=id.to_string() selected=assignee == id.to_string()>{name.clone()}</option>
                                }).collect_view()}
                            </select></label>
                            <label>"At least "<input name="min" inputmode="numeric" size="6" value=min.map(|m| m.to_string()).unwrap_or_default()/></label>
                            <label>"Older than (days) "<input name="age" inputmode="numeric" size="4" value=age_days.map(|a| a.to_string()).unwrap_or_default()/></label>
                            <label>"Sort "<select name="sort">
                                {[("oldest", "Oldest first"), ("newest", "Newest first"), ("amount", "Largest amount"), ("message", "Latest customer message")]
                                    .into_iter().map(|(value, label)| view! {
                                        <option value=value selected=sort == value || (sort.is_empty() && value == "oldest")>{label}</option>
                                    }).collect_view()}
                            </select></label>
                            <button class="button secondary" type="submit">"Filter"</button>
                        </form>
                        {if q.rows.is_empty() {
                            view! { <p class="muted">"No disputes match."</p> }.into_any()
                        } else {
                            dispute_table(q.rows, true, Some(q.now)).into_any()
                        }}
                    }.into_any()}
        </Loaded>
    }
}
