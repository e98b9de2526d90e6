-- Sessions move from tower-sessions' own table into one Docket owns, with the owner's user_id
-- as a column: a page view then loads the session, the user and the account/sync state in one
-- statement (src/auth/session_store.rs), a user's sessions can all be ended at once, and the
-- table can be distributed by tenant like every other.
create table sessions (
    id          text primary key,
    -- Null until sign-in; deleting a user ends their sessions.
    user_id     uuid references users (id) on delete cascade,
    -- The tower-sessions record, MessagePack-encoded (the format its PostgreSQL store used).
    data        bytea not null,
    expiry_date timestamptz not null
);
create index sessions_user_idx on sessions (user_id);
create index sessions_expiry_idx on sessions (expiry_date);

-- Keep whoever is signed in signed in: their rows move over, with the owner read out of the
-- MessagePack record (the key "user_id" as a fixstr, then the UUID as a 36-byte str8). A row
-- where that fails keeps a null owner, and its session simply asks to sign in again.
do $$
begin
    if to_regclass('tower_sessions.session') is not null then
        insert into sessions (id, user_id, data, expiry_date)
        select s.id, u.id, s.data, s.expiry_date
        from tower_sessions.session s
        left join lateral (
            select position('\xa7757365725f6964d924'::bytea in s.data) as at) k on true
        left join users u on u.id::text = case when k.at > 0
            then convert_from(substring(s.data from k.at + 10 for 36), 'UTF8') end
        where s.expiry_date > now();
        drop table tower_sessions.session;
        drop schema if exists tower_sessions;
    end if;
end $$;
