-- The person page's statement, planned once per connection, as the meeting page's (0031) and
-- Today's (0035) are.
--
-- PostgreSQL kept planning the prepared statement for each call's values: with the page cache
-- off, at bench scale 1, every view of the benchmark's person spent 2.0 ms planning it (the bind
-- step in the server log) and 2.7 ms running it. The plan made for any values runs as fast: the
-- optional filters (a period, the keyset cursor of past meetings) are conditions on one index
-- range of the person's attendee rows, read backwards from now under a limit. The statement
-- moves here as it was, but for the notes that mention the person, which now say how to read
-- them (below); the page still sends one statement.
create function person_page(owner uuid, wanted uuid, as_of timestamptz, from_at timestamptz,
                            to_at timestamptz, after_at timestamptz, after_id uuid,
                            upcoming_shown bigint, past_shown bigint, open_shown bigint,
                            decisions_shown bigint, longest_event_days int,
                            mentions_shown bigint, neighbours_shown bigint)
returns table (person json, upcoming json, past json, they_owe json, i_owe json,
               decisions json, mentions json, neighbours json)
language plpgsql stable
set plan_cache_mode = force_generic_plan
as $$
#variable_conflict use_column
begin
    return query
    select
        row_to_json(p) as person,
        coalesce((select json_agg(u) from (
            select m.* from (
                select a.meeting_id from attendees a
                where a.user_id = owner and a.person_id = p.id
                  and a.starts_at >= as_of - make_interval(days => longest_event_days)
                order by a.starts_at limit upcoming_shown + 10) a
            join meeting_rows m on m.id = a.meeting_id
            where m.status <> 'cancelled' and m.is_meeting and m.same_as is null and m.ends_at >= as_of
            order by m.starts_at limit upcoming_shown) u), '[]') as upcoming,
        coalesce((select json_agg(pm) from (
            select m.* from attendees a join meeting_rows m on m.id = a.meeting_id
            where a.user_id = owner and a.person_id = p.id and a.starts_at < as_of
              and (from_at is null or a.starts_at >= from_at)
              and (to_at is null or a.starts_at < to_at)
              and (after_at is null or (a.starts_at, a.meeting_id) < (after_at, after_id))
              and m.status <> 'cancelled' and m.is_meeting and m.same_as is null
            order by a.starts_at desc, a.meeting_id desc limit past_shown) pm), '[]') as past,
        coalesce((select json_agg(i) from (
            select * from item_rows i
            where i.user_id = owner and i.assignee_id = p.id and i.kind = 'action'
              and not i.done and not i.removed
            order by i.due nulls last limit open_shown) i), '[]') as they_owe,
        -- What the user owes them: the user's open items from meetings this person attended,
        -- kept as rows by the database (migrations/0034).
        coalesce((select json_agg(i) from (
            select i.* from (select o.item_id, o.due from owed_items o
                             where o.user_id = owner and o.person_id = p.id
                             order by o.due nulls last, o.item_id limit open_shown) o
            join item_rows i on i.id = o.item_id
            where i.user_id = owner
            order by o.due nulls last, o.item_id) i), '[]') as i_owe,
        -- Decisions of their latest meetings.
        coalesce((select json_agg(d) from (
            select i.* from (
                select a.meeting_id from attendees a
                where a.user_id = owner and a.person_id = p.id and a.starts_at < as_of
                order by a.starts_at desc limit 50) a
            join item_rows i on i.user_id = owner and i.meeting_id = a.meeting_id
            where i.kind = 'decision' and not i.removed
            order by i.meeting_at desc, i.line limit decisions_shown) d), '[]') as decisions,
        -- Notes with an item assigned to them, or whose text mentions their address (the
        -- `simple` parser keeps an address as one token, so the text index finds candidates).
        coalesce((select json_agg(n) from (
            select n.meeting_id, n.id as note_id,
                   coalesce(nullif(m.title, ''), nullif(n.title, ''), 'Untitled note') as title, n.updated_at
            -- Bounded: exact for anyone mentioned in fewer notes than these limits. Each note
            -- found is a key probe (`offset 0`): a plan made for any person cannot know how few
            -- there are, and hashed every note and meeting of the user instead.
            from (select distinct f.id from notes_mentioning(owner, p.id, 50, 200) f(id)) f
            cross join lateral (select n.id, n.meeting_id, n.title, n.updated_at from notes n
                                where n.id = f.id and n.user_id = owner offset 0) n
            left join lateral (select m.title from meetings m
                               where m.id = n.meeting_id and m.user_id = owner offset 0) m on true
            order by n.updated_at desc limit mentions_shown + 1) n), '[]') as mentions,
        -- The picture: who was in their latest meetings most often, and their organizations.
        coalesce((select json_agg(nb) from (
            select q.id, coalesce(q.name, q.email) as name, q.organization_id,
                   (select o.name from organizations o where o.id = q.organization_id) as organization,
                   c.together
            from (select a2.person_id, count(*) as together
                  from (select a.meeting_id from attendees a
                        where a.user_id = owner and a.person_id = p.id and a.starts_at < as_of
                        order by a.starts_at desc limit 50) recent
                  join attendees a2 on a2.user_id = owner and a2.meeting_id = recent.meeting_id
                  where a2.person_id <> p.id
                  group by a2.person_id) c
            -- A primary-key probe per person counted (the plan hashed all of the user's people).
            cross join lateral (select q.id, q.name, q.email, q.organization_id, q.is_me
                                from people q where q.id = c.person_id offset 0) q
            where not q.is_me
            order by c.together desc, q.id limit neighbours_shown) nb), '[]') as neighbours
     from person_rows p
     where p.user_id = owner and p.id = wanted;
end $$;
