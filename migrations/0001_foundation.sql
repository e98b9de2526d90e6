-- Settings Docket generates for itself. Today only the development secret key: when
-- DOCKET_SECRET_KEY is unset outside production, the first instance to start stores a random key
-- here so restarts and sibling instances keep the same key (sessions survive, tokens decrypt).
create table generated_secrets (
    name       text primary key,
    value      bytea not null,
    created_at timestamptz not null default now()
);
