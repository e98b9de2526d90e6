-- What each meetings row written costs, for a first sync's tens of thousands (bench/sync).

-- The search keys of a row (migrations/0028) in PL/pgSQL: as SQL the function is never inlined
-- (array_to_string is only stable), so every row written ran it through the SQL-function
-- executor; PL/pgSQL evaluates it as a simple expression. Same results, so the indexes on it
-- stay valid; 50,000 rows: 0.35 s → 0.15 s.
create or replace function period_tsvector(search tsvector, owner uuid, period integer)
    returns tsvector language plpgsql immutable parallel safe as $$
declare
    prefix text := search_key_prefix(owner, period);
begin
    if length(search) = 0 then
        return search;
    end if;
    return array_to_tsvector(string_to_array(
        prefix || array_to_string(tsvector_to_array(search), chr(1) || prefix), chr(1)));
end $$;

-- A series' meetings are read by (user_id, series_id, starts_at); nine meetings in ten belong
-- to no series, and every one of them was an entry of the index. Every reader names a series
-- (`series_id = …`), which proves the predicate.
drop index meetings_series_idx;
create index meetings_series_idx on meetings (user_id, series_id, starts_at)
    where series_id is not null;

-- A meeting's calendar and owner are one reference, checked once per row written instead of
-- twice: a calendar of that owner. The owner's meetings still go with the owner, through their
-- calendars.
create unique index calendars_id_user_key on calendars (id, user_id);
alter table meetings
    add constraint meetings_calendar_user_fkey foreign key (calendar_id, user_id)
        references calendars (id, user_id) on delete cascade,
    drop constraint meetings_calendar_id_fkey,
    drop constraint meetings_user_id_fkey;

-- A listing regroups every invitation it wrote (one meeting per invitation, migrations/0029),
-- and most have one copy that points nowhere: nothing to decide. Only invitations with several
-- copies, or a copy that points at another, go through the locks and the window over their
-- copies (a first sync of 10,000 events per calendar spent a tenth of its database time here).
create or replace function meetings_regroup(owner uuid, uids text[], writer_calendar uuid)
returns void language plpgsql as $$
declare
    r record;
    held uuid[];
    busy text[];
begin
    uids := array(select m.ical_uid from meetings m
                  where m.user_id = owner and m.ical_uid = any(uids)
                  group by m.ical_uid
                  having count(*) > 1 or bool_or(m.same_as is not null));
    if cardinality(uids) = 0 then
        return;
    end if;
    held := array(select m.id from meetings m
                  where m.user_id = owner and m.ical_uid = any(uids)
                    and m.calendar_id <> writer_calendar
                  for no key update of m skip locked);
    busy := array(select distinct m.ical_uid from meetings m
                  where m.user_id = owner and m.ical_uid = any(uids)
                    and m.calendar_id <> writer_calendar and m.id <> all(held));
    if cardinality(busy) > 0 then
        uids := array(select u from unnest(uids) u where u <> all(busy));
    end if;
    for r in
        with members as (
            select m.id, m.calendar_id, m.same_as,
                   first_value(m.id) over w as canonical,
                   first_value(m.calendar_id) over w as canonical_calendar
            from meetings m
            cross join lateral (select c.is_primary from calendars c
                                where c.id = m.calendar_id) c
            where m.user_id = owner and m.ical_uid = any(uids)
            window w as (partition by m.ical_uid, m.original_start
                         order by m.status = 'cancelled', not c.is_primary,
                                  m.same_as is not null, m.created_at, m.id))
        select id, case when id = canonical or calendar_id = canonical_calendar then null
                        else canonical end as target
        from members
        where same_as is distinct from case when id = canonical or calendar_id = canonical_calendar
                                            then null else canonical end
        -- Canonical rows first: a row becomes canonical before others point at it.
        order by 2 nulls first
    loop
        update meetings set same_as = r.target where id = r.id;
        if r.target is not null then
            perform meetings_merge_note(owner, r.id, r.target);
        end if;
    end loop;
end $$;
