//! Cluster requests: LEADER, CLUSTER, DESCRIBE, DUMP and the membership changes.

use std::future::Future;

use dqlite_proto::{code, File, NodeInfo, ProtocolVersion, Response};

use super::{reply, Gateway, Out};
use crate::error::{Error, Result};

impl Gateway {
    pub(super) async fn leader(&mut self, out: &mut Out<'_>) -> Result<()> {
        // Only voters report the leader; stand-bys and spares answer (0, "").
        let (id, address) = if self.node.is_voter() {
            self.node.leader().unwrap_or((0, String::new()))
        } else {
            (0, String::new())
        };
        let resp = match self.version {
            ProtocolVersion::Legacy => Response::NodeLegacy { address },
            _ => Response::Node { id, address },
        };
        reply(out, resp).await
    }

    pub(super) async fn cluster(&mut self, format: u64, out: &mut Out<'_>) -> Result<()> {
        if format > 1 {
            return Err(Error::failure(
                code::DQLITE_PARSE,
                "unrecognized cluster format",
            ));
        }
        let nodes = crate::node::membership::cluster(&self.node)
            .into_iter()
            .map(|n| NodeInfo {
                role: if format == 1 { n.role } else { None },
                ..n
            })
            .collect();
        reply(out, Response::Nodes(nodes)).await
    }

    pub(super) async fn describe(&mut self, format: u64, out: &mut Out<'_>) -> Result<()> {
        if format != 0 {
            return Err(Error::failure(code::PROTOCOL, "bad format version"));
        }
        let resp = Response::Metadata {
            failure_domain: self.node.config.failure_domain,
            weight: self.node.weight.load(std::sync::atomic::Ordering::Relaxed),
        };
        reply(out, resp).await
    }

    /// DUMP: a consistent image of this node's copy (WAL merged) plus an empty WAL file.
    pub(super) async fn dump(&mut self, name: String, out: &mut Out<'_>) -> Result<()> {
        let Some(db) = self.node.registry.get(&name) else {
            return Err(Error::failure(
                code::DQLITE_NOTFOUND,
                "database does not exists",
            ));
        };
        let path = db.path.clone();
        let image = tokio::task::spawn_blocking(move || -> Result<Vec<u8>> {
            let mut conn = rusqlite::Connection::open(&path)?;
            let data = conn.serialize(rusqlite::MAIN_DB)?;
            Ok(data.to_vec())
        })
        .await
        .map_err(|e| Error::internal(e.to_string()))??;
        let files = vec![
            File {
                name: name.clone(),
                data: image,
            },
            File {
                name: format!("{name}-wal"),
                data: Vec::new(),
            },
        ];
        reply(out, Response::Files(files)).await
    }
}

/// Runs a membership change and answers EMPTY when it completes.
pub(super) async fn run(out: &mut Out<'_>, change: impl Future<Output = Result<()>>) -> Result<()> {
    change.await?;
    reply(out, Response::Empty).await
}
