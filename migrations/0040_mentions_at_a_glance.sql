-- Notes that mention a person by address: one look at every year at once before the walk.
--
-- The walk of migrations/0028 takes the notes year by year, newest first, a statement per year
-- of history. Most people are never mentioned by address, and for them every year was looked
-- up for nothing: at bench scale 10 (twenty years), 0.45 ms of each person page. The lookups
-- of all the years ORed together are one scan of the text index; when it finds no note, the
-- walk is skipped. When it finds one, the walk runs as before, so the notes taken are still the
-- most recent and a person mentioned everywhere still costs a few years' lookups.
create or replace function notes_mentioning(owner uuid, person uuid, assigned_limit bigint,
                                            text_limit bigint)
returns setof uuid
language plpgsql stable
set enable_seqscan = off
set plan_cache_mode = force_generic_plan
as $$
declare
    address text;
    mention tsquery;
    periods record;
    year int;
    anywhere tsquery;
    wanted bigint := coalesce(text_limit, 9223372036854775807);
    got bigint;
begin
    return query
    select i.note_id from items i
    where i.user_id = owner and i.assignee_id = person and not i.removed
    order by i.created_at desc limit assigned_limit;
    select p.email into address from people p where p.user_id = owner and p.id = person;
    mention := plainto_tsquery('simple', coalesce(address, ''));
    if wanted <= 0 or period_tsquery(mention, owner, 0) is null then
        return;
    end if;
    select * into periods from search_periods(owner);
    if periods.newest is null then
        return;
    end if;
    for year in periods.oldest .. periods.newest loop
        anywhere := coalesce(anywhere || period_tsquery(mention, owner, year),
                             period_tsquery(mention, owner, year));
    end loop;
    if not exists (select 1 from notes n
                   where period_tsvector(n.search, n.user_id, search_period(n.updated_at)) @@ anywhere
                     and (n.user_id = owner) is true
                     and position(lower('@' || address) in lower(n.body)) > 0) then
        return;
    end if;
    year := periods.newest;
    while year >= periods.oldest and wanted > 0 loop
        return query
        select n.id from notes n
        where period_tsvector(n.search, n.user_id, search_period(n.updated_at))
              @@ period_tsquery(mention, owner, year)
          and (n.user_id = owner) is true
          and position(lower('@' || address) in lower(n.body)) > 0
        limit wanted;
        get diagnostics got = row_count;
        wanted := wanted - got;
        year := year - 1;
    end loop;
end $$;
