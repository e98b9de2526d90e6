//! The data layer at scale, proved without timing: a heavy user (bench/seed.sql: 5,000 meetings,
//! 2,000 people, 20,000 items), every main page requested, and what PostgreSQL was asked.
//!
//! - Statements: Docket talks to PostgreSQL through a relay that counts the statements it sends
//!   (`Query` and `Execute` messages of the wire protocol), so a page view's count is exact.
//! - Reads: the pool's connections are closed after each page (a backend flushes its statistics
//!   when it exits), and `pg_stat_user_tables` / `pg_stat_user_indexes` then say which tables
//!   were scanned sequentially and how many rows were read.

use std::sync::{
    Arc,
    atomic::{AtomicUsize, Ordering},
};

use scraper::Selector;
use sqlx::PgPool;
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpListener, TcpStream},
};
use uuid::Uuid;

use crate::common::{Browser, World};

/// A TCP relay in front of PostgreSQL that counts the statements passing through it.
struct StatementCounter {
    port: u16,
    statements: Arc<AtomicUsize>,
}

impl StatementCounter {
    async fn start() -> StatementCounter {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let statements = Arc::new(AtomicUsize::new(0));
        let counter = statements.clone();
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                tokio::spawn(relay(client, counter.clone()));
            }
        });
        StatementCounter { port, statements }
    }

    fn take(&self) -> usize {
        self.statements.swap(0, Ordering::SeqCst)
    }
}

/// Copies the server's answers back untouched; reads the client's side message by message: the
/// untyped startup message first, then typed messages (a tag byte and a length).
async fn relay(client: TcpStream, statements: Arc<AtomicUsize>) -> std::io::Result<()> {
    let server = TcpStream::connect("127.0.0.1:5432").await?;
    let (mut from_client, mut to_client) = client.into_split();
    let (mut from_server, mut to_server) = server.into_split();
    tokio::spawn(async move { tokio::io::copy(&mut from_server, &mut to_client).await });
    let len = from_client.read_u32().await?;
    let mut startup = vec![0; len as usize - 4];
    from_client.read_exact(&mut startup).await?;
    to_server.write_u32(len).await?;
    to_server.write_all(&startup).await?;
    loop {
        let tag = from_client.read_u8().await?;
        let len = from_client.read_u32().await?;
        let mut body = vec![0; len as usize - 4];
        from_client.read_exact(&mut body).await?;
        // A simple query, or the execution of a prepared statement: one statement each.
        if tag == b'Q' || tag == b'E' {
            statements.fetch_add(1, Ordering::SeqCst);
        }
        to_server.write_u8(tag).await?;
        to_server.write_u32(len).await?;
        to_server.write_all(&body).await?;
    }
}

/// A Docket whose every statement goes through `counter`, with two heavy users (the second so
/// that the planner sees a table shared by tenants, as in production); the first is signed in.
/// Pages' data is read from the database on every view: the cache of repeated views (counted
/// in its own test below) would hide what the queries cost.
async fn heavy_users(counter: &StatementCounter) -> (World, Browser, PgPool) {
    let url = format!(
        "postgres://postgres@127.0.0.1:{}/{{db}}?sslmode=disable",
        counter.port
    );
    let world = World::with(&[
        ("DOCKET_SYNC_WORKER", "false"),
        ("DATABASE_URL", &url),
        ("DOCKET_PAGE_CACHE_MIB", "0"),
    ])
    .await;
    let browser = Browser::new(&world.app);
    browser.sign_in("google", "ada@northwind.example").await;
    Browser::new(&world.app)
        .sign_in("google", "alan@bletchley.example")
        .await;
    // One connection, so that its own statistics can be flushed on demand (see below).
    let admin = sqlx::postgres::PgPoolOptions::new()
        .max_connections(1)
        .connect(&format!(
            "postgres://postgres@127.0.0.1:5432/{}",
            world.app.db_name
        ))
        .await
        .unwrap();
    // The benchmark's seed at scale 1, without psql's meta-commands and variables.
    let seed: String = include_str!("../../bench/seed.sql")
        .lines()
        .filter(|l| !l.starts_with('\\'))
        .collect::<Vec<_>>()
        .join("\n")
        .replace(":scale", "1");
    // Each run seeds the earliest signed-in account that has no calendar yet: Ada, then Alan.
    for _ in 0..2 {
        sqlx::raw_sql(&seed).execute(&admin).await.unwrap();
    }
    (world, browser, admin)
}

/// Ends Docket's connections and waits until their processes are gone: a backend flushes its
/// statistics on the way out, so the counters are complete afterwards.
async fn flush_docket_statistics(admin: &PgPool, db_name: &str) {
    let pids: Vec<i32> = sqlx::query_scalar(
        "select pid from pg_stat_activity where datname = $1 and application_name = 'docket'",
    )
    .bind(db_name)
    .fetch_all(admin)
    .await
    .unwrap();
    for pid in &pids {
        sqlx::query("select pg_terminate_backend($1)")
            .bind(pid)
            .execute(admin)
            .await
            .unwrap();
    }
    for pid in pids {
        let status = format!("/proc/{pid}/status");
        for _ in 0..500 {
            let state = std::fs::read_to_string(&status).unwrap_or_default();
            if state.is_empty() || state.contains("State:\tZ") {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
    }
}

/// Per table: live rows, sequential scans, and rows read: heap rows (by sequential and index
/// scans) plus B-tree entries (index-only scans read no heap row). Text-index posting lists are
/// not rows and are left out: a search reads the posting list of its words whole.
async fn table_reads(admin: &PgPool) -> Vec<(String, i64, i64, i64)> {
    sqlx::query("select pg_stat_clear_snapshot()")
        .execute(admin)
        .await
        .unwrap();
    sqlx::query_as(
        "select t.relname::text, t.n_live_tup, coalesce(t.seq_scan, 0),
                coalesce(t.seq_tup_read, 0) + coalesce(t.idx_tup_fetch, 0)
                + coalesce((select sum(i.idx_tup_read) from pg_stat_user_indexes i
                            join pg_class c on c.oid = i.indexrelid join pg_am am on am.oid = c.relam
                            where i.relid = t.relid and am.amname = 'btree'), 0)::bigint
         from pg_stat_user_tables t
         where t.schemaname = 'public' and t.relname <> '_sqlx_migrations'
         order by t.relname",
    )
    .fetch_all(admin)
    .await
    .unwrap()
}

async fn one(admin: &PgPool, sql: &str) -> Uuid {
    sqlx::query_scalar(sql).fetch_one(admin).await.unwrap()
}

/// The pages a user lives in, at the heavy user's busiest spots.
async fn main_pages(admin: &PgPool) -> Vec<(&'static str, String)> {
    // The signed-in user's busiest spots (the other tenant's rows are never shown).
    const ADA: &str = "(select id from users where email = 'ada@northwind.example')";
    let meeting = one(
        admin,
        &format!(
            "select m.id from meetings m join notes n on n.meeting_id = m.id
             where m.user_id = {ADA} and m.series_id is not null order by m.starts_at desc limit 1"
        ),
    )
    .await;
    let person = one(
        admin,
        &format!(
            "select person_id from attendees a join people p on p.id = a.person_id
             where a.user_id = {ADA} and not p.is_me group by person_id order by count(*) desc limit 1"
        ),
    )
    .await;
    // Someone met once: what the user owes them must not be found by probing every open item.
    let met_once = one(
        admin,
        &format!(
            "select person_id from attendees a join people p on p.id = a.person_id
             where a.user_id = {ADA} and not p.is_me group by person_id
             order by count(*), person_id limit 1"
        ),
    )
    .await;
    let organization = one(
        admin,
        &format!(
            "select organization_id from people where user_id = {ADA} and organization_id is not null
             group by organization_id order by count(*) desc limit 1"
        ),
    )
    .await;
    vec![
        ("Today", "/".to_owned()),
        ("meeting", format!("/meetings/{meeting}")),
        ("person", format!("/people/{person}")),
        ("person met least", format!("/people/{met_once}")),
        ("action items", "/action-items".to_owned()),
        ("search", "/search?q=budget".to_owned()),
        ("people", "/people".to_owned()),
        ("meetings", "/meetings".to_owned()),
        ("past meetings", "/meetings?when=past".to_owned()),
        ("decisions", "/decisions".to_owned()),
        ("organizations", "/organizations".to_owned()),
        ("organization", format!("/organizations/{organization}")),
        ("notes", "/notes".to_owned()),
        ("notes mentioning", format!("/notes?person={person}")),
    ]
}

/// What a page shows: its list entries and table rows.
async fn rows_shown(browser: &Browser, path: &str) -> usize {
    let doc = browser.get_html(path).await;
    let shown = doc
        .select(&Selector::parse("main li, main tr").unwrap())
        .count();
    assert!(shown > 0, "{path} shows nothing: the seed did not reach it");
    shown
}

/// On a heavy user's data, the pages people load all day cost at most two statements each
/// (session and layout included), no page scans a table that grows with a user's history
/// sequentially, and the rows PostgreSQL reads stay within a fixed multiple of the rows shown.
#[tokio::test]
async fn pages_cost_what_they_show_not_the_users_history() {
    let counter = StatementCounter::start().await;
    let (world, browser, admin) = heavy_users(&counter).await;
    let db_name = world.app.db_name.clone();
    let pages = main_pages(&admin).await;
    // The test's own lookups above read the tables too; a backend flushes its statistics lazily,
    // so make it flush now rather than in the middle of a measurement.
    sqlx::query("select pg_stat_force_next_flush()")
        .execute(&admin)
        .await
        .unwrap();
    sqlx::query("select 1").execute(&admin).await.unwrap();
    let mut failures = Vec::new();
    let mut report = Vec::new();
    for (name, path) in &pages {
        // The first view may prepare statements on a fresh connection; count the second.
        browser.get_html(path).await;
        counter.take();
        browser.get_html(path).await;
        let statements = counter.take();
        let limited = [
            "Today",
            "meeting",
            "person",
            "person met least",
            "action items",
            "search",
        ]
        .contains(name);
        if limited && statements > 2 {
            failures.push(format!("{name} ({path}) sent {statements} statements"));
        }

        flush_docket_statistics(&admin, &db_name).await;
        let before = table_reads(&admin).await;
        let shown = rows_shown(&browser, path).await;
        flush_docket_statistics(&admin, &db_name).await;
        let after = table_reads(&admin).await;
        let mut read = 0;
        let mut by_table = Vec::new();
        for ((table, live, seq_before, read_before), (_, _, seq_after, read_after)) in
            before.iter().zip(&after)
        {
            read += read_after - read_before;
            if read_after > read_before {
                by_table.push(format!("{table} {}", read_after - read_before));
            }
            // Tables of a few rows are read whole by design (it beats an index); the ones that
            // grow with a user's history never are.
            if *live >= 1_000 && seq_after > seq_before {
                failures.push(format!("{name} ({path}) scanned {table} sequentially"));
            }
        }
        let bound = ROWS_READ_PER_ROW_SHOWN * shown as i64 + ROWS_READ_PER_PAGE;
        report.push(format!(
            "{name}: {statements} statements, {read} rows read for {shown} shown"
        ));
        if read > bound {
            failures.push(format!(
                "{name} ({path}) read {read} rows to show {shown} (bound {bound}): {by_table:?}"
            ));
        }
    }
    eprintln!("{report:#?}");
    assert!(failures.is_empty(), "{failures:#?}\n{report:#?}");
}

/// The bound on rows read: a fixed multiple of the rows a page shows, plus a constant. A meeting
/// line costs the most: its row, then for each of its ~6 attendees the attendee entry and row and
/// the person's entry and row (about 30 reads); the constant covers the session and layout and a
/// window's lookback for events still running (agenda and upcoming lists look 35 days back).
/// Counted in index entries plus heap rows, so each probe counts twice.
const ROWS_READ_PER_ROW_SHOWN: i64 = 40;
const ROWS_READ_PER_PAGE: i64 = 1_000;

/// The calendar feed of the heavy user: at most `feed::MAX_ITEMS` items, soonest due first,
/// read through the index of open dated action items in two statements, and never the user's
/// 20,000 items (a history that is mostly done or undated).
#[tokio::test]
async fn the_calendar_feed_costs_what_it_shows_not_the_users_history() {
    let counter = StatementCounter::start().await;
    let (world, browser, admin) = heavy_users(&counter).await;
    let db_name = world.app.db_name.clone();
    let made = browser.post_form("/settings/feed", &[]).await;
    assert!(made.status().is_redirection());
    let url = browser
        .get_html("/settings")
        .await
        .select(&Selector::parse("input#feed-url").unwrap())
        .next()
        .expect("the new feed address")
        .attr("value")
        .unwrap()
        .to_owned();
    let fetch = || async {
        let response = reqwest::get(&url).await.unwrap();
        assert_eq!(response.status(), reqwest::StatusCode::OK);
        response.text().await.unwrap()
    };
    // The first fetch prepares statements and records itself in Settings; count the second.
    let first = fetch().await;
    counter.take();
    let second = fetch().await;
    let statements = counter.take();
    assert_eq!(first, second);
    assert!(statements <= 2, "a fetch sent {statements} statements");

    let open_dated: i64 = sqlx::query_scalar(
        "select count(*) from items i join users u on u.id = i.user_id
         where u.email = 'ada@northwind.example' and i.kind = 'action' and not i.done
           and not i.removed and i.due is not null",
    )
    .fetch_one(&admin)
    .await
    .unwrap();
    sqlx::query("select pg_stat_force_next_flush()")
        .execute(&admin)
        .await
        .unwrap();
    flush_docket_statistics(&admin, &db_name).await;
    let before = table_reads(&admin).await;
    let shown = fetch().await.matches("BEGIN:VTODO").count() as i64;
    flush_docket_statistics(&admin, &db_name).await;
    let after = table_reads(&admin).await;
    assert_eq!(shown, open_dated.min(docket::feed::MAX_ITEMS));
    assert!(shown > 100, "the seed reached the feed: {shown} items");

    let mut read = 0;
    let mut by_table = Vec::new();
    for ((table, live, seq_before, read_before), (_, _, seq_after, read_after)) in
        before.iter().zip(&after)
    {
        read += read_after - read_before;
        by_table.push(format!("{table} {}", read_after - read_before));
        assert!(
            *live < 1_000 || seq_after == seq_before,
            "the feed scanned {table} sequentially"
        );
    }
    // Per item: its index entry and row, and a probe (entry and row) each for its meeting and
    // its assignee. The user's action items alone are 16,000.
    let bound = 8 * shown + 200;
    eprintln!("calendar feed: {statements} statements, {read} rows read for {shown} items");
    assert!(
        read <= bound,
        "the feed read {read} rows for {shown} items (bound {bound}): {by_table:?}"
    );
}

/// With the page cache on (the default), a page viewed again while nothing it shows changed is
/// served from memory: one statement (the session, which reads the user's data version). A
/// change makes the next view read again.
#[tokio::test]
async fn a_repeated_view_costs_one_statement_until_the_data_changes() {
    let counter = StatementCounter::start().await;
    let url = format!(
        "postgres://postgres@127.0.0.1:{}/{{db}}?sslmode=disable",
        counter.port
    );
    let world = World::with(&[("DOCKET_SYNC_WORKER", "false"), ("DATABASE_URL", &url)]).await;
    let browser = crate::common::synced(&world, "ada@northwind.example").await;
    let meeting =
        crate::common::meeting_id(&world, "ada@northwind.example", "Q1 planning review").await;
    let pages = [
        "/".to_owned(),
        format!("/meetings/{meeting}"),
        "/action-items".to_owned(),
        "/search?q=planning".to_owned(),
        "/people".to_owned(),
        "/meetings".to_owned(),
        "/decisions".to_owned(),
    ];
    for path in &pages {
        // Today and the lists follow the clock by the minute: a pair of views that straddles
        // a minute's end is taken again.
        loop {
            let minute = docket::page_cache::minute();
            browser.get_html(path).await;
            counter.take();
            browser.get_html(path).await;
            let statements = counter.take();
            if docket::page_cache::minute() == minute {
                assert_eq!(statements, 1, "{path} viewed again");
                break;
            }
        }
    }
    crate::common::save_meeting_note(&browser, meeting, "Decision: ship it\n").await;
    for path in &pages {
        counter.take();
        browser.get_html(path).await;
        assert_eq!(counter.take(), 2, "{path} after a note was saved");
    }
}

/// Makes a weekly series of `earlier` past meetings, each with a saved note (two open action
/// items and a decision, through the note form), and one meeting next week; every meeting has
/// the attendees of the demo's Q1 planning review. Returns next week's meeting.
async fn series_with_notes(world: &World, browser: &Browser, name: &str, earlier: i32) -> Uuid {
    let db = &world.app.db;
    let series: Uuid = sqlx::query_scalar(
        "insert into series (id, user_id, calendar_id, provider_series_id, title)
         select gen_random_uuid(), m.user_id, m.calendar_id, $1, $1 from meetings m
         where m.title = 'Q1 planning review' returning id",
    )
    .bind(name)
    .fetch_one(db)
    .await
    .unwrap();
    let meetings: Vec<Uuid> = sqlx::query_scalar(
        "insert into meetings (id, user_id, calendar_id, provider_event_id, ical_uid, series_id,
                               original_start, title, starts_at, ends_at, time_zone, status,
                               event_type, is_meeting)
         select gen_random_uuid(), m.user_id, m.calendar_id, $1 || '-' || g, $1 || '-' || g, $2,
                now() + (g - $3) * interval '7 days', $1, now() + (g - $3) * interval '7 days',
                now() + (g - $3) * interval '7 days' + interval '30 minutes', m.time_zone,
                'confirmed', m.event_type, true
         from meetings m, generate_series(0, $3) g
         where m.title = 'Q1 planning review'
         order by g returning id",
    )
    .bind(name)
    .bind(series)
    .bind(earlier)
    .fetch_all(db)
    .await
    .unwrap();
    sqlx::query(
        "insert into attendees (meeting_id, person_id, user_id, response_status, is_organizer)
         select n.id, a.person_id, a.user_id, a.response_status, a.is_organizer
         from attendees a join meetings m on m.id = a.meeting_id, unnest($1::uuid[]) n(id)
         where m.title = 'Q1 planning review'",
    )
    .bind(&meetings)
    .execute(db)
    .await
    .unwrap();
    let (next, past) = meetings.split_last().unwrap();
    for (n, meeting) in past.iter().enumerate() {
        crate::common::save_meeting_note(
            browser,
            *meeting,
            &format!(
                "- [ ] @charles send the figures of week {n}\n- [ ] @katherine check the plan of week {n}\nDecision: keep week {n}'s scope\n"
            ),
        )
        .await;
    }
    *next
}

/// A meeting of a series with 100 earlier notes costs no more than one of a series with 10:
/// what carries forward comes from the last meetings of the series and a few open items per
/// attendee, through indexes, however long the series' history. Rows read, without timing.
#[tokio::test]
async fn a_long_series_meeting_reads_no_more_than_a_short_ones() {
    let world = World::with(&[
        ("DOCKET_SYNC_WORKER", "false"),
        ("DOCKET_PAGE_CACHE_MIB", "0"),
    ])
    .await;
    let browser = crate::common::synced(&world, "ada@northwind.example").await;
    let admin = sqlx::postgres::PgPoolOptions::new()
        .max_connections(1)
        .connect(&format!(
            "postgres://postgres@127.0.0.1:5432/{}",
            world.app.db_name
        ))
        .await
        .unwrap();
    let short = series_with_notes(&world, &browser, "Ten-week review", 10).await;
    let long = series_with_notes(&world, &browser, "Hundred-week review", 100).await;
    sqlx::query("analyze").execute(&admin).await.unwrap();
    let mut read = Vec::new();
    for meeting in [short, long] {
        let path = format!("/meetings/{meeting}");
        browser.get_html(&path).await;
        sqlx::query("select pg_stat_force_next_flush()")
            .execute(&admin)
            .await
            .unwrap();
        sqlx::query("select 1").execute(&admin).await.unwrap();
        flush_docket_statistics(&admin, &world.app.db_name).await;
        let before = table_reads(&admin).await;
        let doc = browser.get_html(&path).await;
        flush_docket_statistics(&admin, &world.app.db_name).await;
        let after = table_reads(&admin).await;
        let rows: i64 = before
            .iter()
            .zip(&after)
            .map(|((_, _, _, b), (_, _, _, a))| a - b)
            .sum();
        let carried = doc
            .select(&Selector::parse("#agenda li.item").unwrap())
            .count();
        read.push((rows, carried));
    }
    eprintln!(
        "10 earlier notes: {:?}; 100 earlier notes: {:?}",
        read[0], read[1]
    );
    let ((short_rows, short_items), (long_rows, long_items)) = (read[0], read[1]);
    assert!(
        short_items >= 20 && long_items >= 20,
        "the agendas carry items forward"
    );
    // Within a tenth, plus the per-row bound for any agenda item the longer history adds.
    let extra_shown = long_items.saturating_sub(short_items) as i64;
    let bound = short_rows + short_rows / 10 + ROWS_READ_PER_ROW_SHOWN * extra_shown;
    assert!(
        long_rows <= bound,
        "100 earlier notes read {long_rows} rows, 10 read {short_rows} (bound {bound})"
    );
}

/// Every row of a long list, walked page by page through its "next" links on a heavy user's
/// data: each row once, none left out, none of the other tenant's. The first page of People,
/// of the action items and of the decision log has a statement of its own (planned once per
/// connection); the pages after it are keyset pages of the general statement, so the two must
/// agree on the order to the row.
#[tokio::test]
async fn first_pages_and_the_pages_after_them_list_every_row_once() {
    let counter = StatementCounter::start().await;
    let (_world, browser, admin) = heavy_users(&counter).await;
    const ADA: &str = "(select id from users where email = 'ada@northwind.example')";
    let lists = [
        (
            "/people",
            "main tr a[href^='/people/']",
            "href",
            format!("select count(*) from people where user_id = {ADA} and not is_me"),
        ),
        (
            "/action-items",
            "main li.item-edit form.inline-form",
            "action",
            format!(
                "select count(*) from items where user_id = {ADA} and kind = 'action'
                 and not done and not removed"
            ),
        ),
        (
            "/decisions",
            "main tr[id^='decision-']",
            "id",
            format!(
                "select count(*) from items where user_id = {ADA} and kind = 'decision' and not removed"
            ),
        ),
    ];
    let links = Selector::parse("main a").unwrap();
    for (first, row_selector, key, expected) in lists {
        let row_selector = Selector::parse(row_selector).unwrap();
        let mut seen = std::collections::HashSet::new();
        let mut pages = 0;
        let mut next = Some(first.to_owned());
        while let Some(path) = next.take() {
            pages += 1;
            assert!(pages <= 1000, "{first}: more pages than the seed has rows");
            let doc = browser.get_html(&path).await;
            let shown: Vec<String> = doc
                .select(&row_selector)
                .map(|row| row.value().attr(key).unwrap().to_owned())
                .collect();
            assert!(!shown.is_empty(), "{path} shows no rows");
            for row in shown {
                assert!(seen.insert(row.clone()), "{path} repeats {row}");
            }
            next = doc
                .select(&links)
                .find(|a| a.text().collect::<String>().ends_with('→'))
                .and_then(|a| a.value().attr("href").map(str::to_owned));
        }
        let expected: i64 = sqlx::query_scalar(&expected)
            .fetch_one(&admin)
            .await
            .unwrap();
        assert!(pages > 2, "{first}: the seed should fill several pages");
        assert_eq!(
            seen.len() as i64,
            expected,
            "{first}: rows listed over {pages} pages"
        );
    }
}
