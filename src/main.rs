//! The `docket` command line. With no arguments it serves.

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use docket::config::Config;

#[derive(Parser)]
#[command(
    name = "docket",
    version,
    about = "Meeting notes linked to your calendar"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the web application (the default).
    Serve,
    /// Apply database migrations and exit.
    Migrate,
    /// Re-encrypt every stored OAuth token from DOCKET_PREVIOUS_SECRET_KEY to DOCKET_SECRET_KEY
    /// at once (running instances with both keys set also re-encrypt each token on use).
    RotateKey,
}

async fn rotate_key(config: &Config) -> anyhow::Result<()> {
    let current = config
        .secret_key
        .as_ref()
        .ok_or_else(|| anyhow::anyhow!("DOCKET_SECRET_KEY must hold the new key"))?;
    let previous = config
        .previous_secret_key
        .as_ref()
        .ok_or_else(|| anyhow::anyhow!("DOCKET_PREVIOUS_SECRET_KEY must hold the old key"))?;
    let pool = docket::db::connect(config).await?;
    docket::db::migrate(&pool).await?;
    let report = docket::accounts::rotate_key(
        &pool,
        &docket::crypto::TokenCipher::new(previous),
        &docket::crypto::TokenCipher::new(current),
    )
    .await?;
    eprintln!(
        "docket: {} token rows re-encrypted, {} already on the new key, {} unreadable (those accounts need reconnecting)",
        report.re_encrypted, report.already_current, report.unreadable
    );
    Ok(())
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let config = match Config::from_env() {
        Ok(config) => config,
        Err(errors) => {
            eprintln!("docket: {errors}");
            return ExitCode::from(2);
        }
    };
    docket::telemetry::init_logging(config.log_format);
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("docket: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async {
        match cli.command.unwrap_or(Command::Serve) {
            Command::Serve => docket::serve(config).await,
            Command::Migrate => {
                let pool = docket::db::connect(&config).await?;
                docket::db::migrate(&pool).await?;
                docket::search::use_language(&pool, &config.search_language).await?;
                eprintln!("docket: migrations applied");
                Ok(())
            }
            Command::RotateKey => rotate_key(&config).await,
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // A short message, not a backtrace: the cause chain is enough to act on.
            eprintln!("docket: {e:#}");
            ExitCode::FAILURE
        }
    }
}
