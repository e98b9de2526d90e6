-- Capture without loss: what the editor typed but did not save yet (drafts), and every saved
-- version of a note (history, so a cleared note can be restored).

-- A draft per user and note, kept a second or two after typing stops and when the page is left.
-- It is never the note: saving the note writes a version and deletes the draft. A meeting's
-- draft is keyed by the meeting (its note may not exist yet), a standalone note's by the note,
-- and the one note being written on /notes/new by neither.
create table drafts (
    user_id      uuid not null references users (id) on delete cascade,
    meeting_id   uuid references meetings (id) on delete cascade,
    note_id      uuid references notes (id) on delete cascade,
    -- A standalone note's title (meeting notes have none).
    title        text not null default '' check (length(title) <= 300),
    body         text not null,
    -- The note's version the text was typed over (0: the note did not exist yet). A draft whose
    -- base is older than the note is never applied silently: the editor offers the merge view.
    base_version integer not null check (base_version >= 0),
    saved_at     timestamptz not null default now(),
    constraint drafts_one_target check (meeting_id is null or note_id is null)
);
create unique index drafts_meeting_key on drafts (user_id, meeting_id) where meeting_id is not null;
create unique index drafts_note_key on drafts (user_id, note_id) where note_id is not null;
create unique index drafts_new_note_key on drafts (user_id)
    where meeting_id is null and note_id is null;
-- Foreign keys are indexed for deletes upstream (see 0010).
create index drafts_meeting_fk_idx on drafts (meeting_id) where meeting_id is not null;
create index drafts_note_fk_idx on drafts (note_id) where note_id is not null;

-- Every saved version of a note, the current one included, written by the save itself. The
-- newest `notes::KEPT_VERSIONS` of a note are kept.
create table note_versions (
    user_id    uuid not null references users (id) on delete cascade,
    note_id    uuid not null references notes (id) on delete cascade,
    version    integer not null,
    title      text not null,
    body       text not null,
    created_at timestamptz not null default now(),
    primary key (user_id, note_id, version)
);
create index note_versions_note_fk_idx on note_versions (note_id);

-- History starts with the notes as they are.
insert into note_versions (user_id, note_id, version, title, body, created_at)
select user_id, id, version, title, body, updated_at from notes;
