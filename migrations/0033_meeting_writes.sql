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
