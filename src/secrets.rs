//! The application secret key: from `DOCKET_SECRET_KEY`, or, outside production, a development
//! key generated once and kept in the database so restarts and sibling instances share it.

use anyhow::Context as _;
use rand::RngCore as _;
use sqlx::PgPool;

use crate::config::{Config, SecretKey};

const DEV_KEY_NAME: &str = "development_secret_key";

pub async fn resolve(config: &Config, db: &PgPool) -> anyhow::Result<SecretKey> {
    if let Some(key) = &config.secret_key {
        return Ok(key.clone());
    }
    let mut candidate = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut candidate);
    // Insert-or-read in one statement so two instances starting at once agree on one key.
    let stored: Vec<u8> = sqlx::query_scalar!(
        r#"with inserted as (
             insert into generated_secrets (name, value) values ($1, $2)
             on conflict (name) do nothing
             returning value
         )
         select value as "value!" from inserted
         union all
         select value from generated_secrets where name = $1
         limit 1"#,
        DEV_KEY_NAME,
        candidate.as_slice()
    )
    .fetch_one(db)
    .await
    .context("reading the development secret key")?;
    let key: [u8; 32] = stored
        .try_into()
        .map_err(|_| anyhow::anyhow!("stored development key has the wrong length"))?;
    tracing::warn!(
        "DOCKET_SECRET_KEY is unset: using a development key kept in the database table \
         generated_secrets (row {DEV_KEY_NAME:?}). Set DOCKET_SECRET_KEY (64 hex characters) in production."
    );
    Ok(SecretKey::new(key))
}
