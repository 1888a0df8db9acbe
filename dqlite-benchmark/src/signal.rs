//! Shutdown signals: Ctrl-C (SIGINT) and, on Unix, SIGTERM. The first one stops the run
//! cleanly (results are still written); a second one exits at once with status 130.

use tokio::sync::watch;

/// Completes when SIGINT or SIGTERM arrives. A handler that cannot be installed leaves its
/// signal with the default action.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        _ = term => {}
    }
}

/// A shutdown flag set by the first signal, listened for from the moment this is called.
#[derive(Debug, Clone)]
pub struct Shutdown {
    rx: watch::Receiver<bool>,
}

impl Shutdown {
    /// Installs the handlers (inside a tokio runtime).
    pub fn listen() -> Shutdown {
        let (tx, rx) = watch::channel(false);
        tokio::spawn(async move {
            shutdown_signal().await;
            let _ = tx.send(true);
            eprintln!("\nsignal received: stopping (again to exit at once)");
            shutdown_signal().await;
            eprintln!("second signal: exiting without writing results");
            std::process::exit(130);
        });
        Shutdown { rx }
    }

    /// A flag set by hand through the returned sender (tests, library use). Dropping the
    /// sender without setting it means "never".
    pub fn manual() -> (Shutdown, watch::Sender<bool>) {
        let (tx, rx) = watch::channel(false);
        (Shutdown { rx }, tx)
    }

    /// True once a signal arrived.
    pub fn requested(&self) -> bool {
        *self.rx.borrow()
    }

    /// Completes when a signal arrives.
    pub async fn wait(mut self) {
        if self.rx.wait_for(|&set| set).await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}
