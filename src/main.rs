//! The `cpim-gateway` binary: CLI parsing, logging setup, and handing a
//! validated config to `io::run` (or to `io::resolve` for `resolve <uri>`).
//! Exit codes: 0 ok (for `resolve`: a report was printed, whatever it
//! found), 64 usage or config error (a bad URI included), 1 runtime failure.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use cpim_gateway::config::{Config, LogFormat};

#[derive(Parser)]
#[command(
    name = "cpim-gateway",
    version,
    about = "SIMPLE ⇄ CPIM ⇄ XMPP federation gateway"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the gateway (embedded loopback defaults when no config is given).
    Run {
        /// Config file (TOML).
        #[arg(long, env = "CPIM_GATEWAY_CONFIG")]
        config: Option<PathBuf>,
    },
    /// Validate a config file and exit.
    CheckConfig {
        /// Config file (TOML).
        #[arg(long)]
        config: PathBuf,
    },
    /// Show how a destination would be routed: static route, local domain,
    /// or the DNS records, their order and the chosen binding.
    Resolve {
        /// Destination URI (`im:`, `pres:`, `sip:` or `sips:`).
        uri: String,
        /// Config file (TOML).
        #[arg(long, env = "CPIM_GATEWAY_CONFIG")]
        config: Option<PathBuf>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let (config, check_only) = match &cli.command {
        Command::Run { config: Some(p) }
        | Command::Resolve {
            config: Some(p), ..
        } => (Config::load(p), false),
        Command::Run { config: None } | Command::Resolve { config: None, .. } => {
            (Config::embedded_default(), false)
        }
        Command::CheckConfig { config } => (Config::load(config), true),
    };
    let config = match config {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(64);
        }
    };
    if check_only {
        println!(
            "ok: {} listener(s), {} route(s), {} peer(s)",
            config.sip.listen.len(),
            config.routes.len(),
            config.policy.peers.len()
        );
        return ExitCode::SUCCESS;
    }
    if let Command::Resolve { uri, .. } = &cli.command {
        return resolve(&config, uri);
    }
    init_logging(&config);
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start runtime: {e}");
            return ExitCode::from(1);
        }
    };
    let path = match &cli.command {
        Command::Run { config } => config.clone(),
        _ => None,
    };
    match rt.block_on(cpim_gateway::io::run(config, path)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(1)
        }
    }
}

/// `resolve`: prints the report; 64 for a bad URI, 1 on runtime failure.
fn resolve(config: &Config, uri: &str) -> ExitCode {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build();
    let result = match rt {
        Ok(rt) => rt.block_on(cpim_gateway::io::resolve::resolve_command(config, uri)),
        Err(e) => Err(e.into()),
    };
    match result {
        Ok(text) => {
            print!("{text}");
            ExitCode::SUCCESS
        }
        Err(e) if e.is::<cpim_gateway::io::resolve::BadUri>() => {
            eprintln!("error: {e}");
            ExitCode::from(64)
        }
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(1)
        }
    }
}

fn init_logging(config: &Config) {
    use tracing_subscriber::EnvFilter;
    cpim_gateway::redact::configure(config.log.redact);
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(&config.log.level));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match config.log.format {
        LogFormat::Json => builder.json().flatten_event(true).init(),
        LogFormat::Text => builder.init(),
    }
}
