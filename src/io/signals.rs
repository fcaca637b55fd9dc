//! Process signals as driver controls: SIGHUP re-reads the config file and
//! hands a valid one to the driver (an invalid one is logged with its file
//! and line, and the running configuration stays); SIGTERM or Ctrl-C asks
//! the driver to drain and exit.

use std::path::PathBuf;

use tokio::sync::mpsc;

use crate::config::Config;

/// What the signal task asks of the driver.
#[derive(Debug)]
pub(crate) enum Control {
    /// Apply the reloadable part of this configuration.
    Reload(Box<Config>),
    /// Stop accepting, finish in-flight work, exit.
    Drain,
}

/// Spawns the signal task. `config_path` is the file `run` was started
/// with (`None`: the embedded default, which has nothing to reload).
pub(crate) fn spawn(config_path: Option<PathBuf>) -> mpsc::Receiver<Control> {
    let (tx, rx) = mpsc::channel(4);
    tokio::spawn(async move {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            let (Ok(mut hup), Ok(mut term)) = (
                signal(SignalKind::hangup()),
                signal(SignalKind::terminate()),
            ) else {
                tracing::error!("cannot install signal handlers; only Ctrl-C stops the gateway");
                let _ = tokio::signal::ctrl_c().await;
                let _ = tx.send(Control::Drain).await;
                return;
            };
            loop {
                tokio::select! {
                    _ = hup.recv() => reload(&config_path, &tx).await,
                    _ = term.recv() => { let _ = tx.send(Control::Drain).await; }
                    _ = tokio::signal::ctrl_c() => { let _ = tx.send(Control::Drain).await; }
                }
            }
        }
        #[cfg(not(unix))]
        {
            let _ = config_path;
            let _ = tokio::signal::ctrl_c().await;
            let _ = tx.send(Control::Drain).await;
        }
    });
    rx
}

#[cfg(unix)]
async fn reload(path: &Option<PathBuf>, tx: &mpsc::Sender<Control>) {
    let Some(path) = path else {
        tracing::warn!("SIGHUP: running on the embedded default config; nothing to reload");
        return;
    };
    let loaded = {
        let path = path.clone();
        tokio::task::spawn_blocking(move || Config::load(&path)).await
    };
    match loaded {
        Ok(Ok(config)) => {
            tracing::info!(path = %path.display(), "SIGHUP: configuration loaded");
            let _ = tx.send(Control::Reload(Box::new(config))).await;
        }
        Ok(Err(e)) => {
            tracing::error!(error = %e, "SIGHUP: new configuration refused; keeping the running one");
        }
        Err(e) => tracing::error!(error = %e, "SIGHUP: config loader failed"),
    }
}
