-- The company's logo, printed at the top of every invoice, statement, receipt and transfer
-- instruction: one PNG, checked when a manager uploads it (src/company.rs, Logo::parse).
CREATE TABLE company_logo (
    id          INTEGER PRIMARY KEY CHECK (id = 1),
    png         BYTEA   NOT NULL,
    width       BIGINT  NOT NULL,
    height      BIGINT  NOT NULL,
    updated_at  TEXT    NOT NULL,
    updated_by  BIGINT  REFERENCES users (id)
);
