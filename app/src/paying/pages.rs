//! The pay flow: choose amounts, see exactly where the money goes, hand off to the provider,
//! then follow the checkout until the provider's event has posted it.

use ledgerport::checkout::CheckoutStatus;
use ledgerport::money::Money;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_params_map, use_query_map};

use crate::components::{FormError, Loaded, form_error};
use crate::format::{date, money};
use crate::paying::{
    AnnounceTransfer, ApplyCreditFirst, CancelPayment, StartPayment, checkout_status,
    review_payment,
};

/// `/pay?invoice=1&invoice=2[&amount=10.00&amount=5.00]`, or `/pay?all=1` for everything open.
#[component]
pub fn PayPage() -> impl IntoView {
    let query = use_query_map();
    let choice = Memo::new(move |_| {
        query.with(|q| {
            let invoices = q.get_all("invoice").unwrap_or_default().join(",");
            let amounts = q.get_all("amount").unwrap_or_default().join(";");
            (invoices, amounts)
        })
    });
    let review = Resource::new(
        move || choice.get(),
        |(invoices, amounts)| review_payment(invoices, amounts),
    );
    let start = ServerAction::<StartPayment>::new();
    let start_error = form_error(start);
    let use_credit = ServerAction::<ApplyCreditFirst>::new();
    let credit_error = form_error(use_credit);
    let transfer = ServerAction::<AnnounceTransfer>::new();
    let transfer_error = form_error(transfer);
    let navigate = leptos_router::hooks::use_navigate();
    Effect::new(move |_| {
        let next = use_credit.value().get().or_else(|| transfer.value().get());
        if let Some(Ok(next)) = next {
            navigate(&next, Default::default());
        }
    });
    // The hosted page is outside the app: leave it with a full page load.
    Effect::new(move |_| {
        if let Some(Ok(url)) = start.value().get() {
            #[cfg(feature = "hydrate")]
            if let Err(e) = window().location().set_href(&url) {
                leptos::logging::error!("cannot open the payment page: {e:?}");
            }
            #[cfg(not(feature = "hydrate"))]
            let _ = url;
        }
    });
    view! {
        <Title text="Pay invoices"/>
        <h1>"Pay invoices"</h1>
        <Loaded data=review loading="Working out your payment…" let:r>
            {{
                        let c = r.currency;
                        let items = r.lines.iter()
                            .map(|l| format!("{}:{}", l.invoice_id, l.pay_minor + l.discount_minor))
                            .collect::<Vec<_>>().join(";");
                        let credit_items = items.clone();
                        let transfer_items = items.clone();
                        let discount: i64 = r.lines.iter().map(|l| l.discount_minor).sum();
                        view! {
                            <form method="get" action="/pay" class="card">
                                <h2>"Amounts"</h2>
                                <div class="table-wrap">
                                <table class="table" data-testid="pay-lines">
                                    <thead><tr>
                                        <th scope="col">"Invoice"</th><th scope="col">"Due"</th>
                                        <th scope="col" class="num">"Open"</th><th scope="col" class="num">"Amount to settle"</th>
                                        <th scope="col" class="num">"Discount"</th><th scope="col" class="num">"You pay"</th>
                                    </tr></thead>
                                    <tbody>
                                        {r.lines.iter().map(|l| {
                                            let settle = Money::from_minor(l.pay_minor + l.discount_minor, c).decimal_text();
                                            let label = format!("Amount for {}", l.number);
                                            view! {
                                                <tr>
                                                    <td>{l.number.clone()}<input type="hidden" name="invoice" value=l.invoice_id/></td>
                                                    <td>{date(l.due_date)}</td>
                                                    <td class="num">{money(l.open_minor, c)}</td>
                                                    <td class="num"><input class="amount" name="amount" inputmode="decimal"
                                                        aria-label=label value=settle/></td>
                                                    <td class="num">{if l.discount_minor > 0 { money(l.discount_minor, c) } else { "—".into() }}</td>
                                                    <td class="num">{money(l.pay_minor, c)}</td>
                                                </tr>
                                            }
                                        }).collect_view()}
                                    </tbody>
                                </table>
                                </div>
                                <button class="button secondary" type="submit">"Update amounts"</button>
                            </form>
                            <section class="card narrow" aria-labelledby="review-heading" data-testid="review">
                                <h2 id="review-heading">"Review"</h2>
                                <p>"You pay " <strong data-testid="pay-total">{money(r.total_minor, c)}</strong>
                                   " for " {r.lines.len()} " invoice(s)"
                                   {(discount > 0).then(|| format!(", including an early-payment discount of {}", money(discount, c)))}
                                   ". "{methods_text(&r.methods)}" Payment details are entered on the payment provider's page, never here."</p>
                                {r.card_limit_minor.filter(|limit| r.total_minor > *limit).map(|limit| view! {
                                    <p class="hint" data-testid="card-limit">{format!(
                                        "Payments above {} are not taken by card{}.",
                                        money(limit, c),
                                        if r.methods.is_empty() { "" } else { ": pay by bank debit or transfer" }
                                    )}</p>
                                })}
                                {(!r.methods.is_empty()).then(|| view! {
                                    <ActionForm action=start attr:class="form">
                                        <input type="hidden" name="items" value=items/>
                                        <FormError message=Signal::derive(start_error)/>
                                        <button class="button" type="submit">{format!("Pay {}", money(r.total_minor, c))}</button>
                                    </ActionForm>
                                })}
                            </section>
                            {r.bank_transfer.then(|| view! {
                                <section class="card narrow" aria-labelledby="transfer-heading" data-testid="bank-transfer">
                                    <h2 id="transfer-heading">"Pay by bank transfer"</h2>
                                    <p>"Send " <strong>{money(r.total_minor, c)}</strong>
                                       " from your own bank. You get a reference to quote and our bank details; these invoices are then held for you (not due, no reminders) while the money is on its way."</p>
                                    <ActionForm action=transfer attr:class="form">
                                        <input type="hidden" name="items" value=transfer_items/>
                                        <FormError message=Signal::derive(transfer_error)/>
                                        <button class="button secondary" type="submit">"Pay by bank transfer"</button>
                                    </ActionForm>
                                </section>
                            })}
                            {(r.unapplied_credit_minor > 0).then(|| view! {
                                <section class="card narrow" aria-labelledby="credit-heading" data-testid="use-credit">
                                    <h2 id="credit-heading">"Use your credit first"</h2>
                                    <p>"You have " <strong>{money(r.unapplied_credit_minor, c)}</strong>
                                       " of unapplied credit. Apply it to these invoices now and pay only the rest by card."</p>
                                    <ActionForm action=use_credit attr:class="form">
                                        <input type="hidden" name="items" value=credit_items/>
                                        <FormError message=Signal::derive(credit_error)/>
                                        <button class="button secondary" type="submit">"Apply my credit"</button>
                                    </ActionForm>
                                </section>
                            })}
                        }.into_any()
                    }}
        </Loaded>
    }
}

/// Where the provider sends the customer back: the checkout's state, followed until the
/// provider's event has been posted (polling; a plain reload works without JavaScript).
#[component]
pub fn CheckoutPage() -> impl IntoView {
    let params = use_params_map();
    let id = move || params.with(|p| p.get("id").unwrap_or_default());
    let cancel = ServerAction::<CancelPayment>::new();
    let cancel_error = form_error(cancel);
    let status = Resource::new(
        move || (id(), cancel.version().get()),
        |(id, _)| checkout_status(id),
    );
    #[cfg(feature = "hydrate")]
    {
        let handle = set_interval_with_handle(
            move || {
                // An announced transfer waits for days: nothing to poll for.
                if let Some(Ok(view)) = status.get_untracked()
                    && view.status.in_flight()
                    && view.transfer.is_none()
                {
                    status.refetch();
                }
            },
            std::time::Duration::from_millis(1000),
        );
        if let Ok(handle) = handle {
            on_cleanup(move || handle.clear());
        }
    }
    view! {
        <Title text="Payment"/>
        <Loaded data=status loading="Checking your payment…" let:view>
            {{
                        let amount = money(view.amount_minor, view.currency);
                        match view.status {
                            CheckoutStatus::Processing if view.transfer.is_some() => view! {
                                <TransferAnnounced view=view.clone() cancel=cancel cancel_error=Signal::derive(cancel_error)/>
                            }.into_any(),
                            CheckoutStatus::Expired if view.transfer.is_some() => view! {
                                <section class="card narrow" data-testid="transfer-lapsed">
                                    <h1>"Transfer no longer awaited"</h1>
                                    <p class="error" role="alert">{view.failure_message}</p>
                                    <p><a href="/invoices">"Back to invoices"</a></p>
                                </section>
                            }.into_any(),
                            CheckoutStatus::Succeeded => view! {
                                <section class="card narrow" data-testid="checkout-succeeded">
                                    <h1>"Payment received"</h1>
                                    <p class="notice" role="status">{format!("Thank you: {amount} is applied to your account.")}</p>
                                    <p>
                                        {view.payment_id.map(|p| view! { <a class="button" href=format!("/payments/{p}")>"View receipt"</a> })}
                                        " " <a href="/">"Back to your account"</a>
                                    </p>
                                </section>
                            }.into_any(),
                            CheckoutStatus::Open => view! {
                                <section class="card narrow" data-testid="checkout-open">
                                    <h1>"Confirming your payment"</h1>
                                    <p role="status">{format!("Waiting for the payment provider to confirm {amount}…")}</p>
                                    <p class="hint">"While this payment is open its invoices are not offered for payment again."</p>
                                    <ActionForm action=cancel attr:class="form">
                                        <input type="hidden" name="id" value=view.id.clone()/>
                                        <FormError message=Signal::derive(cancel_error)/>
                                        <button class="button secondary" type="submit">"Cancel this payment"</button>
                                    </ActionForm>
                                </section>
                            }.into_any(),
                            CheckoutStatus::Processing => view! {
                                <section class="card narrow" data-testid="checkout-processing">
                                    <h1>"Payment processing"</h1>
                                    <p class="notice" role="status">{format!(
                                        "Your {} payment of {amount} is on its way{}. Its invoices show it as in progress and are not due meanwhile; you will get a receipt when it settles.",
                                        view.method.map(|m| m.label()).unwrap_or("bank"),
                                        view.expected_on.map(|on| format!(" and expected by {}", date(on))).unwrap_or_default()
                                    )}</p>
                                    <p><a href="/invoices">"Back to invoices"</a></p>
                                </section>
                            }.into_any(),
                            CheckoutStatus::Returned => view! {
                                <section class="card narrow" data-testid="checkout-returned">
                                    <h1>"The payment was returned"</h1>
                                    <p class="error" role="alert">{view.failure_message}</p>
                                    <p>"The invoices it paid are open again. "<a href="/invoices">"Back to invoices"</a></p>
                                </section>
                            }.into_any(),
                            CheckoutStatus::Failed | CheckoutStatus::Expired => view! {
                                <section class="card narrow" data-testid="checkout-failed">
                                    <h1>"The payment did not go through"</h1>
                                    <p class="error" role="alert">{view.failure_message}</p>
                                    <p>"Nothing was charged and your balance is unchanged. "<a href="/invoices">"Back to invoices"</a></p>
                                </section>
                            }.into_any(),
                        }
                    }}
        </Loaded>
    }
}

/// An announced transfer: what to send where, with which reference, and until when its
/// invoices are held back.
#[component]
fn TransferAnnounced(
    view: ledgerport::checkout::CheckoutView,
    cancel: ServerAction<CancelPayment>,
    cancel_error: Signal<Option<String>>,
) -> impl IntoView {
    let Some(t) = view.transfer else {
        return ().into_any();
    };
    let c = t.currency;
    view! {
        <section class="card narrow" data-testid="transfer-announced">
            <h1>"Transfer announced"</h1>
            <p class="notice" role="status">{format!(
                "Send {} to the account below and quote the reference exactly. Until {} these invoices are not due and you get no reminders for them.",
                money(t.amount_minor, c), date(t.held_until)
            )}</p>
            <p class="reference">"Reference " <strong data-testid="transfer-reference">{t.reference.to_string()}</strong></p>
            <dl class="facts" data-testid="transfer-details">
                {t.lines().into_iter().map(|(label, value)| view! { <dt>{label}</dt><dd>{value}</dd> }).collect_view()}
            </dl>
            <h2>"For invoices"</h2>
            <ul>
                {t.invoices.iter().map(|(number, amount)| view! { <li>{format!("{number}: {}", money(*amount, c))}</li> }).collect_view()}
            </ul>
            <p><a class="button secondary" href=format!("/documents/transfers/{}.pdf", view.id) rel="external">"Download the instructions (PDF)"</a></p>
            <ActionForm action=cancel attr:class="form">
                <input type="hidden" name="id" value=view.id.clone()/>
                <FormError message=cancel_error/>
                <button class="button secondary" type="submit">"Withdraw this transfer"</button>
            </ActionForm>
        </section>
    }
    .into_any()
}

/// How a payment can be made, in a sentence.
fn methods_text(methods: &[ledgerport::payments::PaymentMethod]) -> String {
    let names: Vec<&str> = methods.iter().map(|m| m.label()).collect();
    match names.as_slice() {
        [] => String::new(),
        [only] => format!("Pay by {only}."),
        [first @ .., last] => format!("Pay by {} or {last}.", first.join(", ")),
    }
}
