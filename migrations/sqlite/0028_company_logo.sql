-- The company's logo, printed at the top of every invoice, statement, receipt and transfer
-- instruction: one PNG, checked when a manager uploads it (src/company.rs, Logo::parse).
CREATE TABLE company_logo (
    id          INTEGER PRIMARY KEY CHECK (id = 1),
    png         BLOB    NOT NULL,
    width       INTEGER NOT NULL,
    height      INTEGER NOT NULL,
    updated_at  TEXT    NOT NULL,
    updated_by  INTEGER REFERENCES users (id)
);
