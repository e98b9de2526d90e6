-- The meeting loop around the notes: prepare (a note template per series, a ranked agenda of
-- what is open with these people) and follow up (a recap, marked once sent).

-- The text a series' next note starts from (e.g. the standing agenda of a weekly).
create table series_templates (
    user_id    uuid not null references users (id) on delete cascade,
    series_id  uuid not null references series (id) on delete cascade,
    body       text not null,
    updated_at timestamptz not null default now(),
    primary key (user_id, series_id)
);

-- When the user sent this meeting's recap (Docket opens the mail; it cannot see it sent, so
-- the user says so). Sync never writes it.
alter table meetings add column recap_sent_at timestamptz;

-- What a meeting's agenda draws on, ranked: 0 = items of the last `series_meetings` meetings
-- of its series, 1 = open action items the other attendees owe (at most `per_person` each).
-- Every read is bounded and goes through an index leading with the user; callers filter
-- (open, before the meeting) and order. Shared by the meeting page and Today's prep.
create function meeting_agenda(owner uuid, meeting uuid, series_meetings int, per_person int)
    returns table (id uuid, rank int)
    language sql stable
    as $$
    select c.id, min(c.rank) from (
        select si.id, 0 as rank
        from meetings m
        cross join lateral (
            select e.id from meetings e
            where e.user_id = owner and e.series_id = m.series_id and e.starts_at < m.starts_at
            order by e.starts_at desc limit series_meetings) e
        join items si on si.user_id = owner and si.meeting_id = e.id and not si.removed
        where m.id = meeting and m.user_id = owner
        union all
        select owed.id, 1
        from attendees a
        join people p on p.id = a.person_id and not p.is_me
        cross join lateral (
            select oi.id from items oi
            where oi.user_id = owner and oi.assignee_id = a.person_id and oi.kind = 'action'
              and not oi.done and not oi.removed
            order by oi.due nulls last limit per_person) owed
        where a.meeting_id = meeting and a.user_id = owner
    ) c
    group by c.id
    $$;
