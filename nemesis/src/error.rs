//! The crate's one error type: failures of the tool, the cluster or its set-up (anomalies
//! are not errors: they are results, see [`crate::check`]).

use std::path::{Path, PathBuf};

use crate::cluster::ClusterError;

/// Every error a run can end with.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Starting, driving or stopping the cluster's processes or network failed.
    #[error("cluster: {0}")]
    Cluster(#[from] ClusterError),
    /// The client could not be set up.
    #[error("client: {0}")]
    Client(#[from] dqlite_client::Error),
    /// A file could not be written or read.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What happened.
        #[source]
        source: std::io::Error,
    },
    /// The run could not be set up or completed (no cluster formed, bad options, ...).
    #[error("{0}")]
    Setup(String),
    /// Interrupted (Ctrl-C or SIGTERM): everything made was removed.
    #[error("interrupted")]
    Interrupted,
}

impl Error {
    /// An I/O error on `path`.
    pub fn io(path: &Path, source: std::io::Error) -> Error {
        Error::Io {
            path: path.to_owned(),
            source,
        }
    }

    /// True when the run was interrupted by the user.
    pub fn is_interrupted(&self) -> bool {
        matches!(self, Error::Interrupted)
    }
}
