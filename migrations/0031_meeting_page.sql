-- The meeting page's statement, planned once per connection (bench/run: at scale 10 the page
-- took 1.67× its time at scale 1, with the same kind of meeting).
--
-- PostgreSQL plans a prepared statement for each call's values, and after five calls keeps a
-- plan made for any values only when it looks no more expensive. At scale 1 it switched to that
-- plan (0.02 ms planning, 0.95 ms running, EXPLAIN ANALYZE); at scale 10 it kept planning every
-- call (2.5 ms planning, 1.5 ms running), whereas the plan for any values runs in 0.92 ms there.
-- The statement has no optional filter, so one plan serves every meeting: it moves here
-- unchanged, into a PL/pgSQL function that keeps its plan for the session
-- (`plan_cache_mode = force_generic_plan`). The page still sends one statement.
create function meeting_page(owner uuid, wanted uuid, series_meetings int, per_person int)
returns table (
    id uuid, title text, description text, location text, starts_at timestamptz,
    ends_at timestamptz, all_day boolean, start_date date, end_date date, status text,
    join_url text, html_link text, series_id uuid, series_title text, calendar_names text[],
    note_id uuid, note_body text, note_version integer, note_updated_at timestamptz,
    draft_title text, draft_body text, draft_base_version integer, draft_saved_at timestamptz,
    attendees json, items json, carried json, template_body text, recap_sent_at timestamptz,
    previous json, next json)
language plpgsql stable
set plan_cache_mode = force_generic_plan
as $$
#variable_conflict use_column
begin
    return query
    select m.id, m.title, m.description, m.location, m.starts_at, m.ends_at, m.all_day,
            m.start_date, m.end_date, m.status as status, m.join_url, m.html_link, m.series_id,
            s.title as series_title,
            array(select c.name from meetings e join calendars c on c.id = e.calendar_id
                  where e.user_id = owner and (e.id = m.id or e.same_as = m.id)
                  order by e.same_as is not null, c.name) as calendar_names,
            n.id as note_id, n.body as note_body, n.version as note_version,
            n.updated_at as note_updated_at,
            -- The user's unsaved draft of the note, if the editor kept one.
            d.title as draft_title, d.body as draft_body, d.base_version as draft_base_version,
            d.saved_at as draft_saved_at,
            -- Attendees of every copy: a copy may be the only one to list someone (a private copy
            -- on a shared calendar lists nobody).
            coalesce((select json_agg(a order by a.is_organizer desc, a.is_me, a.name) from (
                select distinct on (p.id) p.id as person_id, coalesce(p.name, p.email) as name, p.email,
                       a.response_status, a.is_organizer, p.is_me, o.name as organization
                from meetings e
                join attendees a on a.user_id = owner and a.meeting_id = e.id
                join people p on p.id = a.person_id
                left join organizations o on o.id = p.organization_id
                where e.user_id = owner and (e.id = m.id or e.same_as = m.id)
                order by p.id, e.same_as is not null) a), '[]') as attendees,
            coalesce((select json_agg(i) from (
                select * from item_rows i
                where i.user_id = owner and i.meeting_id = m.id and not i.removed
                order by i.line) i), '[]') as items,
            -- What carries forward (the agenda of an upcoming meeting): open items, open questions
            -- and recent decisions from the last meetings of the series first, then what the other
            -- attendees still owe from anywhere.
            coalesce((select json_agg(c) from (
                select i.* from meeting_agenda(owner, m.id, series_meetings, per_person) r
                join item_rows i on i.id = r.id
                where i.user_id = owner and not i.removed and i.meeting_at < m.starts_at
                  and ((i.kind in ('action', 'question') and not i.done)
                       or (i.kind = 'decision' and i.meeting_at > m.starts_at - interval '60 days'))
                order by r.rank, i.kind = 'decision', i.due nulls last, i.meeting_at desc, i.line
                limit 30) c), '[]') as carried,
            (select t.body from series_templates t
             where t.user_id = owner and t.series_id = m.series_id) as template_body,
            m.recap_sent_at,
            (select json_build_object('id', coalesce(e.same_as, e.id), 'starts_at', e.starts_at) from meetings e
             where e.user_id = owner and e.series_id = m.series_id and e.status <> 'cancelled'
               and e.starts_at < m.starts_at
             order by e.starts_at desc limit 1) as previous,
            (select json_build_object('id', coalesce(e.same_as, e.id), 'starts_at', e.starts_at) from meetings e
             where e.user_id = owner and e.series_id = m.series_id and e.status <> 'cancelled'
               and e.starts_at > m.starts_at
             order by e.starts_at limit 1) as next
         from meetings m
         left join series s on s.id = m.series_id
         left join notes n on n.user_id = m.user_id and n.meeting_id = m.id
         left join drafts d on d.user_id = m.user_id and d.meeting_id = m.id
         where m.id = coalesce((select asked.same_as from meetings asked
                                where asked.id = wanted and asked.user_id = owner), wanted)
           and m.user_id = owner;
end $$;
