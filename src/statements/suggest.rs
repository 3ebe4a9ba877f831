//! The cash-application queue: credit lines the automatic rules left waiting, each with the
//! customers it may belong to, ranked. The signals are the matching rules' own, weighed instead
//! of required: invoice numbers in the text (of any customer, several customers allowed), an
//! account this payer paid from before, the payer's name, an amount equal to an invoice's open
//! amount or to a customer's total due.

use std::collections::BTreeMap;

use sqlx::Row;

use super::store::{STORED_LINE, invoices_named_in, named_like, paying_from};
use super::{QueuedLine, StoredLine, SuggestedInvoice, Suggestion};
use crate::db::{Db, DbError};
use crate::money::Currency;
use crate::receivables::store::due_invoices;

/// Suggestions shown per line.
const SUGGESTIONS_PER_LINE: usize = 5;

/// Words of a payer's name too common to tell customers apart.
const COMMON_NAME_WORDS: &[&str] = &[
    "the",
    "and",
    "inc",
    "ltd",
    "llc",
    "gmbh",
    "corp",
    "corporation",
    "company",
    "limited",
    "group",
    "holding",
    "holdings",
    "bank",
    "payment",
    "payments",
    "services",
];

/// The oldest waiting credit lines (at most `limit`) with their suggestions, and how many wait
/// in all.
pub async fn cash_queue(db: &Db, limit: i64) -> Result<(i64, Vec<QueuedLine>), DbError> {
    let waiting: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM bank_lines WHERE status = 'unmatched' AND amount_minor > 0",
    )
    .fetch_one(db.pool())
    .await?;
    let lines = sqlx::query_as::<_, StoredLine>(&format!(
        "{STORED_LINE} WHERE l.status = 'unmatched' AND l.amount_minor > 0 \
         ORDER BY l.booked_on, l.id LIMIT {}",
        limit.clamp(1, 200)
    ))
    .fetch_all(db.pool())
    .await?;
    let mut names: BTreeMap<Currency, CustomerNames> = BTreeMap::new();
    let mut queued = Vec::with_capacity(lines.len());
    for line in lines {
        if !names.contains_key(&line.currency) && !distinctive_words(&line.counterparty).is_empty()
        {
            names.insert(line.currency, CustomerNames::of(db, line.currency).await?);
        }
        let suggestions = suggestions_with(db, &line, names.get(&line.currency)).await?;
        queued.push(QueuedLine { line, suggestions });
    }
    Ok((waiting, queued))
}

/// The names of the customers billed in one currency, in lower case: read once for a queue page
/// and searched in memory, rather than one scan of the customers per word of each payer's name.
struct CustomerNames {
    names: Vec<(i64, String)>,
}

impl CustomerNames {
    async fn of(db: &Db, currency: Currency) -> Result<CustomerNames, DbError> {
        let rows: Vec<(i64, String)> =
            sqlx::query_as("SELECT id, name FROM customers WHERE currency = $1 ORDER BY id")
                .bind(currency.code())
                .fetch_all(db.pool())
                .await?;
        Ok(CustomerNames {
            names: rows
                .into_iter()
                .map(|(id, name)| (id, name.to_lowercase()))
                .collect(),
        })
    }

    /// The first ten customers whose name contains `word` (lower case).
    fn with_word(&self, word: &str) -> Vec<i64> {
        self.names
            .iter()
            .filter(|(_, name)| name.contains(word))
            .map(|(id, _)| *id)
            .take(10)
            .collect()
    }
}

/// What points at one customer.
#[derive(Default)]
struct Evidence {
    score: u32,
    reasons: Vec<String>,
    /// Invoices the evidence names, in the order found.
    invoices: Vec<i64>,
}

impl Evidence {
    fn add(&mut self, score: u32, reason: String, invoice: Option<i64>) {
        self.score += score;
        if !self.reasons.contains(&reason) {
            self.reasons.push(reason);
        }
        if let Some(id) = invoice
            && !self.invoices.contains(&id)
        {
            self.invoices.push(id);
        }
    }
}

/// The customers a waiting line may belong to, best first, each with the allocation it would
/// get: the invoices the evidence names first, then (when nothing is named, or the amount is
/// everything due) the customer's oldest due invoices; what is left stays as credit.
pub async fn suggestions_for(db: &Db, line: &StoredLine) -> Result<Vec<Suggestion>, DbError> {
    suggestions_with(db, line, None).await
}

/// [`suggestions_for`], with the customers' names already read (a queue page reads them once).
async fn suggestions_with(
    db: &Db,
    line: &StoredLine,
    names: Option<&CustomerNames>,
) -> Result<Vec<Suggestion>, DbError> {
    let loaded: CustomerNames;
    let pool = db.pool();
    let currency = line.currency;
    let mut evidence: BTreeMap<i64, Evidence> = BTreeMap::new();
    let text = format!("{} {}", line.remittance, line.structured_reference);
    for named in invoices_named_in(pool, &text, currency).await? {
        evidence.entry(named.customer_id).or_default().add(
            50,
            "invoice numbers in the remittance".into(),
            Some(named.invoice_id),
        );
    }
    for customer in paying_from(pool, &line.counterparty_account).await? {
        evidence.entry(customer).or_default().add(
            40,
            format!("paid before from {}", line.counterparty_account),
            None,
        );
    }
    for customer in named_like(pool, &line.counterparty, currency).await? {
        evidence.entry(customer).or_default().add(
            30,
            "the payer's name is the customer's".into(),
            None,
        );
    }
    let words = distinctive_words(&line.counterparty);
    if !words.is_empty() {
        let names = match names {
            Some(names) => names,
            None => {
                loaded = CustomerNames::of(db, currency).await?;
                &loaded
            }
        };
        for word in words {
            for customer in names.with_word(&word) {
                evidence.entry(customer).or_default().add(
                    10,
                    format!("the payer's name has \"{word}\""),
                    None,
                );
            }
        }
    }
    let equal_open = sqlx::query(
        "SELECT i.id, i.customer_id, i.number FROM invoices i \
         JOIN customers c ON c.id = i.customer_id \
         WHERE i.open_minor = $1 AND i.open_minor > 0 AND c.currency = $2 \
         AND i.voided_at IS NULL \
         ORDER BY i.due_date LIMIT 10",
    )
    .bind(line.amount_minor)
    .bind(currency.code())
    .fetch_all(pool)
    .await?;
    for row in &equal_open {
        let number: String = row.try_get("number")?;
        evidence
            .entry(row.try_get("customer_id")?)
            .or_default()
            .add(
                25,
                format!("the amount is what is open on {number}"),
                Some(row.try_get("id")?),
            );
    }
    let mut suggestions = Vec::with_capacity(evidence.len());
    for (customer_id, found) in evidence {
        if let Some(suggestion) = suggest(db, line, customer_id, found).await? {
            suggestions.push(suggestion);
        }
    }
    suggestions.sort_by(|a, b| {
        b.score
            .cmp(&a.score)
            .then_with(|| a.customer_number.cmp(&b.customer_number))
    });
    suggestions.truncate(SUGGESTIONS_PER_LINE);
    Ok(suggestions)
}

/// How the line would be applied to this customer, with the total-due evidence added.
async fn suggest(
    db: &Db,
    line: &StoredLine,
    customer_id: i64,
    mut evidence: Evidence,
) -> Result<Option<Suggestion>, DbError> {
    let Some(customer) = sqlx::query("SELECT number, name FROM customers WHERE id = $1")
        .bind(customer_id)
        .fetch_optional(db.pool())
        .await?
    else {
        return Ok(None);
    };
    let due = due_invoices(db.pool(), customer_id, &[]).await?;
    let total_due: i64 = due.iter().map(|d| d.due_minor).sum();
    if total_due == line.amount_minor {
        evidence.add(20, "the amount is everything due".into(), None);
    }
    let mut order: Vec<&crate::receivables::store::DueInvoice> = evidence
        .invoices
        .iter()
        .filter_map(|id| due.iter().find(|d| d.invoice_id == *id))
        .collect();
    if order.is_empty() || total_due == line.amount_minor {
        for invoice in &due {
            if !order.iter().any(|o| o.invoice_id == invoice.invoice_id) {
                order.push(invoice);
            }
        }
    }
    let mut left = line.amount_minor;
    let mut invoices = Vec::new();
    for invoice in order {
        let apply = invoice.due_minor.min(left);
        if apply <= 0 {
            break;
        }
        invoices.push(SuggestedInvoice {
            invoice_id: invoice.invoice_id,
            number: invoice.number.clone(),
            due_minor: invoice.due_minor,
            apply_minor: apply,
        });
        left -= apply;
    }
    if !evidence.invoices.is_empty() && invoices.is_empty() {
        // The invoices named are paid already: what remains is the customer's credit.
        evidence.add(0, "the invoices named are no longer due".into(), None);
    }
    Ok(Some(Suggestion {
        customer_id,
        customer_number: customer.try_get("number")?,
        customer_name: customer.try_get("name")?,
        invoices,
        credit_minor: left,
        reasons: evidence.reasons,
        score: evidence.score,
    }))
}

/// The words of a payer's name worth looking customers up by: four letters or more, not a
/// legal form or a filler word; at most three.
fn distinctive_words(payer: &str) -> Vec<String> {
    let mut words: Vec<String> = Vec::new();
    for word in payer
        .split(|c: char| !c.is_alphanumeric())
        .map(str::to_lowercase)
        .filter(|w| w.chars().count() >= 4 && !COMMON_NAME_WORDS.contains(&w.as_str()))
    {
        if !words.contains(&word) && words.len() < 3 {
            words.push(word);
        }
    }
    words
}

#[cfg(test)]
mod tests {
    use super::distinctive_words;

    #[test]
    fn a_payers_name_is_looked_up_by_its_distinctive_words() {
        assert_eq!(
            distinctive_words("ACME Fabrication Ltd."),
            vec!["acme".to_string(), "fabrication".to_string()]
        );
        assert_eq!(distinctive_words("The Bank Inc"), Vec::<String>::new());
        assert_eq!(distinctive_words("Öl & Gas Müller GmbH"), vec!["müller"]);
    }
}
