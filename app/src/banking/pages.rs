//! `/admin/bank`: upload a statement, see the latest, and Stripe's payouts; `/admin/bank/:id`: its lines and its
//! reconciliation; `/admin/cash-application`: the waiting credit lines, applied by staff.

use ledgerport::money::Currency;
use ledgerport::payouts::{Payout, PayoutStatus, ProviderBalance};
use ledgerport::statements::{
    BankReconciliation, LineStatus, MatchReason, QueuedLine, ShortPay, StoredLine, UnlinedPosting,
};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use crate::banking::{
    ApplyBankLine, CashQueueData, KeepBankLineAsCredit, SetWriteOffTolerance, StatementPageData,
    bank_overview, bank_statement, cash_queue,
};
use crate::components::{FormError, Loaded, form_error};
use crate::format::{date, money, timestamp};

#[component]
pub fn BankPage() -> impl IntoView {
    let query = use_query_map();
    let error = move || query.with(|q| q.get("error"));
    let overview = Resource::new(|| (), |_| bank_overview());
    view! {
        <Title text="Bank statements"/>
        <Loaded data=overview let:o>
            {view! {
                <section class="card" aria-labelledby="bank-heading">
                    <h1 id="bank-heading">"Bank statements"</h1>
                    <p class="hint">"Upload the bank's camt.053 statement, camt.054 notification, BAI2 file, or a CSV export with the bank's saved column mapping. "
                        "Each line is kept once by the bank's reference, so the same or an overlapping file changes nothing. "
                        "Credits are matched by a transfer's RF reference, by invoice numbers in the remittance text, or by a known payer and an exact amount; the rest wait below."</p>
                    <form method="post" action="/admin/bank-statements" enctype="multipart/form-data" class="form">
                        <label>"Statement file "<input type="file" name="file" required/></label>
                        <label>"CSV mapping (CSV files only) "
                            <select name="mapping">
                                <option value="">"—"</option>
                                {o.mappings.iter().map(|m| view! { <option value=m.clone()>{m.clone()}</option> }).collect_view()}
                            </select>
                        </label>
                        <button class="button" type="submit">"Import"</button>
                    </form>
                    <FormError message=Signal::derive(error)/>
                    <p><a class="button secondary" href="/admin/cash-application">"Cash application: lines waiting for staff"</a></p>
                </section>
                {(!o.statements.is_empty()).then(|| view! {
                    <section class="card" aria-labelledby="statements-heading">
                        <h2 id="statements-heading">"Imported"</h2>
                        <div class="table-wrap">
                        <table class="table" data-testid="bank-statements">
                            <thead><tr>
                                <th scope="col">"Statement"</th><th scope="col">"Account"</th><th scope="col">"Imported"</th>
                                <th scope="col" class="num">"Lines (new)"</th><th scope="col" class="num">"Matched"</th>
                                <th scope="col" class="num">"Waiting"</th><th scope="col" class="num">"Closing balance"</th>
                            </tr></thead>
                            <tbody>
                                {o.statements.iter().map(|s| view! {
                                    <tr>
                                        <td><a href=format!("/admin/bank/{}", s.id)>{format!("{} {}", s.format.as_str(), s.statement_ref)}</a></td>
                                        <td>{s.account.clone()}</td>
                                        <td>{timestamp(&s.imported_at)} " by " {s.imported_by.clone()}</td>
                                        <td class="num">{format!("{} ({})", s.lines_in_file, s.lines_new)}</td>
                                        <td class="num">{s.matched}</td>
                                        <td class="num">{s.unmatched}</td>
                                        <td class="num">{s.closing_minor.map(|m| money(m, s.currency)).unwrap_or_else(|| "—".into())}</td>
                                    </tr>
                                }).collect_view()}
                            </tbody>
                        </table>
                        </div>
                    </section>
                })}
                {(!o.payouts.is_empty() || !o.at_provider.is_empty()).then(|| payouts_section(&o.payouts, &o.at_provider))}
            }.into_any()}
        </Loaded>
    }
}

/// Stripe's latest payouts, each with the statement that brought it, and what Stripe holds.
fn payouts_section(payouts: &[Payout], at_provider: &[ProviderBalance]) -> AnyView {
    let held = at_provider
        .iter()
        .map(|b| money(b.amount_minor, b.currency))
        .collect::<Vec<_>>()
        .join(", ");
    view! {
        <section class="card" aria-labelledby="payouts-heading">
            <h2 id="payouts-heading">"Stripe payouts"</h2>
            <p class="hint">"Stripe pays what it collected by card and bank debit, less its fees, to the bank account. "
                "Each payout posts the amount to Bank and the fees to Processing fees out of Stripe clearing, and is matched to the statement line that brought it (a line from Stripe of exactly its amount, booked near its arrival date)."</p>
            {(!held.is_empty()).then(|| view! {
                <p data-testid="held-at-provider">{format!("Collected through Stripe, not paid out yet: {held}.")}</p>
            })}
            <div class="table-wrap">
            <table class="table" data-testid="payouts">
                <thead><tr>
                    <th scope="col">"Arrival"</th><th scope="col">"Payout"</th><th scope="col" class="num">"Collected"</th>
                    <th scope="col" class="num">"Fees"</th><th scope="col" class="num">"To the bank"</th>
                    <th scope="col">"Status"</th><th scope="col">"Bank statement"</th>
                </tr></thead>
                <tbody>
                    {payouts.iter().map(|p| view! {
                        <tr data-payout=p.id.clone()>
                            <td>{date(p.arrival_on)}</td>
                            <td>{format!("{} ({} transactions)", p.id, p.transactions)}</td>
                            <td class="num">{money(p.gross_minor(), p.currency)}</td>
                            <td class="num">{money(p.fees_minor, p.currency)}</td>
                            <td class="num">{money(p.amount_minor, p.currency)}</td>
                            <td>{match p.status {
                                PayoutStatus::Paid => "Paid".to_string(),
                                PayoutStatus::Failed => format!("Failed: {}", p.failure),
                            }}</td>
                            <td>{match p.statement_id {
                                Some(id) => view! { <a href=format!("/admin/bank/{id}")>"On the statement"</a> }.into_any(),
                                None => view! { <span>"Not on a statement yet"</span> }.into_any(),
                            }}</td>
                        </tr>
                    }).collect_view()}
                </tbody>
            </table>
            </div>
        </section>
    }
    .into_any()
}

#[component]
pub fn BankStatementPage() -> impl IntoView {
    let id = crate::components::id_param();
    let statement = Resource::new(id, bank_statement);
    view! {
        <Title text="Bank statement"/>
        <Loaded data=statement let:page>
            {{
                let StatementPageData { summary: s, lines, reconciliation } = page;
                let c = s.currency;
                view! {
                    <section class="card">
                        <h1>{format!("{} {}", s.format.as_str(), s.statement_ref)}</h1>
                        <p data-testid="statement-summary">{format!(
                            "Account {}: {} lines, {} new, {} matched automatically or by staff, {} waiting.{}",
                            s.account, s.lines_in_file, s.lines_new, s.matched, s.unmatched,
                            match (s.closing_minor, s.closing_on) {
                                (Some(m), Some(on)) => format!(" Closing balance {} on {}.", money(m, c), date(on)),
                                _ => String::new(),
                            }
                        )}</p>
                        {(s.unmatched > 0).then(|| view! {
                            <p><a class="button secondary" href="/admin/cash-application">"Apply the waiting lines"</a></p>
                        })}
                        <div class="table-wrap">
                        <table class="table" data-testid="bank-lines">
                            <thead><tr>
                                <th scope="col">"Booked"</th><th scope="col">"Bank reference"</th><th scope="col">"From / to"</th>
                                <th scope="col">"Remittance"</th><th scope="col" class="num">"Amount"</th><th scope="col">"Match"</th>
                            </tr></thead>
                            <tbody>
                                {lines.into_iter().map(|l| {
                                    let matched = match l.status {
                                        LineStatus::Matched => {
                                            let reason = MatchReason::parse(&l.match_reason).map(|r| r.label()).unwrap_or("Matched");
                                            let by = (!l.applied_by.is_empty()).then(|| format!(" ({})", l.applied_by));
                                            view! {
                                                <span>{reason}{by}": "</span>
                                                {l.payments.iter().map(|p| view! {
                                                    <a href=format!("/admin/payments/{}", p.payment_id)>
                                                        {format!("{} {}", p.customer_number, money(p.amount_minor, l.currency))}</a>" "
                                                }).collect_view()}
                                                {l.payout_id.clone()}
                                            }.into_any()
                                        }
                                        LineStatus::Outgoing => view! { <span>"Money out"</span> }.into_any(),
                                        LineStatus::Unmatched => view! { <span class="badge overdue">"Waiting for staff"</span> }.into_any(),
                                    };
                                    view! {
                                        <tr data-status=l.status.as_str()>
                                            <td>{date(l.booked_on)}</td>
                                            <td>{l.bank_reference.clone()}</td>
                                            <td>{l.counterparty.clone()}</td>
                                            <td>{line_text(&l)}</td>
                                            <td class="num">{money(l.amount_minor, l.currency)}</td>
                                            <td>{matched}</td>
                                        </tr>
                                    }
                                }).collect_view()}
                            </tbody>
                        </table>
                        </div>
                        <p><a href="/admin/bank">"All statements"</a></p>
                    </section>
                    {reconciliation.map(|r| view! { <Reconciliation r=r/> }.into_any())}
                }.into_any()
            }}
        </Loaded>
    }
}

/// A line's structured reference and remittance text, as one.
fn line_text(line: &StoredLine) -> String {
    [line.structured_reference.as_str(), line.remittance.as_str()]
        .iter()
        .filter(|t| !t.is_empty())
        .copied()
        .collect::<Vec<_>>()
        .join(" ")
}

/// The statement's closing balance against the ledger's Bank account, and what explains it.
#[component]
fn Reconciliation(r: BankReconciliation) -> impl IntoView {
    let c = r.currency;
    let difference = r.difference_minor();
    let unexplained = r.unexplained_minor();
    let unposted = (!r.unposted.is_empty()).then(|| unposted_table(&r.unposted));
    let unlined = (!r.unlined.is_empty()).then(|| unlined_table(&r.unlined, c));
    view! {
        <section class="card" aria-labelledby="reconciliation-heading" data-testid="reconciliation">
            <h2 id="reconciliation-heading">{format!("Reconciliation on {}", date(r.on))}</h2>
            <table class="table">
                <tbody>
                    <tr><th scope="row">"Bank's closing balance"</th><td class="num">{money(r.bank_closing_minor, c)}</td></tr>
                    <tr><th scope="row">{format!("Ledger, Bank account {} ({})", ledgerport::ledger::Account::Bank.code(), c.code())}</th>
                        <td class="num">{money(r.ledger_minor, c)}</td></tr>
                    <tr><th scope="row">"Difference"</th><td class="num" data-testid="reconciliation-difference">{money(difference, c)}</td></tr>
                    <tr><th scope="row">"Lines the ledger has no posting for"</th><td class="num">{money(r.unposted_minor, c)}</td></tr>
                    <tr><th scope="row">"Postings no bank line brought"</th><td class="num">{money(-r.unlined_minor, c)}</td></tr>
                    <tr><th scope="row">"Not explained by the items below"</th><td class="num" data-testid="reconciliation-unexplained">{money(unexplained, c)}</td></tr>
                </tbody>
            </table>
            <p class="hint">"Bank balance = ledger + lines not posted − postings without a bank line + what is not explained. "
                "What is not explained is usually the account's balance from before the portal's first posting; a change in it between statements is an error to look for."</p>
            {unposted}
            {unlined}
        </section>
    }
}

/// The lines the ledger has no posting for.
fn unposted_table(lines: &[StoredLine]) -> AnyView {
    view! {
        <h3>"Lines the ledger has no posting for"</h3>
        <div class="table-wrap">
        <table class="table" data-testid="unposted-lines">
            <thead><tr><th scope="col">"Booked"</th><th scope="col">"Bank reference"</th><th scope="col">"From / to"</th>
                <th scope="col">"Remittance"</th><th scope="col" class="num">"Amount"</th></tr></thead>
            <tbody>
                {lines.iter().map(|l| view! {
                    <tr data-status=l.status.as_str()>
                        <td>{date(l.booked_on)}</td><td>{l.bank_reference.clone()}</td><td>{l.counterparty.clone()}</td>
                        <td>{line_text(l)}</td><td class="num">{money(l.amount_minor, l.currency)}</td>
                    </tr>
                }).collect_view()}
            </tbody>
        </table>
        </div>
    }
    .into_any()
}

/// The Bank postings no line brought.
fn unlined_table(postings: &[UnlinedPosting], c: Currency) -> AnyView {
    view! {
        <h3>"Postings no bank line brought"</h3>
        <div class="table-wrap">
        <table class="table" data-testid="unlined-postings">
            <thead><tr><th scope="col">"Date"</th><th scope="col">"Customer"</th><th scope="col">"Posting"</th>
                <th scope="col" class="num">"Amount"</th></tr></thead>
            <tbody>
                {postings.iter().map(|p| view! {
                    <tr>
                        <td>{date(p.effective_date)}</td>
                        <td>{p.customer_number.clone().unwrap_or_default()}</td>
                        <td>{match p.payment_id {
                            Some(id) => view! { <a href=format!("/admin/payments/{id}")>{format!("Payment {id}: {}", p.memo)}</a> }.into_any(),
                            None => view! { <span>{match &p.payout_id {
                                Some(payout) => format!("{payout}: not on a statement yet"),
                                None => format!("Entry {}: {}", p.entry_id, p.memo),
                            }}</span> }.into_any(),
                        }}</td>
                        <td class="num">{money(p.amount_minor, c)}</td>
                    </tr>
                }).collect_view()}
            </tbody>
        </table>
        </div>
    }
    .into_any()
}

#[component]
pub fn CashApplicationPage() -> impl IntoView {
    let query = use_query_map();
    let queue = Resource::new(
        move || query.with(|q| (q.get("applied"), q.get("tolerance"))),
        |_| cash_queue(),
    );
    view! {
        <Title text="Cash application"/>
        <Loaded data=queue let:data>
            {{
                let CashQueueData { waiting, lines, tolerances, may_set_tolerance } = data;
                view! {
                    <section class="card" aria-labelledby="queue-heading">
                        <h1 id="queue-heading">"Cash application"</h1>
                        <p data-testid="queue-summary">{match waiting {
                            0 => "No bank credits are waiting: every line imported is matched.".to_string(),
                            1 => "1 bank credit waits for staff.".to_string(),
                            n if n as usize > lines.len() => format!("{n} bank credits wait for staff; the oldest {} are shown.", lines.len()),
                            n => format!("{n} bank credits wait for staff."),
                        }}</p>
                        <p class="hint">"Apply a suggestion with one click, or write how the money goes, one row per invoice: "
                            <code>"CUSTOMER INVOICE AMOUNT"</code>", or "<code>"CUSTOMER credit AMOUNT"</code>" to keep it as the customer's unapplied credit; rows of several customers split the line. "
                            "When a row pays less than is due on its invoice, choose what happens to the rest."</p>
                        {move || query.with(|q| q.get("applied").is_some()).then(|| view! {
                            <p class="notice" role="status">"The bank line was applied."</p>
                        })}
                    </section>
                    {lines.into_iter().map(|queued| view! { <QueuedLineCard queued=queued/> }.into_any()).collect_view()}
                    <ToleranceCard tolerances=tolerances may_set=may_set_tolerance/>
                }.into_any()
            }}
        </Loaded>
    }
}

/// A short-pay choice, for the forms that apply a line.
#[component]
fn ShortPaySelect(id: String) -> impl IntoView {
    view! {
        <label for=id.clone()>"If a row pays less than is due"</label>
        <select id=id name="short_pay">
            {[ShortPay::LeaveOpen, ShortPay::WriteOff, ShortPay::OpenCase].map(|s| view! {
                <option value=s.as_str()>{s.label()}</option>
            }).collect_view()}
        </select>
    }
}

/// One waiting credit line: its suggestions, a form to apply it by hand, and keeping it as a
/// customer's credit.
#[component]
fn QueuedLineCard(queued: QueuedLine) -> impl IntoView {
    let QueuedLine { line, suggestions } = queued;
    let apply = ServerAction::<ApplyBankLine>::new();
    let apply_error = form_error(apply);
    let keep = ServerAction::<KeepBankLineAsCredit>::new();
    let keep_error = form_error(keep);
    let c = line.currency;
    let id = line.id;
    let prefilled = suggestions
        .first()
        .map(|s| {
            s.rows()
                .iter()
                .map(|r| r.text(c))
                .collect::<Vec<_>>()
                .join("\n")
        })
        .unwrap_or_default();
    view! {
        <article class="card" data-testid="queued-line" data-reference=line.bank_reference.clone()>
            <h2>{format!("{} from {} on {}", money(line.amount_minor, c),
                if line.counterparty.is_empty() { "an unnamed payer" } else { line.counterparty.as_str() }, date(line.booked_on))}</h2>
            <p class="hint">{format!("Bank reference {}", line.bank_reference)}
                {(!line.counterparty_account.is_empty()).then(|| format!(", from account {}", line.counterparty_account))}
                {format!(". Text: {}", { let t = line_text(&line); if t.is_empty() { "none".to_string() } else { t } })}</p>
            {(suggestions.len() > 1).then(|| view! {
                <p><span class="badge" data-testid="ambiguous">{format!("{} customers may fit: choose one, or split the money", suggestions.len())}</span></p>
            })}
            {if suggestions.is_empty() {
                view! { <p class="empty">"Nothing points at a customer: apply it by hand below."</p> }.into_any()
            } else {
                view! {
                    <div class="table-wrap">
                    <table class="table" data-testid="suggestions">
                        <thead><tr><th scope="col">"Customer"</th><th scope="col">"Would pay"</th><th scope="col">"Why"</th><th scope="col">""</th></tr></thead>
                        <tbody>
                            {suggestions.into_iter().map(|s| {
                                let rows = s.rows().iter().map(|r| r.text(c)).collect::<Vec<_>>().join("\n");
                                let mut pays: Vec<String> = s.invoices.iter().map(|i| if i.apply_minor < i.due_minor {
                                    format!("{} {} of {}", i.number, money(i.apply_minor, c), money(i.due_minor, c))
                                } else {
                                    format!("{} {}", i.number, money(i.apply_minor, c))
                                }).collect();
                                if s.credit_minor > 0 {
                                    pays.push(format!("credit {}", money(s.credit_minor, c)));
                                }
                                let short = s.pays_short();
                                view! {
                                    <tr data-testid="suggestion" data-customer=s.customer_number.clone()>
                                        <td>{format!("{} {}", s.customer_number, s.customer_name)}</td>
                                        <td>{pays.join(", ")}</td>
                                        <td>{s.reasons.join("; ")}</td>
                                        <td>
                                            <ActionForm action=apply attr:class="inline">
                                                <input type="hidden" name="line_id" value=id/>
                                                <input type="hidden" name="rows" value=rows/>
                                                {short.then(|| view! { <ShortPaySelect id=format!("short-{id}-{}", s.customer_id)/> })}
                                                <button class="button" type="submit">"Apply"</button>
                                            </ActionForm>
                                        </td>
                                    </tr>
                                }
                            }).collect_view()}
                        </tbody>
                    </table>
                    </div>
                }.into_any()
            }}
            <details>
                <summary>"Apply by hand, or split over invoices and customers"</summary>
                <ActionForm action=apply attr:class="form">
                    <input type="hidden" name="line_id" value=id/>
                    <label for=format!("rows-{id}")>{format!("Rows adding up to {}", money(line.amount_minor, c))}</label>
                    <textarea id=format!("rows-{id}") name="rows" rows="4" placeholder="C-1001 INV-1001 250.00">{prefilled}</textarea>
                    <ShortPaySelect id=format!("short-{id}")/>
                    <button class="button" type="submit">"Apply these rows"</button>
                </ActionForm>
            </details>
            <FormError message=Signal::derive(apply_error)/>
            <ActionForm action=keep attr:class="inline-form">
                <input type="hidden" name="line_id" value=id/>
                <label for=format!("keep-{id}")>"Keep it all as unapplied credit of customer "</label>
                <input id=format!("keep-{id}") name="customer" required placeholder="C-1001" size="10"/>
                <button class="button secondary" type="submit">"Keep as credit"</button>
            </ActionForm>
            <FormError message=Signal::derive(keep_error)/>
        </article>
    }
}

/// The write-off tolerances, and (for managers) the form to set one.
#[component]
fn ToleranceCard(tolerances: Vec<(Currency, i64)>, may_set: bool) -> impl IntoView {
    let set = ServerAction::<SetWriteOffTolerance>::new();
    let set_error = form_error(set);
    view! {
        <section class="card narrow" aria-labelledby="tolerance-heading">
            <h2 id="tolerance-heading">"Write-off tolerance"</h2>
            <p data-testid="tolerances">{if tolerances.is_empty() {
                "None set: short payments cannot be written off.".to_string()
            } else {
                format!("Short payments up to {} may be written off.",
                    tolerances.iter().map(|(c, m)| money(*m, *c)).collect::<Vec<_>>().join(", "))
            }}</p>
            {may_set.then(|| view! {
                <ActionForm action=set attr:class="form">
                    <label for="tolerance-currency">"Currency"</label>
                    <select id="tolerance-currency" name="currency">
                        {Currency::ALL.map(|c| view! { <option value=c.code()>{c.code()}</option> }).collect_view()}
                    </select>
                    <label for="tolerance-amount">"Largest amount"</label>
                    <input id="tolerance-amount" name="amount" required inputmode="decimal"/>
                    <button class="button secondary" type="submit">"Set"</button>
                </ActionForm>
                <FormError message=Signal::derive(set_error)/>
            })}
        </section>
    }
}
