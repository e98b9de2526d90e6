-- A private calendar feed of what is due: `/feeds/<token>.ics` serves the user's open action
-- items with due dates to calendar apps, which subscribe by URL and cannot sign in.

-- One feed per user. The token (256 random bits) is shown once, when it is made; only its
-- SHA-256 is kept, so the table cannot be turned back into working feed URLs. Regenerating
-- replaces the hash in place (the old URL stops working at once); revoking deletes the row.
create table feed_tokens (
    user_id    uuid primary key references users (id) on delete cascade,
    token_hash bytea not null check (length(token_hash) = 32),
    created_at timestamptz not null default now(),
    -- When a calendar app last read the feed (kept to within a few minutes: see src/feed.rs).
    fetched_at timestamptz
);
-- Every fetch finds its feed by the hash of the token in the URL.
create unique index feed_tokens_hash_key on feed_tokens (token_hash);

-- The feed's items, soonest due first, up to its limit: an index range that holds only open,
-- dated action items. `items_open_actions_idx` leads with the assignee, so the due order would
-- need every open item of the user read and sorted, and `items_user_kind_idx` also walks
-- removed items (lines deleted from notes, kept as history).
create index items_dated_open_actions_idx on items (user_id, due, id)
    where kind = 'action' and not done and not removed and due is not null;

-- The feed stamps each item with its last change (DTSTAMP), so the view lists it too. Columns
-- are only appended: every existing reader of the view is unchanged.
create or replace view item_rows as
select i.id, i.user_id, i.kind, i.text, i.done, i.answer, i.due, i.hints, i.assignee_id,
       coalesce(p.name, p.email) as assignee_name, p.is_me as assignee_is_me,
       i.meeting_id, m.title as meeting_title, m.starts_at as meeting_at, i.note_id, i.line,
       i.removed, i.created_at, i.updated_at
from items i
left join lateral (select p.name, p.email, p.is_me from people p
                   where p.id = i.assignee_id limit 1) p on true
left join lateral (select m.title, m.starts_at from meetings m
                   where m.id = i.meeting_id limit 1) m on true;
