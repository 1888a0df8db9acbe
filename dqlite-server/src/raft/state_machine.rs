//! The raft state machine: applies committed entries to the databases (through each
//! database's writer thread) and keeps the cluster list; builds and installs snapshots.
//!
//! The databases are not fsync'd on apply: on start the state machine is rebuilt from the
//! current snapshot (or from nothing) and openraft re-applies the log after it.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use openraft::storage::{RaftStateMachine, Snapshot};
use openraft::{EntryPayload, RaftSnapshotBuilder};

use super::floor::SnapshotFloor;
use super::snapshot::{self, Pinned, SnapshotDir};
use super::{
    any_error, se, Entry, LogId, SnapshotMeta, StorageError, StoredMembership, TypeConfig,
};
use crate::command::{Applied, Command, Op, Origin, Transactions};
use crate::sql::registry::Registry;
use crate::sql::writer::WriterCmd;

/// State shared with the rest of the node (CLUSTER reads it).
#[derive(Debug, Default, Clone)]
pub struct SmState {
    /// Last applied log id.
    pub last_applied: Option<LogId>,
    /// Last applied membership.
    pub membership: StoredMembership,
    /// Cluster list (id, address) in insertion order.
    pub nodes: Vec<(u64, String)>,
}

/// The state machine.
pub struct StateMachine {
    registry: Arc<Registry>,
    state: Arc<Mutex<SmState>>,
    snapshots: Arc<SnapshotDir>,
    receiving: Option<PathBuf>,
}

impl StateMachine {
    /// Rebuilds the state from the snapshot in `dir` (if any) into the registry's directory;
    /// `floor` follows the snapshot on disk.
    pub async fn open(
        dir: &Path,
        registry: Arc<Registry>,
        floor: SnapshotFloor,
    ) -> crate::Result<StateMachine> {
        let sm = StateMachine {
            registry,
            state: Arc::new(Mutex::new(SmState::default())),
            snapshots: Arc::new(SnapshotDir::open(dir, floor)?),
            receiving: None,
        };
        sm.restore_current().await?;
        Ok(sm)
    }

    /// The shared state.
    pub fn state(&self) -> Arc<Mutex<SmState>> {
        self.state.clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, SmState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Replaces databases and state with the current snapshot (or empties them).
    async fn restore_current(&self) -> crate::Result<()> {
        self.registry.close_all().await;
        let current = self.snapshots.path().join(snapshot::CURRENT);
        let db_dir = self.registry.dir().to_owned();
        let header = if current.exists() {
            let header = tokio::task::spawn_blocking(move || snapshot::restore(&current, &db_dir))
                .await
                .map_err(|e| crate::Error::internal(e.to_string()))??;
            Some(header)
        } else {
            snapshot::clear_dir(&db_dir)?;
            None
        };
        let mut state = SmState::default();
        if let Some(h) = header {
            for (name, _) in &h.dbs {
                self.registry.ensure(name)?;
            }
            state.last_applied = h.meta.last_log_id;
            state.membership = h.meta.last_membership.clone();
            state.nodes = h.nodes;
        }
        *self.lock() = state;
        Ok(())
    }

    async fn apply_command(&self, cmd: Command) -> Result<Applied, StorageError> {
        let write = |e: crate::Error| se::write_state_machine(any_error(e));
        match cmd {
            Command::Noop => {}
            Command::Open { db } => {
                // A name no node can hold (only an old leader could have proposed one) is
                // refused the same way everywhere; anything else failing here is this node's.
                if let Err(e) = crate::sql::registry::check_name(&db) {
                    tracing::warn!(error = %e, "OPEN entry refused on apply");
                    let f = e.to_failure();
                    return Ok(Applied {
                        error: Some((f.code, f.message)),
                    });
                }
                self.registry.ensure(&db).map_err(write)?;
            }
            cmd @ (Command::Tx { .. } | Command::Txs { .. }) => {
                let mut out = vec![Applied::default()];
                if let Ok(txs) = cmd.into_transactions() {
                    self.apply_txs(vec![(0, txs)], &mut out).await?;
                }
                return Ok(out.pop().unwrap_or_default());
            }
            Command::AddNode { id, address } => {
                let mut st = self.lock();
                match st.nodes.iter_mut().find(|(n, _)| *n == id) {
                    Some(entry) => entry.1 = address,
                    None => st.nodes.push((id, address)),
                }
            }
            Command::RemoveNode { id } => self.lock().nodes.retain(|(n, _)| *n != id),
        }
        Ok(Applied::default())
    }
}

/// The transactions of one entry, with the entry's index in `out`.
type TxEntry = (usize, Transactions);
/// One database's share of a run of transactions: name, each one's index in `out`, and the
/// transactions.
type DbRun = (String, Vec<usize>, Vec<(Origin, Vec<Op>)>);

impl StateMachine {
    /// Applies the transactions of entries (in log order), one writer hand-off per database;
    /// rejected ones get their error in `out` at their entry's index.
    async fn apply_txs(
        &self,
        entries: Vec<TxEntry>,
        out: &mut [Applied],
    ) -> Result<(), StorageError> {
        let write = |e: crate::Error| se::write_state_machine(any_error(e));
        let mut by_db: Vec<DbRun> = Vec::new();
        for (idx, (db, txs)) in entries {
            let pos = match by_db.iter().position(|(name, _, _)| *name == db) {
                Some(pos) => pos,
                None => {
                    by_db.push((db, Vec::new(), Vec::new()));
                    by_db.len() - 1
                }
            };
            by_db[pos].1.extend(std::iter::repeat_n(idx, txs.len()));
            by_db[pos].2.extend(txs);
        }
        for (name, idxs, items) in by_db {
            let db = self.registry.ensure(&name).map_err(write)?;
            let results = db
                .writer
                .call(|tx| WriterCmd::ApplyMany(items, tx))
                .await
                .and_then(|r| r)
                .map_err(write)?;
            if results.len() != idxs.len() {
                return Err(write(crate::Error::internal("writer lost apply results")));
            }
            for (idx, res) in idxs.into_iter().zip(results) {
                if let Err(e) = res {
                    // Deterministic: every node rejects it the same way (see `apply_many`).
                    tracing::warn!(error = %e, "transaction rejected on apply");
                    let f = e.to_failure();
                    if let Some(slot) = out.get_mut(idx) {
                        slot.error = Some((f.code, f.message));
                    }
                }
            }
        }
        Ok(())
    }
}

/// Builds a snapshot from databases pinned when the builder was created.
pub struct Builder {
    snapshots: Arc<SnapshotDir>,
    meta: SnapshotMeta,
    nodes: Vec<(u64, String)>,
    /// Every database, pinned at `meta.last_log_id`; or why that could not be done, in which
    /// case no snapshot is built (one without a database would lose it).
    pinned: Mutex<crate::Result<Vec<Pinned>>>,
}

impl RaftSnapshotBuilder<TypeConfig> for Builder {
    async fn build_snapshot(&mut self) -> Result<Snapshot<TypeConfig>, StorageError> {
        let fail = |e: crate::Error| se::write_snapshot(None, any_error(e));
        let snapshots = self.snapshots.clone();
        let meta = self.meta.clone();
        let nodes = self.nodes.clone();
        let pinned = std::mem::replace(
            self.pinned.get_mut().unwrap_or_else(|p| p.into_inner()),
            Err(crate::Error::internal("snapshot already built")),
        )
        .map_err(fail)?;
        let (path, meta) =
            tokio::task::spawn_blocking(move || snapshots.build(meta, nodes, pinned))
                .await
                .map_err(|e| se::write_snapshot(None, any_error(e)))?
                .map_err(fail)?;
        let file = tokio::fs::File::open(path)
            .await
            .map_err(|e| se::read_snapshot(None, any_error(e)))?;
        tracing::info!(last = ?meta.last_log_id, "snapshot built");
        Ok(Snapshot {
            meta,
            snapshot: Box::new(file),
        })
    }
}

impl StateMachine {
    /// Commits everything applied and pins every database at that point.
    async fn pin_all(&self) -> crate::Result<Vec<Pinned>> {
        for name in self.registry.names() {
            if let Some(db) = self.registry.get(&name) {
                db.writer.call(WriterCmd::Flush).await??;
            }
        }
        let mut pinned = Vec::new();
        for name in self.registry.names() {
            let p = snapshot::pin(&name, &self.registry.path_of(&name)).map_err(|e| {
                crate::Error::internal(format!("cannot pin database {name} for a snapshot: {e}"))
            })?;
            pinned.push(p);
        }
        Ok(pinned)
    }
}

impl RaftStateMachine<TypeConfig> for StateMachine {
    type SnapshotBuilder = Builder;

    async fn applied_state(&mut self) -> Result<(Option<LogId>, StoredMembership), StorageError> {
        let st = self.lock();
        Ok((st.last_applied, st.membership.clone()))
    }

    async fn apply<I>(&mut self, entries: I) -> Result<Vec<Applied>, StorageError>
    where
        I: IntoIterator<Item = Entry> + Send,
        I::IntoIter: Send,
    {
        let mut out = Vec::new();
        // Consecutive transactions go to their writers together (one hand-off per database).
        let mut txs = Vec::new();
        let mut last = None;
        for entry in entries {
            let applied = match entry.payload {
                EntryPayload::Blank => Applied::default(),
                EntryPayload::Membership(m) => {
                    self.lock().membership = StoredMembership::new(Some(entry.log_id), m);
                    Applied::default()
                }
                EntryPayload::Normal(cmd) => match cmd.into_transactions() {
                    Ok(entry_txs) => {
                        txs.push((out.len(), entry_txs));
                        Applied::default()
                    }
                    Err(cmd) => {
                        self.apply_txs(std::mem::take(&mut txs), &mut out).await?;
                        self.apply_command(cmd).await?
                    }
                },
            };
            last = Some(entry.log_id);
            out.push(applied);
        }
        self.apply_txs(txs, &mut out).await?;
        if last.is_some() {
            self.lock().last_applied = last;
        }
        Ok(out)
    }

    async fn get_snapshot_builder(&mut self) -> Builder {
        let (last_applied, membership, nodes) = {
            let st = self.lock();
            (st.last_applied, st.membership.clone(), st.nodes.clone())
        };
        // Everything applied must be committed in SQLite before the databases are pinned.
        let pinned = self.pin_all().await;
        if let Err(e) = &pinned {
            tracing::error!(error = %e, "no snapshot can be built");
        }
        let id = match last_applied {
            Some(l) => format!(
                "{}-{}-{:x}",
                l.leader_id.term,
                l.index,
                rand::random::<u32>()
            ),
            None => format!("0-0-{:x}", rand::random::<u32>()),
        };
        Builder {
            snapshots: self.snapshots.clone(),
            meta: SnapshotMeta {
                last_log_id: last_applied,
                last_membership: membership,
                snapshot_id: id,
            },
            nodes,
            pinned: Mutex::new(pinned),
        }
    }

    async fn begin_receiving_snapshot(&mut self) -> Result<Box<tokio::fs::File>, StorageError> {
        let (path, file) = self
            .snapshots
            .receive_file()
            .map_err(|e| se::write_snapshot(None, any_error(e)))?;
        tracing::info!(file = %path.display(), "snapshot receive begins");
        self.receiving = Some(path);
        Ok(Box::new(tokio::fs::File::from_std(file)))
    }

    async fn install_snapshot(
        &mut self,
        meta: &SnapshotMeta,
        snapshot: Box<tokio::fs::File>,
    ) -> Result<(), StorageError> {
        let err = |e: crate::Error| se::write_snapshot(Some(meta.signature()), any_error(e));
        tracing::info!(last = ?meta.last_log_id, "snapshot install begins");
        let mut file = snapshot.into_std().await;
        let path = self
            .receiving
            .take()
            .ok_or_else(|| err(crate::Error::internal("no snapshot being received")))?;
        let snapshots = self.snapshots.clone();
        let m = meta.clone();
        tokio::task::spawn_blocking(move || snapshots.accept(&path, &mut file, &m))
            .await
            .map_err(|e| err(crate::Error::internal(e.to_string())))?
            .map_err(err)?;
        tracing::info!(last = ?meta.last_log_id, "snapshot install: file durable and current");
        self.restore_current().await.map_err(err)?;
        tracing::info!(last = ?meta.last_log_id, "snapshot installed");
        Ok(())
    }

    async fn get_current_snapshot(&mut self) -> Result<Option<Snapshot<TypeConfig>>, StorageError> {
        let read = |e: crate::Error| se::read_snapshot(None, any_error(e));
        let Some(mut file) = self.snapshots.open_current().map_err(read)? else {
            return Ok(None);
        };
        // One handle for the header and the data: a newer snapshot may be renamed over the
        // current one at any time.
        let header = snapshot::read_header(&mut file).map_err(read)?;
        std::io::Seek::rewind(&mut file).map_err(|e| read(e.into()))?;
        Ok(Some(Snapshot {
            meta: header.meta,
            snapshot: Box::new(tokio::fs::File::from_std(file)),
        }))
    }
}
