-- Attendee rows are keyed by their owner first: (user_id, meeting_id, person_id) is the primary
-- key, and attendees_meeting_person_idx, the same columns, goes. A first sync writes five
-- attendee rows per event, and each went into three b-trees, two of them with the same
-- content; it now goes into two (bench/sync: 250,000 rows, 2.3 s → 1.7 s in a copy of the
-- table). The key is also the one a table distributed by owner (Citus) must have.
--
-- Every lookup by meeting names the owner as well, so that it is answered by the key: the
-- functions below that looked up a meeting's rows by its id alone now take the owner from the
-- meeting (migrations/0027 tried this key once and dropped it because they did not).
alter table attendees drop constraint attendees_pkey;
alter table attendees add constraint attendees_pkey primary key (user_id, meeting_id, person_id);
drop index attendees_meeting_person_idx;

create or replace function meetings_refresh_attendee_names(ids uuid[]) returns void
    language sql as $$
    update meetings m set attendee_names = n.names
    from (select w.id as mid, coalesce((select string_agg(coalesce(p.name, p.email), ', '
                                                  order by a.is_organizer desc, coalesce(p.name, p.email))
                                   from attendees a
                                   cross join lateral (select p.name, p.email, p.is_me from people p
                                                       where p.id = a.person_id offset 0) p
                                   where a.user_id = w.user_id and a.meeting_id = w.id
                                     and not p.is_me), '') as names
          from meetings w where w.id = any(ids)) n
    -- `= any(ids)` lets the meetings be found by key; joined on `n` alone, the plan hashed the
    -- whole meetings table on every call (a first sync's cost then grows with its history).
    where m.id = any(ids) and m.id = n.mid and m.attendee_names is distinct from n.names
$$;

create or replace function meetings_move_attendees() returns trigger language plpgsql as $$
begin
    update attendees set starts_at = new.starts_at
    where user_id = new.user_id and meeting_id = new.id;
    return null;
end $$;
