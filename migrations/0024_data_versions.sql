-- A version number per user that changes whenever anything their pages show changes, so that an
-- instance may keep a page's data in memory and know, from the session statement every request
-- already sends, whether it still holds (src/page_cache.rs).
--
-- The number moves in the writing transaction itself, at its commit (deferred constraint
-- triggers): a reader sees either the old rows and the old number or the new rows and the new
-- number, on every instance at once. Taking the row lock at commit rather than at the first
-- write keeps lock order simple: a transaction waiting for it has no more rows to lock, so the
-- bump can never close a deadlock cycle, and a long transaction does not block the user's other
-- writes while it runs.
create table data_versions (
    user_id uuid primary key references users (id) on delete cascade,
    version bigint not null default 0
);
insert into data_versions (user_id) select id from users;

create function data_versions_add_user() returns trigger language plpgsql as $$
begin
    insert into data_versions (user_id) values (new.id);
    return null;
end $$;
create trigger users_data_version after insert on users
    for each row execute function data_versions_add_user();

-- Once per user and transaction, however many rows changed: the first of the transaction's
-- deferred events bumps, the others see the marker and return.
create function data_versions_bump() returns trigger language plpgsql as $$
declare
    owner uuid;
begin
    if tg_op = 'DELETE' then
        owner := old.user_id;
    else
        owner := new.user_id;
    end if;
    if current_setting('docket.version_bumped', true) = owner::text then
        return null;
    end if;
    update data_versions set version = version + 1 where user_id = owner;
    perform set_config('docket.version_bumped', owner::text, true);
    return null;
end $$;

-- Every table a cached page reads. Sync's listing transaction (marked by
-- `docket.attendee_names = 'sync'`, migrations/0023) bumps once itself before it commits
-- instead of queueing an event for each of its thousands of rows.
do $$
declare
    t text;
begin
    foreach t in array array['meetings', 'attendees', 'people', 'organizations', 'person_stats',
                             'series', 'series_templates', 'calendars', 'accounts', 'notes',
                             'items', 'drafts'] loop
        execute format(
            'create constraint trigger %I after insert or update or delete on %I
                 deferrable initially deferred for each row
                 when (current_setting(''docket.attendee_names'', true) is distinct from ''sync'')
                 execute function data_versions_bump()',
            t || '_data_version', t);
    end loop;
end $$;
