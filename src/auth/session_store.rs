//! The tower-sessions store: sessions in PostgreSQL, loaded in the same statement as everything
//! every page needs (the user, their accounts and sync state).
//!
//! A page view used to cost three statements before its own queries: the session row, the user
//! row, and the banners/sync line. Here `load` reads all three at once and hands the result to
//! the request inside the session record under [`CONTEXT`], a key that is never written back.
//! None of this is cached between requests, so a sign-out, a revoked account or a deleted user on
//! one instance takes effect on every instance with the next request; the user's data version
//! read here tells whether pages' data cached in memory still holds (src/page_cache.rs).

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use sqlx::{PgPool, types::Json};
use tower_sessions::{
    SessionStore,
    session::{Id, Record},
    session_store::{Error, Result},
};
use uuid::Uuid;

use crate::http::layout::AccountState;

/// The record key under which `load` hands over the [`Viewer`]. Stripped before every write.
pub const CONTEXT: &str = "_viewer";

/// The signed-in user as every page needs them, loaded with the session.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Viewer {
    pub id: Uuid,
    pub name: String,
    pub email: String,
    pub time_zone: String,
    /// Moves with every change to what the user's pages show (src/page_cache.rs).
    pub data_version: i64,
    pub accounts: Vec<AccountState>,
}

#[derive(Debug, Clone)]
pub struct PgSessionStore {
    db: PgPool,
}

impl PgSessionStore {
    pub fn new(db: PgPool) -> Self {
        PgSessionStore { db }
    }

    /// Deletes expired sessions every hour until `stop` (every instance does; the deletes are
    /// idempotent). Loading ignores expired rows anyway: this only keeps the table small.
    pub fn spawn_cleanup(self, stop: tokio_util::sync::CancellationToken) {
        tokio::spawn(async move {
            let mut every = tokio::time::interval(std::time::Duration::from_secs(3600));
            loop {
                tokio::select! {
                    () = stop.cancelled() => return,
                    _ = every.tick() => {}
                }
                match sqlx::query!("delete from sessions where expiry_date < now()")
                    .execute(&self.db)
                    .await
                {
                    Ok(done) => tracing::debug!(deleted = done.rows_affected(), "expired sessions"),
                    Err(e) => tracing::warn!(error = %e, "deleting expired sessions"),
                }
            }
        });
    }
}

fn backend(e: sqlx::Error) -> Error {
    Error::Backend(e.to_string())
}

/// The record as stored: without the loaded context, with the owner pulled out as a column.
fn encode(record: &Record) -> Result<(Vec<u8>, Option<Uuid>)> {
    let owner = record
        .data
        .get(super::session::USER_ID)
        .and_then(|v| serde_json::from_value::<Uuid>(v.clone()).ok());
    let bytes = if record.data.contains_key(CONTEXT) {
        let mut stored = record.clone();
        stored.data.remove(CONTEXT);
        rmp_serde::to_vec(&stored)
    } else {
        rmp_serde::to_vec(record)
    }
    .map_err(|e| Error::Encode(e.to_string()))?;
    Ok((bytes, owner))
}

/// tower-sessions keeps times as `time::OffsetDateTime`; Docket binds chrono everywhere.
fn expiry(record: &Record) -> chrono::DateTime<chrono::Utc> {
    let at = record.expiry_date;
    chrono::DateTime::from_timestamp(at.unix_timestamp(), at.nanosecond()).unwrap_or_default()
}

struct Loaded {
    data: Vec<u8>,
    viewer: Option<Json<Viewer>>,
}

#[async_trait]
impl SessionStore for PgSessionStore {
    async fn create(&self, record: &mut Record) -> Result<()> {
        let (data, owner) = encode(record)?;
        // A colliding id (never seen in practice: 128 random bits) draws a new one.
        loop {
            let inserted = sqlx::query!(
                "insert into sessions (id, user_id, data, expiry_date) values ($1, $2, $3, $4)
                 on conflict (id) do nothing",
                record.id.to_string(),
                owner,
                &data,
                expiry(record),
            )
            .execute(&self.db)
            .await
            .map_err(backend)?;
            if inserted.rows_affected() == 1 {
                return Ok(());
            }
            record.id = Id::default();
        }
    }

    async fn save(&self, record: &Record) -> Result<()> {
        let (data, owner) = encode(record)?;
        sqlx::query!(
            "insert into sessions (id, user_id, data, expiry_date) values ($1, $2, $3, $4)
             on conflict (id) do update
             set user_id = excluded.user_id, data = excluded.data, expiry_date = excluded.expiry_date",
            record.id.to_string(),
            owner,
            &data,
            expiry(record),
        )
        .execute(&self.db)
        .await
        .map_err(backend)?;
        Ok(())
    }

    async fn load(&self, id: &Id) -> Result<Option<Record>> {
        // Accounts in the order they were linked; the sync state is the header's sync line.
        let loaded = sqlx::query_as!(
            Loaded,
            r#"select s.data,
                    case when u.id is not null then json_build_object(
                        'id', u.id, 'name', u.name, 'email', u.email, 'time_zone', u.time_zone,
                        'data_version', coalesce((select v.version from data_versions v
                                                  where v.user_id = u.id), 0),
                        'accounts', coalesce((
                            select json_agg(json_build_object(
                                       'provider', a.provider, 'email', a.email, 'status', a.status,
                                       'status_reason', a.status_reason,
                                       'running', st.lease_until > now(), 'progress', st.progress,
                                       'last_success_at', st.last_success_at,
                                       'last_error', st.last_error, 'due_at', st.due_at)
                                   order by a.created_at)
                            from accounts a left join sync_state st on st.account_id = a.id
                            where a.user_id = u.id), '[]'::json))
                    end as "viewer: Json<Viewer>"
             from sessions s left join users u on u.id = s.user_id
             where s.id = $1 and s.expiry_date > now()"#,
            id.to_string(),
        )
        .fetch_optional(&self.db)
        .await
        .map_err(backend)?;
        let Some(loaded) = loaded else {
            return Ok(None);
        };
        let mut record: Record =
            rmp_serde::from_slice(&loaded.data).map_err(|e| Error::Decode(e.to_string()))?;
        if let Some(viewer) = loaded.viewer {
            let value = serde_json::to_value(viewer.0).map_err(|e| Error::Decode(e.to_string()))?;
            record.data.insert(CONTEXT.to_owned(), value);
        }
        Ok(Some(record))
    }

    async fn delete(&self, id: &Id) -> Result<()> {
        sqlx::query!("delete from sessions where id = $1", id.to_string())
            .execute(&self.db)
            .await
            .map_err(backend)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// migrations/0007 finds the owner of a session saved by the previous store by this byte
    /// pattern: the key "user_id" as a MessagePack fixstr, then the UUID as a 36-byte str8.
    #[test]
    fn a_stored_record_carries_its_owner_where_the_migration_looks() {
        let user = Uuid::new_v4();
        let mut record = Record {
            id: Id::default(),
            data: Default::default(),
            expiry_date: tower_sessions::cookie::time::OffsetDateTime::now_utc(),
        };
        record.data.insert(
            crate::auth::session::USER_ID.to_owned(),
            serde_json::to_value(user).unwrap(),
        );
        record
            .data
            .insert(CONTEXT.to_owned(), serde_json::json!({"loaded": true}));
        let (bytes, owner) = encode(&record).unwrap();
        assert_eq!(owner, Some(user));
        let pattern = b"\xa7user_id\xd9\x24";
        let at = bytes
            .windows(pattern.len())
            .position(|w| w == pattern)
            .expect("the owner's key and string header");
        let found = &bytes[at + pattern.len()..at + pattern.len() + 36];
        assert_eq!(found, user.to_string().as_bytes());
        // The loaded context is never written back.
        let stored: Record = rmp_serde::from_slice(&bytes).unwrap();
        assert!(!stored.data.contains_key(CONTEXT));
    }
}
