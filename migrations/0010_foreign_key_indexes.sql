-- Deleting an account deletes every row of the user (users → accounts → calendars → meetings
-- → ..., all `on delete cascade`). PostgreSQL enforces a foreign key's action per deleted row,
-- with a statement like `update items set meeting_id = null where meeting_id = $1`: without an
-- index that starts with the referencing column, that is a scan of the whole table (every
-- tenant's rows) for each of the user's meetings and people. A heavy user (bench/seed.sql,
-- scale 1: 5,000 meetings, 2,000 people) took about two minutes to delete with only one other
-- such user in the database; with these indexes, under a second. The per-user indexes cannot
-- serve these lookups: they lead with user_id, which the foreign-key statements do not name.
-- Partial where the column is nullable: rows without a reference are never looked up.
create index items_meeting_fk_idx on items (meeting_id) where meeting_id is not null;
create index items_assignee_fk_idx on items (assignee_id) where assignee_id is not null;
create index notes_meeting_fk_idx on notes (meeting_id) where meeting_id is not null;
create index attendees_person_fk_idx on attendees (person_id);
create index people_organization_fk_idx on people (organization_id) where organization_id is not null;
create index meetings_series_fk_idx on meetings (series_id) where series_id is not null;
