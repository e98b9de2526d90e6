-- "You owe them" on a person's page, kept as rows: one per open action item assigned to the
-- user, for each attendee of the item's meeting.
--
-- The page probed the user's open items in due order, checking for each whether the person
-- attended its meeting, until it had found a page of them. That costs what the page shows only
-- for someone the user meets often: for someone met once, every open item of the user's was
-- probed (EXPLAIN ANALYZE at bench scale 10: 14,400 probes, 80 ms; 680 probes, 4.3 ms, for the
-- benchmark's person of 1,518 meetings). Here the page reads its rows from one index range.
--
-- Rows follow the items (insert, update, delete) and the attendees (insert, delete, a row moved
-- to another meeting or person) through the triggers below, and a person who becomes
-- or stops being the user. Only open actions assigned to the user make rows, so a first sync,
-- whose meetings have no items yet, pays one index probe per meeting it writes.
create table owed_items (
    user_id    uuid not null references users (id) on delete cascade,
    meeting_id uuid not null,
    item_id    uuid not null,
    person_id  uuid not null,
    due        date,
    -- Led by the owner (the tenant key); a meeting's rows are one range of it, for the
    -- triggers, which know the meeting of every item and attendee row they see.
    primary key (user_id, meeting_id, item_id, person_id)
);
-- The person page: their rows in due order (undated last), a page of them.
create index owed_items_page_idx on owed_items (user_id, person_id, due nulls last, item_id);

-- A row for each attendee of each given item that is an open action assigned to the user.
create function owed_items_add(item_ids uuid[]) returns void language sql as $$
    insert into owed_items (user_id, meeting_id, item_id, person_id, due)
    select i.user_id, i.meeting_id, i.id, a.person_id, i.due
    from items i
    join attendees a on a.user_id = i.user_id and a.meeting_id = i.meeting_id
    where i.id = any(item_ids) and i.kind = 'action' and not i.done and not i.removed
      and i.meeting_id is not null
      and exists (select 1 from people me where me.id = i.assignee_id and me.is_me)
    on conflict do nothing
$$;

-- Items: a row written (or changed in what makes it owed) refreshes its rows. A note save
-- rewrites its items whole, so rows whose owed state is unchanged are skipped.
create function items_owed() returns trigger language plpgsql as $$
declare
    changed uuid[];
begin
    if tg_op = 'DELETE' then
        delete from owed_items o using old_rows i
        where o.user_id = i.user_id and o.meeting_id = i.meeting_id and o.item_id = i.id;
        return null;
    end if;
    if tg_op = 'INSERT' then
        select array_agg(i.id order by i.id) into changed
        from new_rows i
        where i.kind = 'action' and not i.done and not i.removed and i.meeting_id is not null
          and i.assignee_id is not null;
    else
        select array_agg(n.id order by n.id) into changed
        from new_rows n join old_rows o on o.id = n.id
        where (o.kind, o.done, o.removed, o.assignee_id, o.due, o.meeting_id)
              is distinct from (n.kind, n.done, n.removed, n.assignee_id, n.due, n.meeting_id);
        delete from owed_items o using old_rows i
        where i.id = any(changed)
          and o.user_id = i.user_id and o.meeting_id = i.meeting_id and o.item_id = i.id;
    end if;
    if changed is null then
        return null;
    end if;
    -- A sync writing these meetings' attendees holds their rows (it inserted or updated them)
    -- until it commits: wait for it, so that the insert below sees its attendees. A sync that
    -- comes after waits for this transaction in turn, and then sees these items.
    perform 1 from meetings m
    where m.id in (select i.meeting_id from items i where i.id = any(changed))
    order by m.id
    for share of m;
    perform owed_items_add(changed);
    return null;
end $$;

create trigger items_owed_in after insert on items
    referencing new table as new_rows
    for each statement execute function items_owed();
create trigger items_owed_changed after update on items
    referencing old table as old_rows new table as new_rows
    for each statement execute function items_owed();
create trigger items_owed_out after delete on items
    referencing old table as old_rows
    for each statement execute function items_owed();

-- Attendees: rows for the user's open items of each meeting an attendee row joins, and none
-- once it leaves. One probe of a meeting's items per meeting written (`offset 0` keeps it a
-- probe: the transition table has no statistics, and a hash join would read every item).
create function attendees_owed() returns trigger language plpgsql as $$
begin
    if tg_op = 'DELETE' then
        delete from owed_items o using old_rows a
        where o.user_id = a.user_id and o.meeting_id = a.meeting_id
          and o.person_id = a.person_id;
    else
        insert into owed_items (user_id, meeting_id, item_id, person_id, due)
        select a.user_id, a.meeting_id, i.id, a.person_id, i.due
        from (select distinct user_id, meeting_id from new_rows) m
        cross join lateral (
            select i.id, i.due from items i
            where i.user_id = m.user_id and i.meeting_id = m.meeting_id and not i.removed
              and i.kind = 'action' and not i.done
              and exists (select 1 from people me where me.id = i.assignee_id and me.is_me)
            offset 0) i
        join new_rows a on a.user_id = m.user_id and a.meeting_id = m.meeting_id
        on conflict do nothing;
    end if;
    return null;
end $$;

create trigger attendees_owed_in after insert on attendees
    referencing new table as new_rows
    for each statement execute function attendees_owed();
-- A row pointed elsewhere (no writer does it today) is refreshed on its own.
create function attendees_owed_moved() returns trigger language plpgsql as $$
begin
    delete from owed_items o
    where o.user_id = old.user_id and o.meeting_id = old.meeting_id
      and o.person_id = old.person_id;
    insert into owed_items (user_id, meeting_id, item_id, person_id, due)
    select new.user_id, new.meeting_id, i.id, new.person_id, i.due
    from items i
    where i.user_id = new.user_id and i.meeting_id = new.meeting_id and not i.removed
      and i.kind = 'action' and not i.done
      and exists (select 1 from people me where me.id = i.assignee_id and me.is_me)
    on conflict do nothing;
    return null;
end $$;

create trigger attendees_owed_moved after update of user_id, meeting_id, person_id on attendees
    for each row
    when (old.user_id is distinct from new.user_id or old.meeting_id is distinct from new.meeting_id
          or old.person_id is distinct from new.person_id)
    execute function attendees_owed_moved();
create trigger attendees_owed_out after delete on attendees
    referencing old table as old_rows
    for each statement execute function attendees_owed();

-- A person who becomes the user (a second account's address) makes the items assigned to them
-- owed; one who stops being the user takes theirs away.
create function people_owed_me_changed() returns trigger language plpgsql as $$
begin
    if new.is_me then
        perform owed_items_add(array(
            select i.id from items i
            where i.user_id = new.user_id and i.assignee_id = new.id
              and i.kind = 'action' and not i.done and not i.removed));
    else
        delete from owed_items o using items i
        where i.user_id = new.user_id and i.assignee_id = new.id
          and o.user_id = i.user_id and o.meeting_id = i.meeting_id and o.item_id = i.id;
    end if;
    return null;
end $$;

create trigger people_owed_me_changed after update of is_me on people
    for each row when (old.is_me is distinct from new.is_me)
    execute function people_owed_me_changed();

-- Today's rows.
insert into owed_items (user_id, meeting_id, item_id, person_id, due)
select i.user_id, i.meeting_id, i.id, a.person_id, i.due
from items i
join people me on me.id = i.assignee_id and me.is_me
join attendees a on a.user_id = i.user_id and a.meeting_id = i.meeting_id
where i.kind = 'action' and not i.done and not i.removed and i.meeting_id is not null
on conflict do nothing;
