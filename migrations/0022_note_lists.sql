-- The notes list pages through a user's notes newest-edited first (a keyset on this index), so
-- its cost is a page of notes, not every note the user ever wrote.
create index notes_recent_idx on notes (user_id, updated_at desc, id desc);

-- The notes that mention a person: those with an item assigned to them, and those whose text
-- names their address (the `simple` text index finds candidates, the text confirms). The person
-- page asks for its latest few with small limits; the notes list (`/notes?person=`) pages through
-- all of them (a null limit is none).
create function notes_mentioning(owner uuid, person uuid, assigned_limit bigint, text_limit bigint)
returns setof uuid language sql stable as $$
    (select i.note_id from items i
     where i.user_id = owner and i.assignee_id = person and not i.removed
     order by i.created_at desc limit assigned_limit)
    union
    (select n.id from notes n join people p on p.user_id = owner and p.id = person
     where owned_tsvector(n.search, n.user_id) @@ owned_tsquery(plainto_tsquery('simple', p.email), owner)
       and n.user_id = owner and position(lower('@' || p.email) in lower(n.body)) > 0
     limit text_limit)
$$;
