//! The pay flow: choose amounts, see exactly where the money goes, hand off to the provider,
//! then follow the checkout until the provider's event has posted it.

use ledgerport::checkout::CheckoutStatus;
use leptos::prelude::*;
use leptos_meta::{Meta, Title};
use leptos_router::hooks::{use_params_map, use_query_map};

use crate::components::{FormError, Loaded, form_error};
use crate::format::{date, money};
use crate::i18n::{Locale, tr, use_locale};
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
            (invoices, amounts, q.get("lang").unwrap_or_default())
        })
    });
    let review = Resource::new(
        move || choice.get(),
        |(invoices, amounts, lang)| review_payment(invoices, amounts, lang),
    );
    let start = ServerAction::<StartPayment>::new();
    let start_error = form_error(start);
    let use_credit = ServerAction::<ApplyCreditFirst>::new();
    let credit_error = form_error(use_credit);
    let transfer = ServerAction::<AnnounceTransfer>::new();
    let transfer_error = form_error(transfer);
    let locale = use_locale();
    view! {
        <Title text=tr!(locale, "pay.title")/>
        <h1>{tr!(locale, "pay.title")}</h1>
        <Loaded data=review let:r>
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
                                // The amounts below are written in this page's language.
                                <input type="hidden" name="lang" value=locale.code()/>
                                <h2>{tr!(locale, "pay.amounts")}</h2>
                                <div class="table-wrap">
                                <table class="table" data-testid="pay-lines">
                                    <thead><tr>
                                        <th scope="col">{tr!(locale, "invoice.invoice")}</th><th scope="col">{tr!(locale, "invoice.due")}</th>
                                        <th scope="col" class="num">{tr!(locale, "invoice.open")}</th><th scope="col" class="num">{tr!(locale, "pay.to_settle")}</th>
                                        <th scope="col" class="num">{tr!(locale, "pay.discount")}</th><th scope="col" class="num">{tr!(locale, "pay.you_pay")}</th>
                                    </tr></thead>
                                    <tbody>
                                        {r.lines.iter().map(|l| {
                                            let settle = locale.plain_decimal(l.pay_minor + l.discount_minor, c.exponent());
                                            let label = tr!(locale, "pay.amount_for", number = l.number.clone());
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
                                <button class="button secondary" type="submit">{tr!(locale, "pay.update")}</button>
                            </form>
                            <section class="card narrow" aria-labelledby="review-heading" data-testid="review">
                                <h2 id="review-heading">{tr!(locale, "pay.review")}</h2>
                                <p>{tr!(locale, "pay.you_pay_prefix")}" "<strong data-testid="pay-total">{money(r.total_minor, c)}</strong>" "
                                   {if r.lines.len() == 1 {
                                       tr!(locale, "pay.for_one_invoice")
                                   } else {
                                       tr!(locale, "pay.for_invoices", count = r.lines.len())
                                   }}
                                   {(discount > 0).then(|| tr!(locale, "pay.including_discount", amount = money(discount, c)))}
                                   ". "{methods_text(locale, &r.methods)}" "{tr!(locale, "pay.details_elsewhere")}</p>
                                {r.card_limit_minor.filter(|limit| r.total_minor > *limit).map(|limit| view! {
                                    <p class="hint" data-testid="card-limit">{if r.methods.is_empty() {
                                        tr!(locale, "pay.card_limit", amount = money(limit, c))
                                    } else {
                                        tr!(locale, "pay.card_limit_other_ways", amount = money(limit, c))
                                    }}</p>
                                })}
                                {(!r.methods.is_empty()).then(|| view! {
                                    <ActionForm action=start attr:class="form">
                                        <input type="hidden" name="items" value=items/>
                                        <FormError message=Signal::derive(start_error)/>
                                        <button class="button" type="submit">{tr!(locale, "pay.pay_amount", amount = money(r.total_minor, c))}</button>
                                    </ActionForm>
                                })}
                            </section>
                            {r.bank_transfer.then(|| view! {
                                <section class="card narrow" aria-labelledby="transfer-heading" data-testid="bank-transfer">
                                    <h2 id="transfer-heading">{tr!(locale, "pay.by_transfer")}</h2>
                                    <p>{tr!(locale, "pay.transfer_text", amount = money(r.total_minor, c))}</p>
                                    <ActionForm action=transfer attr:class="form">
                                        <input type="hidden" name="items" value=transfer_items/>
                                        <FormError message=Signal::derive(transfer_error)/>
                                        <button class="button secondary" type="submit">{tr!(locale, "pay.by_transfer")}</button>
                                    </ActionForm>
                                </section>
                            })}
                            {(r.unapplied_credit_minor > 0).then(|| view! {
                                <section class="card narrow" aria-labelledby="credit-heading" data-testid="use-credit">
                                    <h2 id="credit-heading">{tr!(locale, "pay.credit_first")}</h2>
                                    <p>{tr!(locale, "pay.credit_text", amount = money(r.unapplied_credit_minor, c))}</p>
                                    <ActionForm action=use_credit attr:class="form">
                                        <input type="hidden" name="items" value=credit_items/>
                                        <FormError message=Signal::derive(credit_error)/>
                                        <button class="button secondary" type="submit">{tr!(locale, "pay.apply_credit")}</button>
                                    </ActionForm>
                                </section>
                            })}
                        }.into_any()
                    }}
        </Loaded>
    }
}

/// Where the provider sends the customer back: the checkout's state, followed until the
/// provider's event has been posted (the page reloads itself for a minute meanwhile, with or
/// without JavaScript).
#[component]
pub fn CheckoutPage() -> impl IntoView {
    let params = use_params_map();
    let id = move || params.with(|p| p.get("id").unwrap_or_default());
    let cancel = ServerAction::<CancelPayment>::new();
    let cancel_error = form_error(cancel);
    let query = use_query_map();
    let looked = move || {
        query
            .with(|q| q.get("looked").and_then(|n| n.parse::<u32>().ok()))
            .unwrap_or(0)
    };
    let status = Resource::new(id, checkout_status);
    let locale = use_locale();
    view! {
        <Title text=tr!(locale, "checkout.title")/>
        <Loaded data=status let:view>
            {{
                        let amount = money(view.amount_minor, view.currency);
                        // The provider's answer is on its way: look again every two seconds, for
                        // a minute. A transfer or a debit with a date to settle takes days, so
                        // its page stays put.
                        let looked = looked();
                        let follow = (view.status.in_flight()
                            && view.transfer.is_none()
                            && view.expected_on.is_none()
                            && looked < 30)
                            .then(|| view! {
                                <Meta http_equiv="refresh" content=format!("2;url=?looked={}", looked + 1)/>
                            });
                        let page = match view.status {
                            CheckoutStatus::Processing if view.transfer.is_some() => view! {
                                <TransferAnnounced view=view.clone() cancel=cancel cancel_error=Signal::derive(cancel_error)/>
                            }.into_any(),
                            CheckoutStatus::Expired if view.transfer.is_some() => view! {
                                <section class="card narrow" data-testid="transfer-lapsed">
                                    <h1>{tr!(locale, "checkout.transfer_lapsed")}</h1>
                                    <p class="error" role="alert">{view.failure_message}</p>
                                    <p><a href="/invoices">{tr!(locale, "checkout.back_to_invoices")}</a></p>
                                </section>
                            }.into_any(),
                            CheckoutStatus::Succeeded => view! {
                                <section class="card narrow" data-testid="checkout-succeeded">
                                    <h1>{tr!(locale, "checkout.received")}</h1>
                                    <p class="notice" role="status">{tr!(locale, "checkout.thank_you", amount = amount)}</p>
                                    <p>
                                        {view.payment_id.map(|p| view! { <a class="button" href=format!("/payments/{p}")>{tr!(locale, "checkout.view_receipt")}</a> })}
                                        " " <a href="/">{tr!(locale, "checkout.back_to_account")}</a>
                                    </p>
                                </section>
                            }.into_any(),
                            CheckoutStatus::Open => view! {
                                <section class="card narrow" data-testid="checkout-open">
                                    <h1>{tr!(locale, "checkout.confirming")}</h1>
                                    <p role="status">{tr!(locale, "checkout.waiting", amount = amount)}</p>
                                    <p class="hint">{tr!(locale, "checkout.open_hint")}</p>
                                    <ActionForm action=cancel attr:class="form">
                                        <input type="hidden" name="id" value=view.id.clone()/>
                                        <FormError message=Signal::derive(cancel_error)/>
                                        <button class="button secondary" type="submit">{tr!(locale, "checkout.cancel")}</button>
                                    </ActionForm>
                                </section>
                            }.into_any(),
                            CheckoutStatus::Processing => view! {
                                <section class="card narrow" data-testid="checkout-processing">
                                    <h1>{tr!(locale, "checkout.processing")}</h1>
                                    <p class="notice" role="status">{match (view.method, view.expected_on) {
                                        (Some(method), Some(on)) => tr!(locale, "checkout.on_its_way_expected",
                                            method = method.label_in(locale), amount = amount, date = date(on)),
                                        (Some(method), None) => tr!(locale, "checkout.on_its_way",
                                            method = method.label_in(locale), amount = amount),
                                        (None, _) => tr!(locale, "checkout.bank_on_its_way", amount = amount),
                                    }}" "{tr!(locale, "checkout.processing_hint")}</p>
                                    <p><a href="/invoices">{tr!(locale, "checkout.back_to_invoices")}</a></p>
                                </section>
                            }.into_any(),
                            CheckoutStatus::Returned => view! {
                                <section class="card narrow" data-testid="checkout-returned">
                                    <h1>{tr!(locale, "checkout.returned")}</h1>
                                    <p class="error" role="alert">{view.failure_message}</p>
                                    <p>{tr!(locale, "checkout.open_again")}" "<a href="/invoices">{tr!(locale, "checkout.back_to_invoices")}</a></p>
                                </section>
                            }.into_any(),
                            CheckoutStatus::Failed | CheckoutStatus::Expired => view! {
                                <section class="card narrow" data-testid="checkout-failed">
                                    <h1>{tr!(locale, "checkout.failed")}</h1>
                                    <p class="error" role="alert">{view.failure_message}</p>
                                    <p>{tr!(locale, "checkout.nothing_charged")}" "<a href="/invoices">{tr!(locale, "checkout.back_to_invoices")}</a></p>
                                </section>
                            }.into_any(),
                        };
                        view! { {follow} {page} }
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
    let locale = use_locale();
    view! {
        <section class="card narrow" data-testid="transfer-announced">
            <h1>{tr!(locale, "invoice.transfer_announced")}</h1>
            <p class="notice" role="status">{tr!(locale, "transfer.send",
                amount = money(t.amount_minor, c), date = date(t.held_until))}</p>
            <p class="reference">{tr!(locale, "transfer.reference")}" " <strong data-testid="transfer-reference">{t.reference.to_string()}</strong></p>
            <dl class="facts" data-testid="transfer-details">
                {t.lines(locale).into_iter().map(|(label, value)| view! { <dt>{label}</dt><dd>{value}</dd> }).collect_view()}
            </dl>
            <h2>{tr!(locale, "transfer.for_invoices")}</h2>
            <ul>
                {t.invoices.iter().map(|(number, amount)| view! { <li>{format!("{number}: {}", money(*amount, c))}</li> }).collect_view()}
            </ul>
            <p><a class="button secondary" href=format!("/documents/transfers/{}.pdf", view.id) rel="external">{tr!(locale, "transfer.download")}</a></p>
            <ActionForm action=cancel attr:class="form">
                <input type="hidden" name="id" value=view.id.clone()/>
                <FormError message=cancel_error/>
                <button class="button secondary" type="submit">{tr!(locale, "transfer.withdraw")}</button>
            </ActionForm>
        </section>
    }
    .into_any()
}

/// How a payment can be made, in a sentence.
fn methods_text(locale: Locale, methods: &[ledgerport::payments::PaymentMethod]) -> String {
    let names: Vec<&str> = methods.iter().map(|m| m.label_in(locale)).collect();
    match names.as_slice() {
        [] => String::new(),
        [only] => tr!(locale, "pay.by_one", method = only),
        [first @ .., last] => tr!(
            locale,
            "pay.by_several",
            methods = first.join(", "),
            last = last
        ),
    }
}
