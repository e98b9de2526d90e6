//! Users and their linked accounts (Google, Microsoft, CalDAV, ICS subscriptions), with sealed
//! OAuth tokens and connection details.

use crate::kinds::AccountStatus;
use chrono::{DateTime, Duration, Utc};
use sqlx::{PgPool, Postgres, Transaction};
use uuid::Uuid;

use crate::{
    auth::{
        oidc::Identity,
        provider::{self, Provider, TokenError, Tokens},
    },
    config::Config,
    crypto::{CryptoError, Sealed, TokenCipher},
};

#[derive(Debug, Clone)]
pub struct Account {
    pub id: Uuid,
    pub user_id: Uuid,
    pub provider: Provider,
    pub subject: String,
    pub email: String,
    pub name: String,
    pub status: AccountStatus,
    pub status_reason: Option<String>,
}

/// Why an account could not be linked.
#[derive(Debug, thiserror::Error)]
pub enum LinkError {
    #[error("this account is already connected to another Docket user")]
    OwnedByAnotherUser,
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

pub async fn find(
    db: &PgPool,
    provider: Provider,
    subject: &str,
) -> Result<Option<Account>, sqlx::Error> {
    sqlx::query_as!(
        Account,
        r#"select id, user_id, provider as "provider: Provider", subject, email, name,
                  status as "status: AccountStatus", status_reason
           from accounts where provider = $1 and subject = $2"#,
        provider as Provider,
        subject,
    )
    .fetch_optional(db)
    .await
}

pub async fn for_user(db: &PgPool, user_id: Uuid) -> Result<Vec<Account>, sqlx::Error> {
    sqlx::query_as!(
        Account,
        r#"select id, user_id, provider as "provider: Provider", subject, email, name,
                  status as "status: AccountStatus", status_reason
           from accounts where user_id = $1 order by created_at"#,
        user_id,
    )
    .fetch_all(db)
    .await
}

pub async fn get(db: &PgPool, user_id: Uuid, id: Uuid) -> Result<Option<Account>, sqlx::Error> {
    sqlx::query_as!(
        Account,
        r#"select id, user_id, provider as "provider: Provider", subject, email, name,
                  status as "status: AccountStatus", status_reason
           from accounts where user_id = $1 and id = $2"#,
        user_id,
        id,
    )
    .fetch_optional(db)
    .await
}

/// Signs in with `identity`: the user who owns that provider account, or a new user.
/// When `current_user` is set (someone signed in is connecting another account), the account
/// is linked to them, unless it already belongs to someone else.
pub async fn sign_in_or_link(
    tx: &mut Transaction<'_, Postgres>,
    provider: Provider,
    identity: &Identity,
    status: AccountStatus,
    scopes: &str,
    current_user: Option<Uuid>,
) -> Result<Account, LinkError> {
    // Lock the row (if any) so two simultaneous callbacks cannot both create it.
    let existing = sqlx::query_as!(
        Account,
        r#"select id, user_id, provider as "provider: Provider", subject, email, name,
                  status as "status: AccountStatus", status_reason
           from accounts where provider = $1 and subject = $2 for update"#,
        provider as Provider,
        identity.subject,
    )
    .fetch_optional(&mut **tx)
    .await?;
    let user_id = match (&existing, current_user) {
        (Some(account), Some(user)) if account.user_id != user => {
            return Err(LinkError::OwnedByAnotherUser);
        }
        (Some(account), _) => account.user_id,
        (None, Some(user)) => user,
        (None, None) => {
            let user_id = Uuid::new_v4();
            sqlx::query!(
                "insert into users (id, name, email) values ($1, $2, $3)",
                user_id,
                identity.name,
                identity.email,
            )
            .execute(&mut **tx)
            .await?;
            user_id
        }
    };
    let account = sqlx::query_as!(
        Account,
        r#"insert into accounts (id, user_id, provider, subject, email, name, status, granted_scopes)
         values ($1, $2, $3, $4, $5, $6, $7, $8)
         on conflict on constraint accounts_provider_subject_key do update
            set email = excluded.email, name = excluded.name, status = excluded.status,
                status_reason = null, granted_scopes = excluded.granted_scopes, updated_at = now()
         returning id, user_id, provider as "provider: Provider", subject, email, name,
                   status as "status: AccountStatus", status_reason"#,
        Uuid::new_v4(),
        user_id,
        provider as Provider,
        identity.subject,
        identity.email,
        identity.name,
        status as AccountStatus,
        scopes,
    )
    .fetch_one(&mut **tx)
    .await?;
    Ok(account)
}

/// Stores freshly issued tokens. A response without a refresh token keeps the stored one
/// (Google sends it only on first consent); a new one replaces it (Microsoft rotates).
pub async fn store_tokens<'e, E: sqlx::PgExecutor<'e>>(
    db: E,
    cipher: &TokenCipher,
    account: &Account,
    tokens: &Tokens,
) -> Result<(), sqlx::Error> {
    let context = account.id.as_bytes();
    let access = cipher.seal(&tokens.access_token, context);
    let refresh = tokens
        .refresh_token
        .as_deref()
        .map(|t| cipher.seal(t, context));
    let expires_at = Utc::now() + Duration::seconds(tokens.expires_in_secs);
    sqlx::query!(
        "insert into account_tokens
            (account_id, user_id, key_id, access_nonce, access_ciphertext, access_expires_at,
             refresh_nonce, refresh_ciphertext)
         values ($1, $2, $3, $4, $5, $6, $7, $8)
         on conflict (account_id) do update
            set key_id = excluded.key_id,
                access_nonce = excluded.access_nonce,
                access_ciphertext = excluded.access_ciphertext,
                access_expires_at = excluded.access_expires_at,
                refresh_nonce = coalesce(excluded.refresh_nonce, account_tokens.refresh_nonce),
                refresh_ciphertext = coalesce(excluded.refresh_ciphertext, account_tokens.refresh_ciphertext),
                updated_at = now()",
        account.id,
        account.user_id,
        access.key_id,
        access.nonce,
        access.ciphertext,
        expires_at,
        refresh.as_ref().map(|s| s.nonce.as_slice()),
        refresh.as_ref().map(|s| s.ciphertext.as_slice()),
    )
    .execute(db)
    .await?;
    Ok(())
}

/// Seals the connection details of an account connected with a Settings form (a CalDAV
/// server's address, username and app password; a subscription's URL) where OAuth tokens go:
/// the access columns, never expiring, with no refresh token. Key rotation, disconnection and
/// account deletion then treat them exactly as tokens.
pub async fn store_credentials<'e, E: sqlx::PgExecutor<'e>>(
    db: E,
    cipher: &TokenCipher,
    account: &Account,
    details: &str,
) -> Result<(), sqlx::Error> {
    let sealed = cipher.seal(details, account.id.as_bytes());
    sqlx::query!(
        "insert into account_tokens
            (account_id, user_id, key_id, access_nonce, access_ciphertext, access_expires_at)
         values ($1, $2, $3, $4, $5, 'infinity')
         on conflict (account_id) do update
            set key_id = excluded.key_id,
                access_nonce = excluded.access_nonce,
                access_ciphertext = excluded.access_ciphertext,
                access_expires_at = excluded.access_expires_at,
                refresh_nonce = null, refresh_ciphertext = null,
                updated_at = now()",
        account.id,
        account.user_id,
        sealed.key_id,
        sealed.nonce,
        sealed.ciphertext,
    )
    .execute(db)
    .await?;
    Ok(())
}

struct CredentialsRow {
    key_id: String,
    access_nonce: Vec<u8>,
    access_ciphertext: Vec<u8>,
}

/// Opens what [`store_credentials`] sealed. Missing or undecryptable details mark the account
/// as needing reconnection (the user enters them again).
pub async fn credentials(
    db: &PgPool,
    cipher: &TokenCipher,
    account: &Account,
) -> Result<String, AccessError> {
    let row = sqlx::query_as!(
        CredentialsRow,
        "select key_id, access_nonce, access_ciphertext
         from account_tokens where account_id = $1 and user_id = $2",
        account.id,
        account.user_id,
    )
    .fetch_optional(db)
    .await?;
    let opened = match row {
        None => Err("no stored connection details".to_owned()),
        Some(row) => cipher
            .open(
                &Sealed {
                    key_id: row.key_id,
                    nonce: row.access_nonce,
                    ciphertext: row.access_ciphertext,
                },
                account.id.as_bytes(),
            )
            .map_err(|e| e.to_string()),
    };
    match opened {
        Ok(details) => Ok(details),
        Err(reason) => {
            set_status(db, account.id, AccountStatus::NeedsReconnect, Some(&reason)).await?;
            Err(AccessError::NeedsReconnect(reason))
        }
    }
}

struct TokenRow {
    key_id: String,
    access_nonce: Vec<u8>,
    access_ciphertext: Vec<u8>,
    access_expires_at: DateTime<Utc>,
    refresh_nonce: Option<Vec<u8>>,
    refresh_ciphertext: Option<Vec<u8>>,
}

struct RefreshRow {
    key_id: String,
    refresh_nonce: Option<Vec<u8>>,
    refresh_ciphertext: Option<Vec<u8>>,
}

pub async fn set_status(
    db: &PgPool,
    account_id: Uuid,
    status: AccountStatus,
    reason: Option<&str>,
) -> Result<(), sqlx::Error> {
    // A disconnect is the user's decision: a sync finishing late never overrides it.
    sqlx::query!(
        "update accounts set status = $2, status_reason = $3, updated_at = now()
         where id = $1 and status <> 'disconnected'
           and (status, status_reason) is distinct from ($2, $3)",
        account_id,
        status as AccountStatus,
        reason,
    )
    .execute(db)
    .await?;
    Ok(())
}

/// Why no access token could be had.
#[derive(Debug, thiserror::Error)]
pub enum AccessError {
    /// The account needs the user (reconnect); it has been marked so.
    #[error("{0}")]
    NeedsReconnect(String),
    #[error("{0}")]
    Transient(String),
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

/// Refresh this long before expiry, so a request never starts with a token about to die.
const REFRESH_MARGIN_SECS: i64 = 120;

/// A usable access token: the stored one while it is fresh, else a refreshed one (stored at
/// once, with any rotated refresh token). `force` refreshes regardless (after a 401).
pub async fn access_token(
    db: &PgPool,
    config: &Config,
    http: &reqwest::Client,
    cipher: &TokenCipher,
    account: &Account,
    force: bool,
) -> Result<String, AccessError> {
    let row = sqlx::query_as!(
        TokenRow,
        "select key_id, access_nonce, access_ciphertext, access_expires_at, refresh_nonce, refresh_ciphertext
         from account_tokens where account_id = $1 and user_id = $2",
        account.id,
        account.user_id,
    )
    .fetch_optional(db)
    .await?;
    let needs_reconnect = |reason: String| async move {
        set_status(db, account.id, AccountStatus::NeedsReconnect, Some(&reason)).await?;
        Err::<String, _>(AccessError::NeedsReconnect(reason))
    };
    let Some(row) = row else {
        return needs_reconnect("no stored tokens".into()).await;
    };
    let context = account.id.as_bytes();
    let row = if row.key_id == cipher.key_id() {
        row
    } else {
        let previous_key_id = row.key_id.clone();
        let row = match reseal(cipher, context, row) {
            Ok(row) => row,
            Err(e) => return needs_reconnect(e.to_string()).await,
        };
        store_resealed(db, account, &previous_key_id, &row).await?;
        row
    };
    if !force && row.access_expires_at - Utc::now() > Duration::seconds(REFRESH_MARGIN_SECS) {
        let sealed = Sealed {
            key_id: row.key_id.clone(),
            nonce: row.access_nonce,
            ciphertext: row.access_ciphertext,
        };
        match cipher.open(&sealed, context) {
            Ok(token) => return Ok(token),
            Err(e) => return needs_reconnect(e.to_string()).await,
        }
    }
    let (Some(nonce), Some(ciphertext)) = (row.refresh_nonce, row.refresh_ciphertext) else {
        return needs_reconnect("no refresh token was granted".into()).await;
    };
    let refresh_token = match cipher.open(
        &Sealed {
            key_id: row.key_id,
            nonce,
            ciphertext,
        },
        context,
    ) {
        Ok(token) => token,
        Err(e) => return needs_reconnect(e.to_string()).await,
    };
    match provider::refresh(account.provider, config, http, &refresh_token).await {
        Ok(tokens) => {
            store_tokens(db, cipher, account, &tokens).await?;
            Ok(tokens.access_token)
        }
        Err(TokenError::GrantRevoked(code)) => {
            needs_reconnect(format!("the provider revoked access ({code})")).await
        }
        Err(TokenError::Transient(e)) => Err(AccessError::Transient(e)),
    }
}

/// Opens a row sealed with the previous key (a key rotation under way) and seals it again with
/// the current one.
fn reseal(cipher: &TokenCipher, context: &[u8], row: TokenRow) -> Result<TokenRow, CryptoError> {
    let open = |nonce, ciphertext| {
        cipher.open(
            &Sealed {
                key_id: row.key_id.clone(),
                nonce,
                ciphertext,
            },
            context,
        )
    };
    let access = cipher.seal(&open(row.access_nonce, row.access_ciphertext)?, context);
    let refresh = match (row.refresh_nonce, row.refresh_ciphertext) {
        (Some(nonce), Some(ciphertext)) => Some(cipher.seal(&open(nonce, ciphertext)?, context)),
        _ => None,
    };
    Ok(TokenRow {
        key_id: access.key_id,
        access_nonce: access.nonce,
        access_ciphertext: access.ciphertext,
        access_expires_at: row.access_expires_at,
        refresh_nonce: refresh.as_ref().map(|s| s.nonce.clone()),
        refresh_ciphertext: refresh.map(|s| s.ciphertext),
    })
}

/// Stores a re-sealed row, unless another instance changed it meanwhile (it then holds tokens
/// at least as fresh, sealed with the current key).
async fn store_resealed(
    db: &PgPool,
    account: &Account,
    previous_key_id: &str,
    row: &TokenRow,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "update account_tokens set key_id = $3, access_nonce = $4, access_ciphertext = $5,
            refresh_nonce = $6, refresh_ciphertext = $7, updated_at = now()
         where account_id = $1 and key_id = $2",
        account.id,
        previous_key_id,
        row.key_id,
        row.access_nonce,
        row.access_ciphertext,
        row.refresh_nonce,
        row.refresh_ciphertext,
    )
    .execute(db)
    .await?;
    Ok(())
}

/// Disconnects an account: revokes the grant where the provider can, forgets the tokens, stops
/// syncing. Meetings and notes stay.
pub async fn disconnect(
    db: &PgPool,
    config: &Config,
    http: &reqwest::Client,
    cipher: &TokenCipher,
    account: &Account,
) -> Result<(), sqlx::Error> {
    let refresh = sqlx::query_as!(
        RefreshRow,
        "select key_id, refresh_nonce, refresh_ciphertext from account_tokens where account_id = $1 and user_id = $2",
        account.id,
        account.user_id,
    )
    .fetch_optional(db)
    .await?;
    if let Some(RefreshRow {
        key_id,
        refresh_nonce: Some(nonce),
        refresh_ciphertext: Some(ciphertext),
    }) = refresh
        && let Ok(token) = cipher.open(
            &Sealed {
                key_id,
                nonce,
                ciphertext,
            },
            account.id.as_bytes(),
        )
    {
        provider::revoke(account.provider, config, http, &token).await;
    }
    let mut tx = db.begin().await?;
    sqlx::query!(
        "delete from account_tokens where account_id = $1 and user_id = $2",
        account.id,
        account.user_id,
    )
    .execute(&mut *tx)
    .await?;
    sqlx::query!(
        "update accounts set status = 'disconnected', status_reason = null, updated_at = now()
         where id = $1 and user_id = $2",
        account.id,
        account.user_id,
    )
    .execute(&mut *tx)
    .await?;
    tx.commit().await
}

/// What deleting a user did with their provider grants, for the log.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Deletion {
    /// Grants the provider confirmed revoked (Google).
    pub revoked: usize,
    /// Grants only forgotten: the provider has no revocation (Microsoft), refused or could not
    /// be reached, or the stored token could not be decrypted.
    pub forgotten: usize,
}

/// A linked account's tokens, as they leave the database.
struct Grant {
    account_id: Uuid,
    provider: Provider,
    key_id: String,
    access_nonce: Vec<u8>,
    access_ciphertext: Vec<u8>,
    refresh_nonce: Option<Vec<u8>>,
    refresh_ciphertext: Option<Vec<u8>>,
}

impl Grant {
    /// The token that ends the grant when revoked: the refresh token, else the access token.
    fn revocable_token(self, cipher: &TokenCipher) -> Result<String, CryptoError> {
        let (nonce, ciphertext) = match (self.refresh_nonce, self.refresh_ciphertext) {
            (Some(nonce), Some(ciphertext)) => (nonce, ciphertext),
            _ => (self.access_nonce, self.access_ciphertext),
        };
        cipher.open(
            &Sealed {
                key_id: self.key_id,
                nonce,
                ciphertext,
            },
            self.account_id.as_bytes(),
        )
    }
}

/// Deletes the user and every row they own in one transaction, then revokes their provider
/// grants. Returns `None` when there was no such user (already deleted).
///
/// Every per-user table references `users` with `on delete cascade` (the account-deletion test
/// reads the table list from the catalog and proves no row is left), so deleting the user row
/// deletes the rest, sessions included: the next request on any instance finds no session.
/// `statement_timeout` is raised to `timeout` for this transaction only, since a long history
/// is more than a page's statement may take.
///
/// Revocation runs after the commit: were it first, a failed commit would leave the user with
/// their data but without Docket's access. It is best effort: an outage or refusal is logged
/// and never blocks the deletion, which has already happened.
pub async fn delete_user(
    db: &PgPool,
    config: &Config,
    http: &reqwest::Client,
    cipher: &TokenCipher,
    user_id: Uuid,
    timeout: std::time::Duration,
) -> Result<Option<Deletion>, sqlx::Error> {
    let mut tx = db.begin().await?;
    sqlx::query!(
        "select set_config('statement_timeout', $1, true)",
        format!("{}ms", timeout.as_millis())
    )
    .fetch_one(&mut *tx)
    .await?;
    let grants = sqlx::query_as!(
        Grant,
        r#"delete from account_tokens t using accounts a
           where a.id = t.account_id and t.user_id = $1
           returning t.account_id, a.provider as "provider: Provider", t.key_id,
                     t.access_nonce, t.access_ciphertext, t.refresh_nonce, t.refresh_ciphertext"#,
        user_id
    )
    .fetch_all(&mut *tx)
    .await?;
    let deleted = sqlx::query!("delete from users where id = $1", user_id)
        .execute(&mut *tx)
        .await?;
    if deleted.rows_affected() == 0 {
        return Ok(None);
    }
    tx.commit().await?;

    let mut outcome = Deletion::default();
    for grant in grants {
        let (account_id, provider) = (grant.account_id, grant.provider);
        // Microsoft offers no call that withdraws one app's consent for a user (PROVIDERS.md
        // lists no revocation endpoint; `revokeSignInSessions` would sign the person out of
        // everything). Its tokens are deleted with the account, so Docket can never use them
        // again; the person can remove Docket from their Microsoft account's app permissions.
        if provider
            .config(config)
            .is_none_or(|pc| pc.revoke_url.is_none())
        {
            outcome.forgotten += 1;
            continue;
        }
        let revoked = match grant.revocable_token(cipher) {
            Ok(token) => provider::revoke(provider, config, http, &token).await,
            Err(e) => {
                tracing::warn!(%provider, %account_id, error = %e, "cannot revoke an unreadable token");
                false
            }
        };
        if revoked {
            outcome.revoked += 1;
        } else {
            outcome.forgotten += 1;
        }
    }
    Ok(Some(outcome))
}

/// What a key rotation did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Rotation {
    pub re_encrypted: u64,
    pub already_current: u64,
    /// Rows that did not open with the previous key: their accounts now need reconnecting.
    pub unreadable: u64,
}

struct SealedRow {
    account_id: Uuid,
    key_id: String,
    access_nonce: Vec<u8>,
    access_ciphertext: Vec<u8>,
    refresh_nonce: Option<Vec<u8>>,
    refresh_ciphertext: Option<Vec<u8>>,
}

/// Re-encrypts every stored token from `previous` to `current`, one transaction per row so a
/// crash half-way leaves every row readable with one of the two keys.
pub async fn rotate_key(
    db: &PgPool,
    previous: &TokenCipher,
    current: &TokenCipher,
) -> Result<Rotation, sqlx::Error> {
    let rows = sqlx::query_as!(
        SealedRow,
        "select account_id, key_id, access_nonce, access_ciphertext, refresh_nonce, refresh_ciphertext
         from account_tokens",
    )
    .fetch_all(db)
    .await?;
    let mut report = Rotation::default();
    for row in rows {
        if row.key_id == current.key_id() {
            report.already_current += 1;
            continue;
        }
        let context = row.account_id.as_bytes();
        let open = |nonce: Vec<u8>, ciphertext: Vec<u8>| {
            previous.open(
                &Sealed {
                    key_id: row.key_id.clone(),
                    nonce,
                    ciphertext,
                },
                context,
            )
        };
        let access = open(row.access_nonce, row.access_ciphertext);
        let refresh = match (row.refresh_nonce, row.refresh_ciphertext) {
            (Some(n), Some(c)) => open(n, c).map(Some),
            _ => Ok(None),
        };
        let (Ok(access), Ok(refresh)) = (access, refresh) else {
            report.unreadable += 1;
            sqlx::query!(
                "update accounts set status = 'needs_reconnect', status_reason = 'stored tokens could not be decrypted'
                 where id = $1 and status <> 'disconnected'",
                row.account_id,
            )
            .execute(db)
            .await?;
            continue;
        };
        let access = current.seal(&access, context);
        let refresh = refresh.map(|r| current.seal(&r, context));
        sqlx::query!(
            "update account_tokens set key_id = $2, access_nonce = $3, access_ciphertext = $4,
                refresh_nonce = $5, refresh_ciphertext = $6, updated_at = now()
             where account_id = $1",
            row.account_id,
            access.key_id,
            access.nonce,
            access.ciphertext,
            refresh.as_ref().map(|s| s.nonce.as_slice()),
            refresh.as_ref().map(|s| s.ciphertext.as_slice()),
        )
        .execute(db)
        .await?;
        report.re_encrypted += 1;
    }
    Ok(report)
}
