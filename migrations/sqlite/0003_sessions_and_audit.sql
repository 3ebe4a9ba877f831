-- Server-side sessions behind the JWT cookie, sign-in attempts for rate limiting, the audit log.

CREATE TABLE sessions (
    -- random 128-bit id (hex), carried in the JWT as `sid`
    id            TEXT    PRIMARY KEY,
    user_id       INTEGER NOT NULL REFERENCES users (id),
    created_at    TEXT    NOT NULL,
    last_seen_at  TEXT    NOT NULL,
    -- absolute timeout: no renewal extends a session past this
    expires_at    TEXT    NOT NULL,
    revoked_at    TEXT,
    ip            TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX sessions_user ON sessions (user_id);

CREATE TABLE login_attempts (
    id         INTEGER PRIMARY KEY,
    email      TEXT    NOT NULL,
    ip         TEXT    NOT NULL,
    at         TEXT    NOT NULL,
    succeeded  BOOLEAN NOT NULL
);
CREATE INDEX login_attempts_email ON login_attempts (email, at);
CREATE INDEX login_attempts_ip ON login_attempts (ip, at);

CREATE TABLE audit_log (
    id             INTEGER PRIMARY KEY,
    at             TEXT    NOT NULL,
    actor_user_id  INTEGER REFERENCES users (id),
    -- who, readable even without the users row (e.g. a failed sign-in for an unknown email)
    actor          TEXT    NOT NULL,
    action         TEXT    NOT NULL,
    subject        TEXT    NOT NULL DEFAULT '',
    detail         TEXT    NOT NULL DEFAULT '',
    ip             TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX audit_log_at ON audit_log (at);
CREATE INDEX audit_log_actor ON audit_log (actor_user_id, at);
