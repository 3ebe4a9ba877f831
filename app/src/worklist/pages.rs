//! `/admin/worklist?collector=&page=`: the collections worklist. Filters are a plain GET form
//! and changes plain posts, so it works without JavaScript.

use ledgerport::collections::{CollectionNote, PAGE_SIZE, WorklistRow};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use super::{AddCollectionNote, AssignCollector, worklist_page};
use crate::components::{FormError, Loaded, form_error};
use crate::format::{date, money, timestamp};

#[component]
pub fn WorklistPage() -> impl IntoView {
    let query = use_query_map();
    let collector = move || query.with(|q| q.get("collector").unwrap_or_default());
    let page = move || {
        query.with(|q| {
            q.get("page")
                .and_then(|p| p.parse::<i64>().ok())
                .unwrap_or(1)
        })
    };
    let note = ServerAction::<AddCollectionNote>::new();
    let assign = ServerAction::<AssignCollector>::new();
    let note_error = form_error(note);
    let assign_error = form_error(assign);
    let data = Resource::new(
        move || (collector(), page()),
        |(collector, page)| worklist_page(collector, page),
    );
    view! {
        <Title text="Collections worklist"/>
        <h1>"Collections worklist"</h1>
        <p class="hint">"Every account with something to chase, worst first: broken promises, failed bank payments, then the longest overdue. "
            "Disputed amounts are left out of what is overdue; accounts with only disputes come last."</p>
        <FormError message=Signal::derive(note_error)/>
        <FormError message=Signal::derive(assign_error)/>
        <Loaded data=data let:list>
            {{
                let chosen = collector();
                let pages = (list.total + PAGE_SIZE - 1) / PAGE_SIZE;
                let page = list.page;
                let staff = list.staff.clone();
                let notes = list.notes.clone();
                let link = {
                    let chosen = chosen.clone();
                    move |to: i64| format!("/admin/worklist?collector={chosen}&page={to}")
                };
                view! {
                    <form method="get" action="/admin/worklist" class="filters">
                        <label for="collector">"Accounts of"</label>
                        <select id="collector" name="collector">
                            <option value="" selected=chosen.is_empty()>"Everyone"</option>
                            <option value="me" selected=chosen == "me">"Me"</option>
                            <option value="unassigned" selected=chosen == "unassigned">"Nobody yet"</option>
                            {staff.iter().map(|(id, name)| view! {
                                <option value=id.to_string() selected=chosen == id.to_string()>{name.clone()}</option>
                            }).collect_view()}
                        </select>
                        <button class="button secondary" type="submit">"Show"</button>
                    </form>
                    <p class="hint" data-testid="worklist-total">{list.total} " accounts to chase"</p>
                    {if list.rows.is_empty() && page > 1 {
                        view! { <p class="empty">"This page is past the end of the list. "
                            <a href=link(1)>"Back to the first page"</a></p> }.into_any()
                    } else if list.rows.is_empty() {
                        view! { <p class="empty">"Nothing to chase."</p> }.into_any()
                    } else {
                        view! {
                            <div class="table-wrap">
                            <table class="table" data-testid="worklist">
                                <thead><tr>
                                    <th scope="col">"Account"</th><th scope="col" class="num">"Overdue"</th>
                                    <th scope="col" class="num">"In dispute"</th><th scope="col">"Next action"</th>
                                    <th scope="col">"Last contact"</th><th scope="col">"Collector"</th><th scope="col">"Notes"</th>
                                </tr></thead>
                                <tbody>
                                    {list.rows.into_iter().map(|row| worklist_row(row, &staff, &notes, note, assign)).collect_view()}
                                </tbody>
                            </table>
                            </div>
                        }.into_any()
                    }}
                    {(pages > 1).then(|| view! {
                        <nav class="pager" aria-label="Pages">
                            {(page > 1).then(|| view! { <a href=link(page - 1)>"Previous"</a> })}
                            <span>"Page " {page} " of " {pages}</span>
                            {(page < pages).then(|| view! { <a href=link(page + 1)>"Next"</a> })}
                        </nav>
                    })}
                }
            }}
        </Loaded>
    }
}

fn worklist_row(
    row: WorklistRow,
    staff: &[(i64, String)],
    notes: &[CollectionNote],
    note: ServerAction<AddCollectionNote>,
    assign: ServerAction<AssignCollector>,
) -> AnyView {
    let c = row.currency;
    let f = row.facts;
    let id = row.customer_id;
    let collector = row.collector.as_ref().map(|(id, _)| *id);
    let number = row.number.clone();
    let staff: Vec<(i64, String)> = staff.to_vec();
    let own_notes: Vec<CollectionNote> = notes
        .iter()
        .filter(|n| n.customer_id == id)
        .cloned()
        .collect();
    view! {
        <tr data-customer=number>
            <td><a href=format!("/admin/customers/{id}")>{row.name}</a>
                <br/><span class="muted">{row.number}</span></td>
            <td class="num">{money(f.overdue_minor, c)}
                {f.oldest_unpromised.map(|due| view! { <br/><span class="muted">"since " {date(due)}</span> })}</td>
            <td class="num">{money(f.in_dispute_minor, c)}</td>
            <td data-testid="next-action">{row.next_action.label()}</td>
            <td>{row.last_contact.map(|contact| view! {
                    {contact.what}<br/><span class="muted">{timestamp(&contact.at)}</span>
                })}</td>
            <td>{assign_form(id, collector, staff, assign)}</td>
            <td>{notes_cell(id, own_notes, note)}</td>
        </tr>
    }
    .into_any()
}

fn assign_form(
    id: i64,
    collector: Option<i64>,
    staff: Vec<(i64, String)>,
    assign: ServerAction<AssignCollector>,
) -> AnyView {
    view! {
        <ActionForm action=assign attr:class="inline">
            <input type="hidden" name="customer_id" value=id/>
            <select name="collector" aria-label=format!("Collector for account {id}")>
                <option value="" selected=collector.is_none()>"Nobody"</option>
                {staff.into_iter().map(|(member, name)| view! {
                    <option value=member.to_string() selected=collector == Some(member)>{name}</option>
                }).collect_view()}
            </select>
            <button class="button secondary" type="submit">"Assign"</button>
        </ActionForm>
    }
    .into_any()
}

fn notes_cell(
    id: i64,
    notes: Vec<CollectionNote>,
    note: ServerAction<AddCollectionNote>,
) -> AnyView {
    view! {
        <details>
            <summary>{notes.len()} " notes"</summary>
            <ul class="notes">
                {notes.into_iter().map(|n| view! {
                    <li><span class="muted">{timestamp(&n.at)} " · " {n.author}</span><br/>{n.body}</li>
                }).collect_view()}
            </ul>
            <ActionForm action=note attr:class="form">
                <input type="hidden" name="customer_id" value=id/>
                <textarea name="body" rows="2" maxlength="2000" required
                    aria-label=format!("Note on account {id}")></textarea>
                <button class="button secondary" type="submit">"Add note"</button>
            </ActionForm>
        </details>
    }
    .into_any()
}
