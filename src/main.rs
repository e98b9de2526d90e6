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
                eprintln!("docket: migrations applied");
                Ok(())
            }
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
