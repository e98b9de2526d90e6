-- Importing a zipped Markdown vault (Settings → Import): each import a user ran, each file of it
-- with its outcome, and where an imported standalone note came from.
--
-- An upload is validated and its files are recorded here in one transaction (a refused archive
-- writes nothing); the files are then written as notes in the background by whichever instance
-- holds the import's lease, so an import outlives the request and the instance that took it.

-- Where an imported standalone note came from: `note:<uuid>` (a note of a Docket export, by the
-- id it had there) or `file:<path>` (a note of any other vault, by its path in the archive). One
-- note per key and user: importing the same archive again finds the note instead of copying it.
alter table notes add column import_key text;
create unique index notes_import_key on notes (user_id, import_key) where import_key is not null;

create table imports (
    id          uuid primary key,
    user_id     uuid not null references users (id) on delete cascade,
    -- The uploaded file's name, as the browser gave it (shown, never used as a path).
    file_name   text not null,
    status      text not null default 'queued' check (status in ('queued', 'running', 'done')),
    -- A Docket export (docket.json at the root, or notes whose front matter has a docket_id):
    -- its derived pages (people, organizations, item lists) are skipped.
    from_docket boolean not null,
    -- The items of docket.json whose due date or assignee the user had set by hand on the
    -- action-items page, which the note text cannot carry; restored once their note is written.
    restore     jsonb not null default '[]',
    files       integer not null,
    -- The instance writing the notes, while its lease lasts; any instance takes over an import
    -- whose lease expired (an instance stopped half-way), and notes already written are found
    -- again, not copied.
    lease_until timestamptz,
    leased_by   text,
    created_at  timestamptz not null default now(),
    started_at  timestamptz,
    finished_at timestamptz
);
create index imports_user_idx on imports (user_id, created_at desc);
-- One unfinished import per user: a second upload waits for the first rather than race it.
create unique index imports_one_unfinished_key on imports (user_id) where status <> 'done';
-- What the background worker polls for: imports left unfinished by a stopped instance.
create index imports_unfinished_idx on imports (lease_until) where status <> 'done';

create table import_files (
    import_id         uuid not null references imports (id) on delete cascade,
    user_id           uuid not null references users (id) on delete cascade,
    -- The file's place in the archive: files are written in this order, and listed in it.
    position          integer not null,
    path              text not null,
    -- meeting: a meeting's note from a Docket export; note: a standalone note from one;
    -- markdown: a note from any other vault; other: a file the import does not take.
    kind              text not null check (kind in ('meeting', 'note', 'markdown', 'other')),
    -- What the file says (front matter, else its name), kept until the file is written.
    title             text not null default '',
    body              text,
    -- The meeting's id in the export (a meeting's file of a Docket export).
    docket_id         uuid,
    note_key          text,
    provider_event_id text,
    ical_uid          text,
    -- The note's date, and where it came from (front matter, file name, zip entry, import day).
    note_date         date,
    date_source       text check (date_source in ('front_matter', 'file_name', 'modified', 'today')),
    created_at        timestamptz,
    updated_at        timestamptz,
    -- Null while the file waits to be written.
    outcome           text check (outcome in ('matched', 'standalone', 'unchanged', 'skipped')),
    matched_by        text check (matched_by in ('docket_id', 'provider_event_id', 'ical_uid', 'date_title')),
    reason            text,
    -- Where the file went. No foreign keys: an import's record outlives a note deleted later,
    -- and deleting a note or a meeting never has to look here.
    note_id           uuid,
    meeting_id        uuid,
    primary key (import_id, position)
);
-- Deleting a user cascades here too; without an index that would scan the table.
create index import_files_user_idx on import_files (user_id);

-- A file's meeting by calendar event id: sync's unique key leads with the calendar, so this
-- lookup goes through the user's calendars; by iCalUID it needs an index of its own.
create index meetings_ical_uid_idx on meetings (user_id, ical_uid) where ical_uid is not null;
