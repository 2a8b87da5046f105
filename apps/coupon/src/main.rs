//! `coupon`: the coupon-issuing service's API, worker and load generator in one binary.

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "coupon",
    about = "Issue limited coupons, first come first served, through a failover"
)]
struct Cli {
    #[command(subcommand)]
    role: Role,
}

#[derive(Subcommand)]
enum Role {
    /// Serve the HTTP API.
    Api(coupon::api::ApiArgs),
    /// Persist issued coupons from the request streams to the database.
    Worker(coupon::worker::WorkerArgs),
    /// Drive simulated users against a campaign and check what was confirmed was kept.
    Load(coupon::load::LoadArgs),
}

fn main() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("COUPON_LOG")
                .unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    let code = runtime.block_on(async {
        match Cli::parse().role {
            Role::Api(args) => coupon::api::main(args).await,
            Role::Worker(args) => coupon::worker::main(args).await,
            Role::Load(args) => coupon::load::main(args).await,
        }
    });
    std::process::exit(code);
}
