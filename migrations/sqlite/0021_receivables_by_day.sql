-- The whole book's receivables by currency, due date and posting day: what every report "as of
-- a day" for the whole book needs (aging, DSO, CEI), in a few hundred rows per year instead of
-- every journal line. Exact at every moment: a posting appends its receivables lines' sums to
-- the queue in its own transaction (no row two postings share, so no waiting), and a claimed job
-- folds the queue into the summary; readers add the two. The ledger health report proves the
-- sum equal to the journal.
CREATE TABLE receivables_by_day (
    currency       TEXT   NOT NULL CHECK (length(currency) = 3),
    effective_date TEXT   NOT NULL CHECK (length(effective_date) = 10),
    due_date       TEXT   NOT NULL CHECK (length(due_date) = 10),
    -- every receivables line's amount
    amount_minor   BIGINT NOT NULL,
    -- the part posted by issuing invoices (sales, for DSO)
    issued_minor   BIGINT NOT NULL,
    PRIMARY KEY (currency, effective_date, due_date)
);

CREATE TABLE receivables_by_day_queue (
    id             INTEGER PRIMARY KEY,
    currency       TEXT   NOT NULL CHECK (length(currency) = 3),
    effective_date TEXT   NOT NULL CHECK (length(effective_date) = 10),
    due_date       TEXT   NOT NULL CHECK (length(due_date) = 10),
    amount_minor   BIGINT NOT NULL,
    issued_minor   BIGINT NOT NULL
);

INSERT INTO receivables_by_day (currency, effective_date, due_date, amount_minor, issued_minor)
SELECT l.currency, l.effective_date, i.due_date, sum(l.amount_minor),
       sum(CASE WHEN e.kind = 'invoice_issued' THEN l.amount_minor ELSE 0 END)
FROM journal_lines l
JOIN journal_entries e ON e.id = l.entry_id
JOIN invoices i ON i.id = l.invoice_id
WHERE l.account_code = '1100'
GROUP BY l.currency, l.effective_date, i.due_date;

-- Today's whole-book aging moves held amounts into "in dispute": the few held invoices, found
-- without reading every invoice.
CREATE INDEX invoices_held ON invoices (due_date) WHERE held_minor > 0;
