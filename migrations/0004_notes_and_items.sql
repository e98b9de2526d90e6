-- Notes and the records their lines become. The note text is the source of truth; items are
-- derived from it on every save and keep a stable identity across edits (see notes::grammar).
-- Notes reference meetings without cascading: nothing upstream ever deletes a note.

create table notes (
    id         uuid primary key,
    user_id    uuid not null references users (id) on delete cascade,
    -- null for a note that stands alone
    meeting_id uuid references meetings (id) on delete set null,
    title      text not null default '',
    body       text not null default '',
    -- Optimistic concurrency: a save names the version it was based on.
    version    integer not null default 1,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    search     tsvector generated always as (to_tsvector('simple', title || ' ' || body)) stored
);
-- One note per meeting.
create unique index notes_meeting_key on notes (user_id, meeting_id) where meeting_id is not null;
create index notes_search_idx on notes using gin (search);

create table items (
    id           uuid primary key,
    user_id      uuid not null references users (id) on delete cascade,
    note_id      uuid not null references notes (id) on delete cascade,
    meeting_id   uuid references meetings (id) on delete set null,
    kind         text not null check (kind in ('action', 'decision', 'question')),
    text         text not null,
    done         boolean not null default false,
    done_at      timestamptz,
    answer       text,
    assignee_id  uuid references people (id) on delete set null,
    mention      text,
    due          date,
    hints        text[] not null default '{}',
    line         integer not null,
    fingerprint  text not null,
    -- An item whose line was deleted from the note stays (history) but is no longer live.
    removed      boolean not null default false,
    created_at   timestamptz not null default now(),
    updated_at   timestamptz not null default now(),
    search       tsvector generated always as (to_tsvector('simple', text)) stored
);
create index items_user_kind_idx on items (user_id, kind, done, due);
create index items_assignee_idx on items (user_id, assignee_id);
create index items_note_idx on items (note_id);
create index items_search_idx on items using gin (search);

-- Full-text search over meetings and people.
alter table meetings add column search tsvector
    generated always as (to_tsvector('simple', title || ' ' || description || ' ' || location)) stored;
create index meetings_search_idx on meetings using gin (search);
alter table people add column search tsvector
    generated always as (to_tsvector('simple', coalesce(name, '') || ' ' || email)) stored;
create index people_search_idx on people using gin (search);

-- A due date or assignee changed on the action-items page wins over what the note line says
-- until the user edits it again there.
alter table items add column due_set_by_user boolean not null default false;
alter table items add column assignee_set_by_user boolean not null default false;
