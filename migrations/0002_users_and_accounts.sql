-- People who use Docket, and the Google / Microsoft accounts they sign in with.
-- Every row carries its owner's user_id so the schema can later be distributed by tenant.

create table users (
    id         uuid primary key,
    name       text not null,
    email      text not null,
    -- IANA zone used for "today", due dates and times; set from the primary calendar.
    time_zone  text not null default 'UTC',
    created_at timestamptz not null default now()
);

create table accounts (
    id             uuid primary key,
    user_id        uuid not null references users (id) on delete cascade,
    provider       text not null check (provider in ('google', 'microsoft')),
    -- The provider's stable identity: Google `sub`; Microsoft `tid/oid`. Never the e-mail,
    -- which can change or be reassigned.
    subject        text not null,
    email          text not null,
    name           text not null,
    -- active: synced; needs_reconnect: the grant is dead (invalid_grant, undecryptable token);
    -- needs_permission: calendar scope not granted; disconnected: the user removed it.
    status         text not null default 'active'
                   check (status in ('active', 'needs_reconnect', 'needs_permission', 'disconnected')),
    status_reason  text,
    granted_scopes text not null default '',
    created_at     timestamptz not null default now(),
    updated_at     timestamptz not null default now(),
    -- One provider account belongs to one Docket user, ever.
    constraint accounts_provider_subject_key unique (provider, subject)
);
create index accounts_user_id_idx on accounts (user_id);

-- OAuth tokens, sealed (XChaCha20-Poly1305): key id + nonce + ciphertext, never plaintext.
create table account_tokens (
    account_id        uuid primary key references accounts (id) on delete cascade,
    user_id           uuid not null references users (id) on delete cascade,
    key_id            text not null,
    access_nonce      bytea not null,
    access_ciphertext bytea not null,
    access_expires_at timestamptz not null,
    refresh_nonce      bytea,
    refresh_ciphertext bytea,
    updated_at        timestamptz not null default now()
);
