-- Personal access tokens for the JSON API (`/api/v1`, `Authorization: Bearer dkt_…`), made and
-- revoked in Settings.

-- A token's secret (256 random bits) is shown once, when it is made; only its SHA-256 is kept,
-- so the table cannot be turned back into working tokens. Revoking deletes the row.
create table api_tokens (
    id           uuid primary key,
    user_id      uuid not null references users (id) on delete cascade,
    name         text not null check (length(name) between 1 and 100),
    -- read: GET only; read_write: also changes notes and action items.
    scope        text not null check (scope in ('read', 'read_write')),
    token_hash   bytea not null check (length(token_hash) = 32),
    created_at   timestamptz not null default now(),
    -- When the token was last used (kept to within a minute: see src/api/tokens.rs).
    last_used_at timestamptz
);
-- Every API request finds its token by the hash of the secret it sent.
create unique index api_tokens_hash_key on api_tokens (token_hash);
-- Settings lists a user's tokens, oldest first.
create index api_tokens_user_idx on api_tokens (user_id, created_at);
