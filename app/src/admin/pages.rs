//! Staff pages: customers and contacts (invitations, roles, revocation), an invoice with its
//! credit memo form, and the outbox.

use ledgerport::invoices::views::InvoiceStatus;
use ledgerport::payments::PaymentMethod;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use crate::admin::{
    ApplyAccountCredit, ChangeRole, CreateCustomer, CreateInvoice, CustomerLines, InviteContact,
    IssueCreditMemo, RecordOfflinePayment, ResetTwoFactor, RevokeAccess, UpdateCustomer,
    VoidInvoice, customer_contacts, customer_invoices, customer_profile, customers, outbox,
    staff_invoice,
};
use crate::autopay::RunAutopay;
use crate::components::{
    FormError, Loaded, form_error, form_succeeded, island_form_error, posted_error,
};
use crate::integrations::RunReminders;

#[component]
pub fn AdminHomePage() -> impl IntoView {
    let create = ServerAction::<CreateCustomer>::new();
    let create_error = form_error(create);
    let query = use_query_map();
    let search = move || query.with(|q| q.get("q").unwrap_or_default());
    let after = move || query.with(|q| q.get("after").unwrap_or_default());
    let list = Resource::new(
        move || (search(), after()),
        |(search, after)| customers(search, after),
    );
    view! {
        <Title text="Customers"/>
        <section class="card" aria-labelledby="customers-heading">
            <h1 id="customers-heading">"Customers"</h1>
            <form class="filters" method="get" action="/admin" role="search">
                <label>"Number or name "<input type="search" name="q" maxlength="100" value=search/></label>
                <button class="button secondary" type="submit">"Search"</button>
            </form>
            <p class="hint">"Largest open balance first."</p>
            <Loaded data=list let:page>
                {customer_table(
                    page,
                    query.with_untracked(|q| q.get("q").unwrap_or_default()),
                    query.with_untracked(|q| q.get("after").is_some_and(|a| !a.is_empty())),
                )}
            </Loaded>
        </section>
        <section class="card narrow" aria-labelledby="new-customer-heading">
            <h2 id="new-customer-heading">"Open a customer account"</h2>
            <ActionForm action=create attr:class="form">
                <label for="c-number">"Customer number"</label>
                <input id="c-number" name="number" required maxlength="32" placeholder="C-2001"/>
                <label for="c-name">"Name"</label>
                <input id="c-name" name="name" required maxlength="200"/>
                <label for="c-currency">"Currency"</label>
                <select id="c-currency" name="currency">
                    {ledgerport::money::Currency::ALL.into_iter().map(|c| view! {
                        <option value=c.code()>{c.code()}</option>
                    }).collect_view()}
                </select>
                <label for="c-net">"Net days"</label>
                <input id="c-net" name="net_days" inputmode="numeric" value="30" required/>
                <label for="c-discount">"Early-payment discount (%)"</label>
                <input id="c-discount" name="discount_percent" inputmode="decimal" placeholder="e.g. 2 for 2/10 net 30"/>
                <label for="c-discount-days">"Discount window (days)"</label>
                <input id="c-discount-days" name="discount_days" inputmode="numeric" placeholder="e.g. 10"/>
                <label for="c-limit">"Credit limit"</label>
                <input id="c-limit" name="credit_limit" inputmode="decimal" placeholder="0.00"/>
                <FormError message=Signal::derive(create_error)/>
                <button class="button" type="submit">"Open the account"</button>
            </ActionForm>
        </section>
    }
}

/// One page of the staff list, with the way to the next page (and back to the first).
fn customer_table(page: CustomerLines, search: String, deeper: bool) -> AnyView {
    let back = deeper.then(|| view! { <a href="/admin">"← Largest balances"</a> });
    let next = page.next.map(|after| {
        view! {
            <form method="get" action="/admin" class="inline">
                <input type="hidden" name="q" value=search.clone()/>
                <input type="hidden" name="after" value=after/>
                <button class="button small secondary" type="submit">"Next 50 accounts →"</button>
            </form>
        }
    });
    if page.rows.is_empty() {
        let empty = if search.is_empty() && !deeper {
            "No customers yet."
        } else {
            "No matching accounts."
        };
        return view! { <p class="empty">{empty}</p> {back} }.into_any();
    }
    view! {
        <div class="table-wrap">
        <table class="table" data-testid="customers">
            <thead><tr><th scope="col">"Number"</th><th scope="col">"Name"</th><th scope="col">"Currency"</th>
                <th scope="col" class="num">"Balance"</th><th scope="col" class="num">"Overdue"</th>
                <th scope="col" class="num">"In dispute"</th></tr></thead>
            <tbody>
                {page.rows.into_iter().map(|line| {
                    let c = line.customer;
                    let currency = c.currency.parse::<ledgerport::money::Currency>().ok();
                    let figure = move |minor: i64| match currency {
                        Some(currency) => crate::format::money(minor, currency),
                        None => minor.to_string(),
                    };
                    view! {
                        <tr>
                            <td>{c.number.clone()}</td>
                            <td><a href=format!("/admin/customers/{}", c.id)>{c.name.clone()}</a></td>
                            <td>{c.currency.clone()}</td>
                            <td class="num">{figure(line.aging.total())}</td>
                            <td class="num">{figure(line.aging.past_due())}</td>
                            <td class="num">{figure(line.aging.in_dispute)}</td>
                        </tr>
                    }
                }).collect_view()}
            </tbody>
        </table>
        </div>
        <nav class="pager" aria-label="Pages">{back}{next}</nav>
    }
    .into_any()
}

#[component]
pub fn AdminCustomerPage() -> impl IntoView {
    let customer_id = crate::components::id_param();
    let invite = ServerAction::<InviteContact>::new();
    let invite_error = form_error(invite);
    let change_role = ServerAction::<ChangeRole>::new();
    let role_error = form_error(change_role);
    let revoke = ServerAction::<RevokeAccess>::new();
    let revoke_error = form_error(revoke);
    let reset = ServerAction::<ResetTwoFactor>::new();
    let reset_error = form_error(reset);
    let contacts = Resource::new(customer_id, customer_contacts);
    let invited = form_succeeded("invited");
    view! {
        <Title text="Customer contacts"/>
        <Loaded data=contacts let:account>
            {view! {
                        <section class="card" aria-labelledby="contacts-heading">
                            <h1 id="contacts-heading">{account.name}</h1>
                            <h2>"Contacts"</h2>
                            <table class="table" data-testid="contacts">
                                <thead><tr>
                                    <th scope="col">"Name"</th><th scope="col">"Email"</th>
                                    <th scope="col">"Role"</th><th scope="col">"Status"</th>
                                    <th scope="col">"Two-factor"</th><th scope="col">"Change"</th>
                                </tr></thead>
                                <tbody>
                                    {account.contacts.into_iter().map(|c| view! {
                                        <tr>
                                            <td>{c.display_name}</td>
                                            <td>{c.email}</td>
                                            <td>{c.role.as_str()}</td>
                                            <td>{if c.disabled { "access revoked" } else if c.accepted { "active" } else { "invited" }}</td>
                                            <td>{if c.two_factor { "on" } else { "off" }}</td>
                                            <td class="actions">
                                                <ActionForm action=change_role attr:class="inline">
                                                    <input type="hidden" name="customer_id" value=customer_id/>
                                                    <input type="hidden" name="user_id" value=c.user_id/>
                                                    <input type="hidden" name="role"
                                                        value=if c.role.as_str() == "payer" { "viewer" } else { "payer" }/>
                                                    <button class="button small secondary" type="submit">
                                                        {if c.role.as_str() == "payer" { "Make viewer" } else { "Make payer" }}
                                                    </button>
                                                </ActionForm>
                                                {(!c.disabled).then(|| view! {
                                                    <ActionForm action=revoke attr:class="inline">
                                                        <input type="hidden" name="customer_id" value=customer_id/>
                                                        <input type="hidden" name="user_id" value=c.user_id/>
                                                        <button class="button small danger" type="submit">"Revoke access"</button>
                                                    </ActionForm>
                                                })}
                                                {c.two_factor.then(|| view! {
                                                    <ActionForm action=reset attr:class="inline">
                                                        <input type="hidden" name="customer_id" value=customer_id/>
                                                        <input type="hidden" name="user_id" value=c.user_id/>
                                                        <button class="button small secondary" type="submit">"Reset two-factor"</button>
                                                    </ActionForm>
                                                })}
                                            </td>
                                        </tr>
                                    }).collect_view()}
                                </tbody>
                            </table>
                            <FormError message=Signal::derive(role_error)/>
                            <FormError message=Signal::derive(revoke_error)/>
                            <FormError message=Signal::derive(reset_error)/>
                        </section>
                    }.into_any()}
        </Loaded>
        <crate::billing::pages::CustomerBillingDetails customer_id=customer_id/>
        <CustomerInvoices customer_id=customer_id/>
        <crate::promises::pages::CustomerPromises customer_id=customer_id/>
        <crate::plans::pages::CustomerPlans customer_id=customer_id/>
        <crate::autopay::pages::CustomerAutopay customer_id=customer_id/>
        <ApplyCreditForm customer_id=customer_id/>
        <AccountSettingsForm customer_id=customer_id/>
        <RecordPaymentForm customer_id=customer_id/>
        <NewInvoiceForm customer_id=customer_id/>
        <section class="card narrow" aria-labelledby="invite-heading">
            <h2 id="invite-heading">"Invite a contact"</h2>
            <ActionForm action=invite attr:class="form">
                <input type="hidden" name="customer_id" value=customer_id/>
                <label for="invite-email">"Email"</label>
                <input id="invite-email" type="email" name="email" required/>
                <label for="invite-name">"Name"</label>
                <input id="invite-name" type="text" name="display_name" maxlength="120"/>
                <label for="invite-role">"Role"</label>
                <select id="invite-role" name="role">
                    <option value="payer">"Payer: reads, pays and disputes"</option>
                    <option value="viewer">"Viewer: reads only"</option>
                </select>
                <FormError message=Signal::derive(invite_error)/>
                {move || invited().then(|| view! {
                    <p class="notice" role="status" data-testid="invited">
                        "Invitation queued. The link works once, for 7 days."
                    </p>
                })}
                <button class="button" type="submit">"Send invitation"</button>
            </ActionForm>
        </section>
    }
}

/// Applies the account's unapplied credit (overpayments, credits) to what is due, oldest first.
#[component]
fn ApplyCreditForm(customer_id: impl Fn() -> i64 + Copy + Send + Sync + 'static) -> impl IntoView {
    let apply = ServerAction::<ApplyAccountCredit>::new();
    let apply_error = form_error(apply);
    let applied = form_succeeded("credit_applied");
    view! {
        <section class="card narrow" aria-labelledby="credit-heading">
            <h2 id="credit-heading">"Unapplied credit"</h2>
            <p class="hint">"Overpayments and credits the customer has not used yet. Applying them settles what is due now, oldest due date first; disputed amounts are left alone."</p>
            <ActionForm action=apply attr:class="inline">
                <input type="hidden" name="customer_id" value=customer_id/>
                <button class="button secondary" type="submit">"Apply credit to open invoices"</button>
            </ActionForm>
            <FormError message=Signal::derive(apply_error)/>
            {move || applied().then(|| view! { <p class="notice" role="status">"Credit applied."</p> })}
        </section>
    }
}

/// The account's name, terms, credit limit and billing contacts, editable by staff.
#[component]
fn AccountSettingsForm(
    customer_id: impl Fn() -> i64 + Copy + Send + Sync + 'static,
) -> impl IntoView {
    let update = ServerAction::<UpdateCustomer>::new();
    let update_error = form_error(update);
    let saved = form_succeeded("saved");
    let profile = Resource::new(customer_id, customer_profile);
    view! {
        <section class="card narrow" aria-labelledby="account-heading">
            <h2 id="account-heading">"Account settings"</h2>
            <Loaded data=profile let:p>
                {{
                            let limit = ledgerport::money::Money::from_minor(p.credit_limit_minor, p.currency).decimal_text();
                            let discount = p.terms.discount_percent_text();
                            view! {
                                <p class="hint">{p.number.clone()} " · billed in " {p.currency.code()}
                                    ". New terms apply to invoices issued from now on. Billing contacts receive receipts and reminders (without any, reminders go to the account's payers)."</p>
                                <ActionForm action=update attr:class="form">
                                    <input type="hidden" name="customer_id" value=p.id/>
                                    <label for="a-name">"Account holder"</label>
                                    <input id="a-name" name="name" required maxlength="200" value=p.name.clone()/>
                                    <label for="a-net">"Due after (days)"</label>
                                    <input id="a-net" name="net_days" inputmode="numeric" value=p.terms.net_days()/>
                                    <label for="a-discount">"Discount for paying early (%)"</label>
                                    <input id="a-discount" name="discount_percent" inputmode="decimal" value=discount/>
                                    <label for="a-discount-days">"Days the discount applies"</label>
                                    <input id="a-discount-days" name="discount_days" inputmode="numeric" value=p.terms.discount_days()/>
                                    <label for="a-limit">"Credit limit"</label>
                                    <input id="a-limit" name="credit_limit" inputmode="decimal" value=limit/>
                                    <label for="a-billing">"Billing contacts, one address per line"</label>
                                    <textarea id="a-billing" name="billing_emails" rows="3">{p.billing_emails.join("\n")}</textarea>
                                    <FormError message=Signal::derive(update_error)/>
                                    {move || saved().then(|| view! { <p class="notice" role="status">"Saved."</p> })}
                                    <button class="button" type="submit">"Save the account"</button>
                                </ActionForm>
                            }.into_any()
                        }}
            </Loaded>
        </section>
    }
}

#[component]
pub fn OutboxPage() -> impl IntoView {
    let remind_posted = posted_error::<RunReminders>();
    let autopay_posted = posted_error::<RunAutopay>();
    view! {
        <Title text="Outbox"/>
        <OutboxPanel remind_posted autopay_posted/>
    }
}

/// An island: a run's summary is the server function's answer, and the list below it follows
/// each run.
#[island(lazy)]
fn OutboxPanel(remind_posted: Option<String>, autopay_posted: Option<String>) -> impl IntoView {
    crate::islands::island_alive();
    let remind = ServerAction::<RunReminders>::new();
    let remind_error = island_form_error(remind, remind_posted);
    let autopay = ServerAction::<RunAutopay>::new();
    let autopay_error = island_form_error(autopay, autopay_posted);
    let messages = Resource::new(
        move || (remind.version().get(), autopay.version().get()),
        |_| outbox(),
    );
    let charged = move || {
        autopay.value().with(|v| match v {
            Some(Ok(run)) => Some(format!(
                "Autopay: {} charges sent, {} declined, {} need the customer; {} accounts stopped.{}",
                run.charged,
                run.declined,
                run.needs_customer,
                run.stopped,
                if run.problems.is_empty() {
                    String::new()
                } else {
                    format!(" Not handled: {}.", run.problems.join("; "))
                }
            )),
            _ => None,
        })
    };
    let reminded = move || {
        remind.value().with(|v| match v {
            Some(Ok(run)) => Some(format!(
                "{} reminders queued; {} invoices skipped because their whole amount is in dispute; {} without anyone to write to. \
                 Promises to pay: {} kept, {} broken.",
                run.sent, run.held, run.without_recipient, run.promises.kept, run.promises.broken
            )),
            _ => None,
        })
    };
    view! {
        <section class="card" aria-labelledby="outbox-heading">
            <h1 id="outbox-heading">"Outbox"</h1>
            <p class="hint">"Every message the portal sends, with its delivery status. Without SMTP configured, messages stay queued here. "
                "Payment reminders go out on schedule (by default 3 days before the due date and 1, 7, 14 and 30 days after), never for disputed amounts."</p>
            <ActionForm action=remind attr:class="inline">
                <button class="button secondary" type="submit">"Send due reminders now"</button>
            </ActionForm>
            <ActionForm action=autopay attr:class="inline">
                <button class="button secondary" type="submit">"Charge autopay now"</button>
            </ActionForm>
            <FormError message=remind_error/>
            <FormError message=autopay_error/>
            {move || reminded().map(|text| view! { <p class="notice" role="status" data-testid="reminder-run">{text}</p> })}
            {move || charged().map(|text| view! { <p class="notice" role="status" data-testid="autopay-run">{text}</p> })}
            <Loaded data=messages let:value>
                {match value {
                        list if list.is_empty() => view! { <p class="empty">"No messages yet."</p> }.into_any(),
                        list => view! {
                            <ul class="messages" data-testid="outbox">
                                {list.into_iter().map(|m| view! {
                                    <li class="message">
                                        <details>
                                            <summary>
                                                <span class="tag">{m.status.clone()}</span>" "
                                                <strong>{m.subject}</strong>" to "{m.recipient}
                                                <span class="muted">" · "{m.created_at}</span>
                                            </summary>
                                            {(m.attempts > 0).then(|| view! {
                                                <p class="muted">{m.attempts} " delivery attempts"
                                                    {m.sent_at.as_deref().map(|at| format!("; sent {}", crate::format::timestamp(at)))}
                                                    {(!m.last_error.is_empty()).then(|| format!("; last error: {}", m.last_error))}</p>
                                            })}
                                            <pre class="message-body">{m.body}</pre>
                                            {m.attachment.is_some().then(|| view! {
                                                <p class="muted">"With a PDF attached (made when it is sent)."</p>
                                            })}
                                        </details>
                                    </li>
                                }).collect_view()}
                            </ul>
                        }.into_any(),
                    }}
            </Loaded>
        </section>
    }
}

/// Issue an invoice by hand: up to eight lines; blank rows are skipped.
#[component]
fn NewInvoiceForm(customer_id: impl Fn() -> i64 + Copy + Send + Sync + 'static) -> impl IntoView {
    let create = ServerAction::<CreateInvoice>::new();
    let create_error = form_error(create);
    let query = use_query_map();
    let issued = move || query.with(|q| q.get("issued"));
    let today = chrono::Utc::now().date_naive().to_string();
    view! {
        <section class="card" aria-labelledby="invoice-heading">
            <h2 id="invoice-heading">"Issue an invoice"</h2>
            <ActionForm action=create attr:class="form wide">
                <input type="hidden" name="customer_id" value=customer_id/>
                <label for="inv-number">"Invoice number"</label>
                <input id="inv-number" name="number" required maxlength="32" placeholder="INV-2026-01001"/>
                <label for="inv-po">"PO number (optional)"</label>
                <input id="inv-po" name="po_number" maxlength="64"/>
                <label for="inv-date">"Issue date"</label>
                <input id="inv-date" type="date" name="issue_date" value=today/>
                <div class="table-wrap">
                <table class="table compact" data-testid="invoice-lines-form">
                    <thead><tr><th scope="col">"#"</th><th scope="col">"Description"</th><th scope="col">"Qty"</th>
                        <th scope="col">"Unit price"</th><th scope="col">"Discount %"</th><th scope="col">"Tax %"</th></tr></thead>
                    <tbody>
                        {(0..8).map(|i| view! {
                            <tr>
                                <td>{i + 1}</td>
                                <td><input name=format!("lines[{i}][description]") aria-label=format!("Line {} description", i + 1) maxlength="500"/></td>
                                <td><input class="amount" name=format!("lines[{i}][quantity]") aria-label=format!("Line {} quantity", i + 1) value="1" inputmode="decimal"/></td>
                                <td><input class="amount" name=format!("lines[{i}][unit_price]") aria-label=format!("Line {} unit price", i + 1) inputmode="decimal"/></td>
                                <td><input class="amount" name=format!("lines[{i}][discount]") aria-label=format!("Line {} discount", i + 1) inputmode="decimal"/></td>
                                <td><input class="amount" name=format!("lines[{i}][tax]") aria-label=format!("Line {} tax", i + 1) inputmode="decimal"/></td>
                            </tr>
                        }).collect_view()}
                    </tbody>
                </table>
                </div>
                <FormError message=Signal::derive(create_error)/>
                {move || issued().map(|number| view! {
                    <p class="notice" role="status" data-testid="issued">"Invoice " {number} " issued."</p>
                })}
                <button class="button" type="submit">"Issue the invoice"</button>
            </ActionForm>
        </section>
    }
}

/// The customer's open invoices as staff see them, with a void button where voiding is allowed.
#[component]
fn CustomerInvoices(customer_id: impl Fn() -> i64 + Copy + Send + Sync + 'static) -> impl IntoView {
    let void = ServerAction::<VoidInvoice>::new();
    let void_error = form_error(void);
    let list = Resource::new(customer_id, |id| customer_invoices(id, "open".into(), 1));
    view! {
        <section class="card" aria-labelledby="open-invoices-heading">
            <h2 id="open-invoices-heading">"Open invoices"</h2>
            <FormError message=Signal::derive(void_error)/>
            <Loaded data=list let:value>
                {match value {
                        page if page.rows.is_empty() => view! { <p class="empty">"Nothing open."</p> }.into_any(),
                        page => {
                            let c = page.currency;
                            view! {
                                <div class="table-wrap">
                                <table class="table compact" data-testid="staff-invoices">
                                    <thead><tr><th scope="col">"Invoice"</th><th scope="col">"Due"</th>
                                        <th scope="col" class="num">"Total"</th><th scope="col" class="num">"Open"</th>
                                        <th scope="col" class="num">"In dispute"</th><th scope="col">"Void"</th></tr></thead>
                                    <tbody>
                                        {page.rows.into_iter().map(|row| view! {
                                            <tr>
                                                <td><a href=format!("/admin/invoices/{}", row.id)>{row.number.clone()}</a></td>
                                                <td>{crate::format::date(row.due_date)}</td>
                                                <td class="num">{crate::format::money(row.total_minor, c)}</td>
                                                <td class="num">{crate::format::money(row.open_minor, c)}</td>
                                                <td class="num">{crate::format::money(row.held_minor, c)}</td>
                                                <td>{(row.open_minor == row.total_minor).then(|| view! {
                                                    <ActionForm action=void attr:class="inline-form">
                                                        <input type="hidden" name="customer_id" value=customer_id/>
                                                        <input type="hidden" name="invoice_id" value=row.id/>
                                                        <input name="reason" required maxlength="500" placeholder="Reason"
                                                            aria-label=format!("Reason to void {}", row.number)/>
                                                        <button class="button small danger" type="submit">"Void"</button>
                                                    </ActionForm>
                                                })}</td>
                                            </tr>
                                        }).collect_view()}
                                    </tbody>
                                </table>
                                </div>
                            }.into_any()
                        }
                    }}
            </Loaded>
        </section>
    }
}

/// A cheque, wire, cash or ACH payment received outside the portal.
#[component]
fn RecordPaymentForm(
    customer_id: impl Fn() -> i64 + Copy + Send + Sync + 'static,
) -> impl IntoView {
    let record = ServerAction::<RecordOfflinePayment>::new();
    let record_error = form_error(record);
    let paid = form_succeeded("paid");
    view! {
        <section class="card narrow" aria-labelledby="payment-heading">
            <h2 id="payment-heading">"Record a payment received"</h2>
            <p class="hint">"Applied as the remittance says, or, without one, to the oldest open invoices first; early-payment discounts inside their window; any excess becomes credit."</p>
            <ActionForm action=record attr:class="form">
                <input type="hidden" name="customer_id" value=customer_id/>
                <label for="pay-method">"Method"</label>
                <select id="pay-method" name="method">
                    {PaymentMethod::RECORDED_BY_STAFF.map(|m| view! { <option value=m.as_str()>{m.label()}</option> }).collect_view()}
                </select>
                <label for="pay-amount">"Amount"</label>
                <input id="pay-amount" name="amount" required inputmode="decimal"/>
                <label for="pay-date">"Received on"</label>
                <input id="pay-date" type="date" name="received_on" value=chrono::Utc::now().date_naive().to_string()/>
                <label for="pay-reference">"Cheque number or reference"</label>
                <input id="pay-reference" name="reference" required maxlength="100"/>
                <label for="pay-remittance">"Remittance advice (optional): one invoice per line, then what was paid on it"</label>
                <textarea id="pay-remittance" name="remittance" rows="4" placeholder="INV-1001 250.00"></textarea>
                <FormError message=Signal::derive(record_error)/>
                {move || paid().then(|| view! { <p class="notice" role="status" data-testid="payment-recorded">"Payment recorded."</p> })}
                <button class="button" type="submit">"Record the payment"</button>
            </ActionForm>
        </section>
    }
}

/// One invoice as staff see it: its lines with what is left to credit on each, the form that
/// issues a credit memo, and its timeline.
#[component]
pub fn StaffInvoicePage() -> impl IntoView {
    let invoice_id = crate::components::id_param();
    let credit = ServerAction::<IssueCreditMemo>::new();
    let credit_error = form_error(credit);
    let query = use_query_map();
    let data = Resource::new(invoice_id, staff_invoice);
    let credited = move || query.with(|q| q.get("credited"));
    view! {
        <Loaded data=data let:s>
            {{
                let next_number = s.next_credit_memo_number();
                let d = s.invoice;
                let c = d.currency;
                let money = move |minor| crate::format::money(minor, c);
                let creditable = d.lines.iter().any(|l| l.creditable_minor() > 0)
                    && d.status != InvoiceStatus::Void;
                let timeline = crate::portal::pages::invoice_timeline(&d);
                view! {
                    <Title text=format!("Invoice {}", d.number)/>
                    <div class="heading-row">
                        <h1>"Invoice " {d.number.clone()}</h1>
                        {crate::portal::pages::status_badge(d.status)}
                    </div>
                    <dl class="facts inline">
                        <dt>"Customer"</dt>
                        <dd><a href=format!("/admin/customers/{}", s.customer_id)>{s.customer_name}</a></dd>
                        <dt>"Issued"</dt><dd>{crate::format::date(d.issue_date)}</dd>
                        <dt>"Due"</dt><dd>{crate::format::date(d.due_date)}</dd>
                        <dt>"Total"</dt><dd>{money(d.total_minor)}</dd>
                        <dt>"Open"</dt><dd data-testid="open">{money(d.open_minor)}</dd>
                        <dt>"In dispute"</dt><dd>{money(d.held_minor)}</dd>
                    </dl>
                    <section class="card" aria-labelledby="credit-heading">
                        <h2 id="credit-heading">"Credit lines"</h2>
                        <p class="hint">"Type what to credit on each line, tax included; lines left empty are not credited. What is still open on the invoice goes down by the credit; credit beyond it becomes the customer's unapplied credit."</p>
                        {move || credited().map(|number| view! {
                            <p class="notice" role="status" data-testid="credited">"Credit memo " {number} " issued."</p>
                        })}
                        <ActionForm action=credit attr:class="form wide">
                            <input type="hidden" name="invoice_id" value=d.id/>
                            <div class="table-wrap">
                            <table class="table compact" data-testid="credit-lines">
                                <thead><tr>
                                    <th scope="col">"#"</th><th scope="col">"Description"</th>
                                    <th scope="col" class="num">"Amount"</th><th scope="col" class="num">"Credited"</th>
                                    <th scope="col" class="num">"Left to credit"</th><th scope="col" class="num">"Credit"</th>
                                </tr></thead>
                                <tbody>
                                    {d.lines.iter().enumerate().map(|(i, l)| {
                                        let fully_credited = l.creditable_minor() <= 0;
                                        view! {
                                        <tr>
                                            <td>{l.line_no}</td>
                                            <td>{l.description.clone()}</td>
                                            <td class="num">{money(l.net_minor + l.tax_minor)}</td>
                                            <td class="num">{money(l.credited_minor)}</td>
                                            <td class="num">{money(l.creditable_minor())}</td>
                                            <td class="num">
                                                <input type="hidden" name=format!("lines[{i}][line]") value=l.line_no/>
                                                <input class="amount" name=format!("lines[{i}][amount]") inputmode="decimal"
                                                    aria-label=format!("Credit on line {}", l.line_no)
                                                    disabled=fully_credited/>
                                            </td>
                                        </tr>
                                    }}).collect_view()}
                                </tbody>
                            </table>
                            </div>
                            <label for="cm-number">"Credit memo number"</label>
                            <input id="cm-number" name="number" required maxlength="32" value=next_number/>
                            <label for="cm-date">"Dated"</label>
                            <input id="cm-date" type="date" name="issue_date" value=chrono::Utc::now().date_naive().to_string()/>
                            <label for="cm-reason">"Reason"</label>
                            <textarea id="cm-reason" name="reason" required maxlength="500" rows="2"></textarea>
                            <FormError message=Signal::derive(credit_error)/>
                            <button class="button" type="submit" disabled=!creditable>"Issue the credit memo"</button>
                        </ActionForm>
                    </section>
                    {timeline}
                }.into_any()
            }}
        </Loaded>
    }
}
