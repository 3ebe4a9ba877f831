//! Staff pages for getting invoices in: CSV import (upload, preview, commit) and API keys.

use ledgerport::imports::{COLUMNS, ImportOutcome};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use crate::components::{FormError, Loaded, form_error, island_form_error, posted_error};
use crate::format::{money, timestamp};
use crate::integrations::{
    CommitImport, CreateApiKey, RevokeApiKey, api_keys, preview_import, recent_imports,
};

/// `/admin/imports`: upload a CSV of invoices. A plain multipart post, so it works without
/// JavaScript; the server keeps the file and shows its preview.
#[component]
pub fn ImportsPage() -> impl IntoView {
    let query = use_query_map();
    let error = move || query.with(|q| q.get("error"));
    let recent = Resource::new(|| (), |_| recent_imports());
    view! {
        <Title text="Import invoices"/>
        <Loaded data=recent let:list>
            {view! {
                        <ImportForm error=Signal::derive(error)/>
                        {(!list.is_empty()).then(|| view! {
                            <section class="card" aria-labelledby="recent-heading">
                                <h2 id="recent-heading">"Recent imports"</h2>
                                <table class="table" data-testid="recent-imports">
                                    <thead><tr><th scope="col">"File"</th><th scope="col">"Uploaded"</th><th scope="col">"State"</th></tr></thead>
                                    <tbody>
                                        {list.into_iter().map(|i| view! {
                                            <tr>
                                                <td><a href=format!("/admin/imports/{}", i.id)>{i.file_name}</a></td>
                                                <td>{timestamp(&i.uploaded_at)} " by " {i.uploaded_by}</td>
                                                <td>{match i.committed_at {
                                                    Some(at) => format!("{} invoices issued {}", i.issued, timestamp(&at)),
                                                    None => "not committed".to_string(),
                                                }}</td>
                                            </tr>
                                        }).collect_view()}
                                    </tbody>
                                </table>
                            </section>
                        })}
                    }.into_any()}
        </Loaded>
    }
}

#[component]
fn ImportForm(error: Signal<Option<String>>) -> impl IntoView {
    view! {
        <section class="card" aria-labelledby="import-heading">
            <h1 id="import-heading">"Import invoices from CSV"</h1>
            <p class="hint">
                "One row per invoice line; rows with the same invoice number make one invoice. Columns (header row, any order): "
                <code>{COLUMNS.join(", ")}</code>
                ". " <code>"po"</code>", "<code>"issue_date"</code>" (YYYY-MM-DD, default today), "
                <code>"discount_percent"</code>" and "<code>"tax_percent"</code>" may be left out. "
                "Due dates follow each customer's terms. You see what the file would do before anything is issued; "
                "then every invoice is issued at once, or none. Invoices already issued with the same content are left alone, "
                "so importing a file twice changes nothing."
            </p>
            <form method="post" action="/admin/imports" enctype="multipart/form-data" class="form">
                <label>"CSV file "<input type="file" name="file" accept=".csv,text/csv" required/></label>
                <button class="button" type="submit">"Upload and preview"</button>
            </form>
            <FormError message=error/>
        </section>
    }
}

/// `/admin/imports/:id`: every invoice the file holds, every row error, and the commit button.
#[component]
pub fn ImportPage() -> impl IntoView {
    let id = crate::components::id_param();
    let commit = ServerAction::<CommitImport>::new();
    let commit_error = form_error(commit);
    let preview = Resource::new(id, preview_import);
    view! {
        <Title text="Import preview"/>
        <Loaded data=preview let:p>
            {{
                        let can_commit = p.can_commit();
                        let new = p.new_invoices();
                        let status = match (&p.committed_at, p.errors.is_empty()) {
                            (Some(at), _) => format!("Committed {}: {new} invoices issued.", timestamp(at)),
                            (None, true) => format!("Ready: {new} new invoices, {} already issued.", p.invoices.len() - new),
                            (None, false) => format!("{} rows have errors; nothing can be issued until the file is fixed.", p.errors.len()),
                        };
                        view! {
                            <section class="card" aria-labelledby="preview-heading">
                                <h1 id="preview-heading">"Import: " {p.file_name.clone()}</h1>
                                <p data-testid="import-status" class=if p.errors.is_empty() { "notice" } else { "error" }>{status}</p>
                                <p class="muted">{p.rows} " rows · uploaded " {timestamp(&p.uploaded_at)}</p>
                                {(!p.errors.is_empty()).then(|| view! {
                                    <h2>"Rows with errors"</h2>
                                    <table class="table" data-testid="import-errors">
                                        <thead><tr><th scope="col" class="num">"Row"</th><th scope="col">"Field"</th><th scope="col">"Problem"</th></tr></thead>
                                        <tbody>
                                            {p.errors.iter().map(|e| view! {
                                                <tr><td class="num">{e.row}</td><td>{e.field.clone()}</td><td>{e.message.clone()}</td></tr>
                                            }).collect_view()}
                                        </tbody>
                                    </table>
                                })}
                                <h2>"Invoices in the file"</h2>
                                <table class="table" data-testid="import-invoices">
                                    <thead><tr><th scope="col" class="num">"Row"</th><th scope="col">"Customer"</th><th scope="col">"Invoice"</th>
                                        <th scope="col" class="num">"Lines"</th><th scope="col" class="num">"Total"</th><th scope="col">"Outcome"</th></tr></thead>
                                    <tbody>
                                        {p.invoices.iter().map(|i| {
                                            let total = i.currency.parse().map(|c| money(i.total_minor, c)).unwrap_or_default();
                                            let outcome = match (i.outcome, p.committed_at.is_some()) {
                                                (ImportOutcome::New, false) => "New",
                                                (ImportOutcome::New, true) => "Issued",
                                                (ImportOutcome::AlreadyIssued, _) => "Already issued (unchanged)",
                                            };
                                            view! {
                                                <tr><td class="num">{i.first_row}</td><td>{i.customer_number.clone()}</td><td>{i.number.clone()}</td>
                                                    <td class="num">{i.lines}</td><td class="num">{total}</td><td>{outcome}</td></tr>
                                            }
                                        }).collect_view()}
                                    </tbody>
                                </table>
                                {can_commit.then(|| view! {
                                    <ActionForm action=commit>
                                        <input type="hidden" name="id" value=p.id/>
                                        <button class="button" type="submit">"Issue " {new} " invoices"</button>
                                    </ActionForm>
                                })}
                                <FormError message=Signal::derive(commit_error)/>
                                <p><a href="/admin/imports">"Upload another file"</a></p>
                            </section>
                        }.into_any()
                    }}
        </Loaded>
    }
}

/// `/admin/api-keys` (managers): create a key (shown once), see when each was last used,
/// revoke one at once.
#[component]
pub fn ApiKeysPage() -> impl IntoView {
    let posted_error = posted_error::<CreateApiKey>();
    view! {
        <Title text="API keys"/>
        <ApiKeysPanel posted_error/>
    }
}

/// An island: a new key is the server function's answer, shown once, which only the browser can
/// hold; the list below it follows each creation and revocation.
#[island(lazy)]
fn ApiKeysPanel(posted_error: Option<String>) -> impl IntoView {
    crate::islands::island_alive();
    let create = ServerAction::<CreateApiKey>::new();
    let create_error = island_form_error(create, posted_error);
    let revoke = ServerAction::<RevokeApiKey>::new();
    let keys = Resource::new(
        move || (create.version().get(), revoke.version().get()),
        |_| api_keys(),
    );
    let new_key = move || {
        create
            .value()
            .with(|v| v.as_ref().and_then(|r| r.as_ref().ok().cloned()))
    };
    // A key made by a plain post could not be shown to anyone: the button waits for the island.
    let alive = RwSignal::new(false);
    Effect::new(move |_| alive.set(true));
    view! {
        <section class="card" aria-labelledby="keys-heading">
            <h1 id="keys-heading">"API keys"</h1>
            <p class="hint">
                "ERPs push invoices and credit memos and read payments back through the API, described in "
                <a href="/api/v1/openapi.json">"the OpenAPI document"</a>
                ". Each integration gets its own key; revoking one stops it at once."
            </p>
            <ActionForm action=create attr:class="inline">
                <label>"Label "<input name="label" required maxlength="100" placeholder="e.g. NetSuite production"/></label>
                <button class="button" type="submit" disabled=move || !alive.get()>"Create a key"</button>
            </ActionForm>
            <FormError message=create_error/>
            {move || new_key().map(|key| view! {
                <p class="notice" role="status">"The new key, shown only this once: " <code data-testid="new-api-key">{key}</code></p>
            })}
            <Loaded data=keys let:value>
                {match value {
                        rows if rows.is_empty() => view! { <p class="empty">"No keys yet."</p> }.into_any(),
                        rows => view! {
                            <table class="table" data-testid="api-keys">
                                <thead><tr><th scope="col">"Label"</th><th scope="col">"Created"</th><th scope="col">"Last used"</th><th scope="col">"State"</th></tr></thead>
                                <tbody>
                                    {rows.into_iter().map(|k| view! {
                                        <tr>
                                            <td>{k.label}</td>
                                            <td>{timestamp(&k.created_at)} " by " {k.created_by}</td>
                                            <td>{k.last_used_at.as_deref().map(timestamp).unwrap_or_else(|| "never".into())}</td>
                                            <td>{match k.revoked_at {
                                                Some(at) => view! { <span class="muted">"revoked " {timestamp(&at)}</span> }.into_any(),
                                                None => view! {
                                                    <ActionForm action=revoke attr:class="inline">
                                                        <input type="hidden" name="id" value=k.id/>
                                                        <button class="button danger" type="submit">"Revoke"</button>
                                                    </ActionForm>
                                                }.into_any(),
                                            }}</td>
                                        </tr>
                                    }).collect_view()}
                                </tbody>
                            </table>
                        }.into_any(),
                    }}
            </Loaded>
        </section>
    }
}
