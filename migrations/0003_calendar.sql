-- Calendars, meetings (events), series, people, organizations and attendees, synced from
-- Google Calendar and Microsoft Graph. Every row carries its owner's user_id.
-- Sync never hard-deletes: a cancelled or removed event becomes a row with status 'cancelled',
-- and nothing that references a meeting (notes, action items) cascades from it.

alter table users add column time_zone_chosen boolean not null default false;

create table calendars (
    id                   uuid primary key,
    user_id              uuid not null references users (id) on delete cascade,
    account_id           uuid not null references accounts (id) on delete cascade,
    provider_calendar_id text not null,
    name                 text not null,
    time_zone            text,
    is_primary           boolean not null default false,
    -- Google accessRole; freeBusyReader calendars cannot be read and are never synced.
    access_role          text not null default 'owner',
    selected             boolean not null default false,
    -- Google nextSyncToken or the whole Graph deltaLink; stored with the data it covers.
    sync_cursor          text,
    last_synced_at       timestamptz,
    last_error           text,
    created_at           timestamptz not null default now(),
    constraint calendars_account_provider_key unique (account_id, provider_calendar_id)
);
create index calendars_user_idx on calendars (user_id);

create table organizations (
    id         uuid primary key,
    user_id    uuid not null references users (id) on delete cascade,
    domain     text not null,
    name       text not null,
    created_at timestamptz not null default now(),
    constraint organizations_user_domain_key unique (user_id, domain)
);

create table people (
    id              uuid primary key,
    user_id         uuid not null references users (id) on delete cascade,
    email           text not null,
    -- Best display name seen so far; null until a provider sends one.
    name            text,
    organization_id uuid references organizations (id) on delete set null,
    is_me           boolean not null default false,
    created_at      timestamptz not null default now()
);
-- One person per user and e-mail address, case-insensitively.
create unique index people_user_email_key on people (user_id, lower(email));
create index people_organization_idx on people (user_id, organization_id);

create table series (
    id                 uuid primary key,
    user_id            uuid not null references users (id) on delete cascade,
    calendar_id        uuid not null references calendars (id) on delete cascade,
    provider_series_id text not null,
    title              text not null default '',
    constraint series_calendar_provider_key unique (calendar_id, provider_series_id)
);

create table meetings (
    id                uuid primary key,
    user_id           uuid not null references users (id) on delete cascade,
    calendar_id       uuid not null references calendars (id) on delete cascade,
    provider_event_id text not null,
    ical_uid          text,
    series_id         uuid references series (id) on delete set null,
    original_start    timestamptz,
    title             text not null default '',
    description       text not null default '',
    location          text not null default '',
    -- Timed events: instants. All-day events: floating dates (end exclusive); starts_at/ends_at
    -- then hold those dates at 00:00 UTC, for ordering and windows only.
    all_day           boolean not null default false,
    start_date        date,
    end_date          date,
    starts_at         timestamptz not null,
    ends_at           timestamptz not null,
    time_zone         text,
    status            text not null default 'confirmed'
                      check (status in ('confirmed', 'tentative', 'cancelled')),
    -- Focus time, out of office, working location and birthdays are events but not meetings.
    event_type        text not null default 'default',
    is_meeting        boolean not null default true,
    join_url          text,
    html_link         text,
    organizer_email   text,
    -- Mark-and-sweep: the sync round that last saw this event.
    seen_round        uuid,
    created_at        timestamptz not null default now(),
    updated_at        timestamptz not null default now(),
    constraint meetings_calendar_event_key unique (calendar_id, provider_event_id)
);
create index meetings_user_start_idx on meetings (user_id, starts_at);
create index meetings_series_idx on meetings (user_id, series_id, starts_at);

create table attendees (
    meeting_id      uuid not null references meetings (id) on delete cascade,
    person_id       uuid not null references people (id) on delete cascade,
    user_id         uuid not null references users (id) on delete cascade,
    response_status text not null default 'needsAction',
    is_organizer    boolean not null default false,
    is_optional     boolean not null default false,
    primary key (meeting_id, person_id)
);
create index attendees_person_idx on attendees (user_id, person_id);

-- The sync schedule and lease per account, claimed with FOR UPDATE SKIP LOCKED so that several
-- app instances never sync one account at once; a crashed instance's lease simply expires.
create table sync_state (
    account_id      uuid primary key references accounts (id) on delete cascade,
    user_id         uuid not null references users (id) on delete cascade,
    due_at          timestamptz not null default now(),
    lease_until     timestamptz,
    leased_by       text,
    attempts        integer not null default 0,
    last_success_at timestamptz,
    last_error      text,
    -- Events processed in the running sync, shown as progress on the first sync.
    progress        integer not null default 0
);
create index sync_state_due_idx on sync_state (due_at);
