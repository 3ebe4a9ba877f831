//! `/admin/bank`: upload a statement, see the latest; `/admin/bank/:id`: its lines.

use ledgerport::statements::{LineStatus, MatchReason};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use crate::banking::{bank_overview, bank_statement};
use crate::components::{FormError, Loaded};
use crate::format::{date, money, timestamp};

#[component]
pub fn BankPage() -> impl IntoView {
    let query = use_query_map();
    let error = move || query.with(|q| q.get("error"));
    let overview = Resource::new(|| (), |_| bank_overview());
    view! {
        <Title text="Bank statements"/>
        <Loaded data=overview loading="Loading…" let:o>
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
            }.into_any()}
        </Loaded>
    }
}

#[component]
pub fn BankStatementPage() -> impl IntoView {
    let id = crate::components::id_param();
    let statement = Resource::new(id, bank_statement);
    view! {
        <Title text="Bank statement"/>
        <Loaded data=statement loading="Loading…" let:pair>
            {{
                let (s, lines) = pair;
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
                        <div class="table-wrap">
                        <table class="table" data-testid="bank-lines">
                            <thead><tr>
                                <th scope="col">"Booked"</th><th scope="col">"Bank reference"</th><th scope="col">"From / to"</th>
                                <th scope="col">"Remittance"</th><th scope="col" class="num">"Amount"</th><th scope="col">"Match"</th>
                            </tr></thead>
                            <tbody>
                                {lines.into_iter().map(|l| {
                                    let matched = match l.payment_id {
                                        Some(payment) => view! {
                                            <a href=format!("/admin/payments/{payment}")>
                                                {MatchReason::parse(&l.match_reason).map(|r| r.label()).unwrap_or("Matched")}</a>
                                        }.into_any(),
                                        None if l.status == LineStatus::Outgoing => view! { <span>"Money out"</span> }.into_any(),
                                        None => view! { <span class="badge overdue">"Waiting for staff"</span> }.into_any(),
                                    };
                                    let text = [l.structured_reference.as_str(), l.remittance.as_str()]
                                        .iter().filter(|t| !t.is_empty()).copied().collect::<Vec<_>>().join(" ");
                                    view! {
                                        <tr data-status=l.status.as_str()>
                                            <td>{date(l.booked_on)}</td>
                                            <td>{l.bank_reference}</td>
                                            <td>{l.counterparty}</td>
                                            <td>{text}</td>
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
                }.into_any()
            }}
        </Loaded>
    }
}
