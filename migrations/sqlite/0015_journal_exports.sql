-- Journal exports for the general ledger: each batch claims the entries no earlier batch has
-- (an entry is in one batch at most: the primary key), so "everything since the last export"
-- neither repeats nor skips an entry, even when entries commit out of id order.
CREATE TABLE journal_exports (
    id              INTEGER PRIMARY KEY,
    created_by      TEXT    NOT NULL,
    created_at      TEXT    NOT NULL,
    entries         INTEGER NOT NULL DEFAULT 0,
    first_date      TEXT,
    last_date       TEXT
);
CREATE TABLE journal_export_entries (
    entry_id        INTEGER PRIMARY KEY REFERENCES journal_entries (id),
    export_id       INTEGER NOT NULL REFERENCES journal_exports (id)
);
CREATE INDEX journal_export_entries_export ON journal_export_entries (export_id, entry_id);
