-- Seeds a realistic heavy user for bench/run into the signed-in demo user's rows; at scale 1:
--   150 organizations, 2,000 people (+ the user's own "me" person), 40 series,
--   5,000 meetings over the past 2 years and the next 3 months (4–8 attendees each, ~3% all-day,
--   ~3% cancelled), notes on 2,000 past meetings, 20,000 items (80% actions, 12% decisions,
--   8% questions; assignees, due dates, done flags) whose lines also appear in the note bodies.
-- At scale N (psql -v scale=N): N × the people, meetings, notes and items, over N × 2 years of
-- history; the next 3 months keep about the same number of meetings per day, so pages about
-- "now" show as much as at scale 1 and only the history behind them grows.
--
-- Everything is derived from generate_series and hashtext(), so the data set is the same on every
-- run (only the ids and the dates, relative to now, differ). Rows follow migrations/ exactly:
-- every row carries user_id, meetings sit on a calendar of the user's account, items sit on a
-- note, and the generated `search` columns are left to PostgreSQL.
--
-- Run with: psql -v ON_ERROR_STOP=1 [-v scale=10] -f bench/seed.sql <database>
\set ON_ERROR_STOP on
\if :{?scale}
\else
\set scale 1
\endif
begin;

-- u(x): a deterministic "random" number in [0, 1) from a text key.
create or replace function pg_temp.u(key text) returns double precision
    language sql immutable as $$ select (hashtext(key)::bigint + 2147483648) / 4294967296.0 $$;

-- The signed-in user whose account has no calendar yet (bench/run signs in once; the data-layer
-- test signs in two users and seeds both, one after the other).
create temp table ctx on commit drop as
select a.user_id, a.id as account_id, u.email, u.name,
       gen_random_uuid() as calendar_id, gen_random_uuid() as me_id,
       (now() at time zone 'UTC')::date as today
from accounts a join users u on u.id = a.user_id
where not exists (select 1 from calendars c where c.account_id = a.id)
order by a.created_at
limit 1;

do $$ begin
    if (select count(*) from ctx) <> 1 then
        raise exception 'no signed-in account without a calendar to seed (sign in first)';
    end if;
end $$;

insert into calendars (id, user_id, account_id, provider_calendar_id, name, time_zone,
                       is_primary, access_role, selected, last_synced_at)
select calendar_id, user_id, account_id, email, name, 'UTC', true, 'owner', true, now() from ctx;

-- A synced user: the layout then says "Synced … ago" instead of "Waiting for the first sync".
update sync_state s set last_success_at = now(), due_at = now() + interval '1 day', progress = 0
from ctx where s.user_id = ctx.user_id;

-- Organizations: 30 names × 5 suffixes.
create temp table b_org on commit drop as
select k, gen_random_uuid() as id, name,
       lower(regexp_replace(name, '\W', '', 'g')) || '.example' as domain
from generate_series(0, 149) k,
lateral (select (array['Acme','Globex','Initech','Umbrella','Hooli','Vandelay','Soylent','Tyrell',
                       'Wonka','Stark','Wayne','Cyberdyne','Aperture','Massive','Oscorp','Gringotts',
                       'Monarch','Nakatomi','Pied Piper','Sirius','Virtucon','Weyland','Zorg',
                       'Dunder','Ollivander','Prestige','Rekall','Spacely','Krusty','Blue Sun'])[1 + k % 30]
             || ' ' || (array['Labs','Systems','Partners','Group','Health'])[1 + k / 30] as name) n;

insert into organizations (id, user_id, domain, name)
select o.id, ctx.user_id, o.domain, o.name from b_org o, ctx;

-- People: 60 first names × 60 last names, each (first, last) pair used once; 90% work at an
-- organization (e-mail at its domain), 5% have no display name (providers do not always send one).
create temp table b_person on commit drop as
select n, gen_random_uuid() as id, f, l, case when n % 10 = 9 then null else (n * 7) % 150 end as org_k
from generate_series(0, 2000 * :scale - 1) n,
lateral (select
    (array['Ada','Alan','Grace','Edsger','Barbara','Donald','Frances','John','Margaret','Ken',
           'Radia','Dennis','Shafi','Leslie','Sophie','Tim','Katherine','Niklaus','Hedy','Guido',
           'Annie','Bjarne','Jean','Linus','Karen','Vint','Mary','Claude','Lynn','Robin',
           'Sam','Alex','Priya','Wei','Fatima','Mateo','Yuki','Olga','Kwame','Ines',
           'Noah','Emma','Liam','Mia','Omar','Zara','Ivan','Lena','Raj','Chloe',
           'Diego','Hana','Tariq','Nora','Felix','Amara','Jonas','Sara','Ravi','Elena'])[1 + n % 60] as f,
    (array['Lovelace','Turing','Hopper','Dijkstra','Liskov','Knuth','Allen','Backus','Hamilton','Thompson',
           'Perlman','Ritchie','Goldwasser','Lamport','Wilson','Berners-Lee','Johnson','Wirth','Lamarr','Rossum',
           'Easley','Stroustrup','Bartik','Torvalds','Jones','Cerf','Keller','Shannon','Conway','Milner',
           'Lee','Ortiz','Patel','Chen','Haddad','Garcia','Tanaka','Ivanova','Mensah','Silva',
           'Schmidt','Rossi','Murphy','Novak','Khan','Ali','Petrov','Berg','Singh','Martin',
           'Lopez','Kim','Aziz','Fischer','Weber','Okafor','Larsen','Cohen','Rao','Popescu'])[1 + (n / 60 + n) % 60] as l
) x;

-- Joined on computed numbers below: an index each (temp tables are never auto-analyzed).
create index on b_person (n);
analyze b_person;

insert into people (id, user_id, email, name, organization_id, is_me)
select p.id, ctx.user_id,
       -- Beyond the first 2,000 the name pairs repeat: a number keeps the addresses unique.
       lower(replace(p.f, ' ', '')) || '.' || lower(replace(p.l, ' ', ''))
       || case when p.n >= 2000 then (p.n / 2000)::text else '' end
       || '@' || coalesce(o.domain, 'mail.example'),
       case when p.n % 20 = 19 and p.n >= 100 then null else p.f || ' ' || p.l end,
       o.id, false
from b_person p left join b_org o on o.k = p.org_k, ctx;

insert into people (id, user_id, email, name, is_me)
select me_id, user_id, email, name, true from ctx;

-- Series: 40 recurring meetings (6 kinds × 7 teams).
create temp table b_series on commit drop as
select k, gen_random_uuid() as id,
       (array['Weekly sync','Planning','Design review','Standup','Retro','Ops review'])[1 + k % 6]
       || ': ' || (array['Billing','Platform','Mobile','Growth','Data','Security','Support'])[1 + k / 6] as title,
       3 + k % 5 as others   -- attendees besides the user: 3..7
from generate_series(0, 39) k;

insert into series (id, user_id, calendar_id, provider_series_id, title)
select s.id, ctx.user_id, ctx.calendar_id, 'bench-series-' || s.k, s.title from b_series s, ctx;

-- Meetings: g = 0..5000·scale-1 spread evenly over 730·scale days back and 90 ahead, 08:00–17:30 UTC.
-- 60% belong to a series (each series meets every ~11 days), ~3% all-day, ~3% cancelled.
create temp table b_meeting on commit drop as
select g, gen_random_uuid() as id,
       case when g % 5 < 3 then ((g / 5) * 3 + g % 5) % 40 end as series_k,
       g % 37 = 5 as all_day,
       g % 31 = 7 and g % 37 <> 5 as cancelled,
       (ctx.today - 730 * :scale * interval '1 day'
        + floor(g * (730.0 * :scale + 90) / (5000 * :scale)) * interval '1 day')::date as day,
       interval '8 hours' + (g * 7 % 20) * interval '30 minutes' as at,
       case when g % 3 = 0 then interval '60 minutes' else interval '30 minutes' end as length,
       3 + floor(pg_temp.u('n' || g) * 5)::int as others
from generate_series(0, 5000 * :scale - 1) g, ctx;

insert into meetings (id, user_id, calendar_id, provider_event_id, ical_uid, series_id, original_start,
                      title, description, location, all_day, start_date, end_date, starts_at, ends_at,
                      time_zone, status, event_type, is_meeting, join_url, html_link, organizer_email)
select m.id, ctx.user_id, ctx.calendar_id, 'bench-' || m.g, 'bench-' || m.g || '@example', s.id,
       case when s.id is not null then m.day + m.at end,
       case
           when m.all_day then (array['Offsite','Conference','Company all-hands day','Customer summit'])[1 + m.g % 4]
           when s.id is not null then s.title
           else (array['Budget review','Customer call','Hiring debrief','Roadmap planning','Vendor demo',
                       'Quarterly business review','Incident postmortem','Pricing workshop','Intro call',
                       'Contract negotiation','Launch readiness','Architecture review'])[1 + m.g % 12]
                || ' with ' || (select name from b_org where k = m.g % 150)
       end,
       case when m.g % 4 = 0 then ''
            else 'Agenda: ' || (array['review the budget and the forecast','walk through the roadmap',
                 'agree on the launch checklist','go over customer feedback','decide on the pricing proposal',
                 'plan the migration','review open action items'])[1 + m.g % 7]
                 || E'.\n\nPlease read the doc beforehand and bring questions.' end,
       case when m.g % 3 = 0 then 'Room ' || (100 + m.g % 40) else '' end,
       m.all_day,
       case when m.all_day then m.day end,
       case when m.all_day then m.day + 1 end,
       case when m.all_day then m.day::timestamp at time zone 'UTC' else (m.day + m.at) at time zone 'UTC' end,
       case when m.all_day then (m.day + 1)::timestamp at time zone 'UTC' else (m.day + m.at + m.length) at time zone 'UTC' end,
       'UTC',
       case when m.cancelled then 'cancelled' else 'confirmed' end,
       'default', true,
       case when not m.all_day then 'https://meet.example/bench-' || m.g end,
       'https://calendar.example/event?eid=bench-' || m.g,
       ctx.email
from b_meeting m left join b_series s on s.k = m.series_k, ctx;

-- Attendees: the user plus 3–7 others. A series keeps the same people; one-off meetings draw
-- people with a skew (index ~ 2000·scale·u²), so a few colleagues attend hundreds of meetings, like a
-- manager or a close team. The first other attendee organizes.
insert into attendees (meeting_id, person_id, user_id, response_status, is_organizer, is_optional)
select m.id, ctx.me_id, ctx.user_id, 'accepted', false, false from b_meeting m, ctx;

insert into attendees (meeting_id, person_id, user_id, response_status, is_organizer, is_optional)
select m.id, p.id, ctx.user_id,
       (array['accepted','accepted','accepted','tentative','declined','needsAction'])[1 + (m.g + j) % 6],
       j = 1, j = 7
from b_meeting m
left join b_series s on s.k = m.series_k
cross join lateral generate_series(1, coalesce(s.others, m.others)) j
join b_person p on p.n = floor(2000 * :scale * power(pg_temp.u(
        case when s.k is not null then 's' || s.k || ':' || j else 'm' || m.g || ':' || j end), 2))::int
cross join ctx
on conflict do nothing;

-- Notes on 2,000·scale past, held, timed meetings (a deterministic sample).
create temp table b_note on commit drop as
select row_number() over (order by m.g) - 1 as k, gen_random_uuid() as id, m.id as meeting_id, m.g, m.day
from (select * from b_meeting m, ctx
      where not m.all_day and not m.cancelled and m.day < ctx.today
      order by pg_temp.u('note' || m.g)
      limit 2000 * :scale) m;

create index on b_note (k);
analyze b_note;

-- Items: 20,000·scale, spread over the notes (multinomial, ~10 per note).
create temp table b_item on commit drop as
select i, gen_random_uuid() as id, n.id as note_id, n.meeting_id, n.day,
       case when i % 100 < 80 then 'action' when i % 100 < 92 then 'decision' else 'question' end as kind,
       (array['Send','Review','Draft','Update','Follow up on','Schedule a call about','Share','Prepare',
              'Check','Summarize','Estimate','Sign off on'])[1 + i % 12] as verb,
       (array['the budget','the roadmap','the contract','the hiring plan','the launch checklist',
              'the pricing proposal','customer feedback','the security review','the Q3 forecast',
              'the migration plan','the onboarding doc','the vendor quote','the incident report',
              'the design mockups','the release notes','the board deck','the support backlog',
              'the API changes','the travel budget','the team offsite'])[1 + (i / 12) % 20] as obj,
       pg_temp.u('a' || i) as ua, pg_temp.u('d' || i) as ud
from generate_series(0, 20000 * :scale - 1) i
join b_note n on n.k = floor(2000 * :scale * pg_temp.u('item' || i))::int;

create temp table b_item2 on commit drop as
select it.*,
       row_number() over (partition by it.note_id order by it.i) as rank,
       case when it.kind <> 'action' then null
            when it.ua < 0.35 then ctx.me_id
            when it.ua < 0.90 then (select a.person_id from attendees a
                                    where a.user_id = ctx.user_id and a.meeting_id = it.meeting_id
                                      and a.person_id <> ctx.me_id
                                    order by pg_temp.u(a.person_id::text || it.i) limit 1)
       end as assignee_id,
       case when it.kind = 'action' and it.ud < 0.7 then it.day + 1 + it.i % 21 end as due,
       case when it.kind = 'action' then pg_temp.u('x' || it.i) < (case when it.day < ctx.today - 30 then 0.75 else 0.3 end)
            when it.kind = 'question' then pg_temp.u('x' || it.i) < 0.5
            else false end as done
from b_item it, ctx;

create temp table b_item3 on commit drop as
select it.*,
       case
           when it.kind = 'decision' then 'We will go ahead with ' || it.obj
           when it.kind = 'question' then 'Who owns ' || it.obj || '?'
           when it.assignee_id is null then it.verb || ' ' || it.obj
           else '@' || lower(split_part(coalesce(p.name, p.email), ' ', 1)) || ' ' || lower(it.verb) || ' ' || it.obj
       end as text,
       case when it.assignee_id is not null
            then '@' || lower(split_part(coalesce(p.name, p.email), ' ', 1)) end as mention
from b_item2 it left join people p on p.id = it.assignee_id;
-- Each note's body below gathers its items: without an index that is a scan per note.
create index on b_item3 (note_id);
analyze b_item3;

-- The note body holds the item lines, so the rendered note looks like what produced the items.
insert into notes (id, user_id, meeting_id, title, body, version, created_at, updated_at)
select n.id, ctx.user_id, n.meeting_id, '',
       '## ' || m.title || E'\n\nWe went through the agenda: '
       || (array['budget and forecast','roadmap and staffing','launch checklist','customer feedback',
                 'pricing','migration'])[1 + n.g % 6]
       || E'. Notes from the discussion follow.\n\n'
       || coalesce((select string_agg(
              case it.kind
                  when 'action' then '- [' || case when it.done then 'x' else ' ' end || '] ' || it.text
                                     || coalesce(' due:' || it.due, '')
                  when 'decision' then 'Decision: ' || it.text
                  else case when it.done then '- [x] ?? ' else '?? ' end || it.text
              end, E'\n' order by it.rank)
           from b_item3 it where it.note_id = n.id), '')
       || E'\n',
       1, m.ends_at, m.ends_at + interval '2 hours'
from b_note n join meetings m on m.id = n.meeting_id, ctx;

-- Items are recorded when their note is first saved, as in use.
insert into items (id, user_id, note_id, meeting_id, kind, text, done, done_at, answer, assignee_id,
                   mention, due, hints, line, fingerprint, removed, created_at, updated_at)
select it.id, ctx.user_id, it.note_id, it.meeting_id, it.kind, it.text, it.done,
       case when it.done then (it.day + 2 + it.i % 10)::timestamp at time zone 'UTC' end,
       null, it.assignee_id, it.mention, it.due, '{}', 4 + it.rank, lower(it.text), false,
       n.created_at, n.created_at
from b_item3 it join notes n on n.id = it.note_id, ctx;

commit;

analyze;

-- What was seeded, for the log.
select (select count(*) from organizations) as organizations, (select count(*) from people) as people,
       (select count(*) from series) as series, (select count(*) from meetings) as meetings,
       (select count(*) from attendees) as attendees, (select count(*) from notes) as notes,
       (select count(*) from items) as items;
