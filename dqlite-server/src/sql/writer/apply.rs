//! Applying committed entries on the writer: the leader's own transactions are already
//! executed in the batch and only marked applied; other entries (followers, or a deposed
//! leader) are applied from their operations, several entries in one SQLite transaction.

use super::state::Writer;
use crate::command::{Op, Origin};
use crate::error::{Error, Result};
use crate::sql::session;

impl Writer {
    /// Applies committed entries in log order; one result per entry. The batch is committed
    /// afterwards if every pending transaction has been applied.
    ///
    /// An entry either applies or fails the same way on every node (an SQL error, a
    /// constraint: see [`Error::is_deterministic`]), and then it changes nothing anywhere.
    /// Any other failure (disk full, I/O error, a diverged replica) stops the writer and
    /// the node: the entry is never skipped.
    ///
    /// Cutting the batch here instead (see `Writer::cut`) answers early transactions sooner,
    /// but re-applying the pending ones cost more CPU than it saved on a two-core host, so
    /// only snapshots cut.
    pub(super) fn apply_many(&mut self, items: Vec<(Origin, Vec<Op>)>) -> Vec<Result<()>> {
        let mut out = Vec::with_capacity(items.len());
        let mut foreign: Vec<Vec<Op>> = Vec::new();
        for (origin, ops) in items {
            if self.failed.is_some() {
                break;
            }
            if self.is_ours(origin) {
                self.apply_foreign(std::mem::take(&mut foreign), &mut out);
                let res = self.apply_ours();
                out.push(res);
                continue;
            }
            if self.batch.open || !self.batch.pending.is_empty() || self.tx.is_some() {
                // Another leader's entry while ours were in flight: this node was deposed.
                tracing::info!("rolling back local transactions superseded by another leader");
                self.reset(true);
            }
            foreign.push(ops);
        }
        self.apply_foreign(foreign, &mut out);
        if self.failed.is_none() {
            self.maybe_commit();
        }
        out
    }

    /// Passes on a deterministic result; any other failure stops the writer.
    fn settle(&mut self, res: Result<()>) -> Result<()> {
        match res {
            Err(e) if !e.is_deterministic() => {
                self.fail(format!("applying a committed entry failed: {e}"));
                Err(e)
            }
            res => res,
        }
    }

    /// True when the entry is the oldest transaction this writer has in flight.
    fn is_ours(&self, origin: Origin) -> bool {
        origin.node == self.env.node_id
            && self
                .batch
                .pending
                .front()
                .is_some_and(|p| p.tx == origin.tx)
    }

    /// Marks the oldest pending transaction applied (or applies it, if it was lost).
    fn apply_ours(&mut self) -> Result<()> {
        let Some(mut p) = self.batch.pending.pop_front() else {
            return Err(Error::internal("pending transaction vanished"));
        };
        if std::mem::take(&mut p.ends_entry) {
            self.batch.in_flight = self.batch.in_flight.saturating_sub(1);
        }
        if p.lost {
            let res = self.apply_ops(&p.ops);
            let res = self.settle(res);
            if let Err(e) = &res {
                if e.is_deterministic() {
                    // It failed the same way everywhere: its client gets that answer.
                    let code = e.code().unwrap_or(dqlite_proto::code::ERROR);
                    p.failed(Error::failure(code, e.to_string()));
                }
                // Otherwise the sender is dropped: its client learns the outcome is unknown.
            } else {
                p.made_visible();
            }
            return res;
        }
        self.batch.applied.push(p);
        Ok(())
    }

    /// Applies entries from their operations, all in one SQLite transaction; if anything
    /// fails, that transaction is rolled back and they are applied again one transaction each,
    /// so every entry gets exactly the result it would get alone. The batch must be closed.
    fn apply_foreign(&mut self, entries: Vec<Vec<Op>>, out: &mut Vec<Result<()>>) {
        if entries.len() > 1 && self.apply_together(&entries).is_ok() {
            out.extend(entries.iter().map(|_| Ok(())));
            return;
        }
        for ops in &entries {
            if self.failed.is_some() {
                return;
            }
            let res = self.apply_ops(ops);
            let res = self.settle(res);
            out.push(res);
        }
    }

    /// Applies `entries` in one SQLite transaction. Consecutive changesets (up to the next SQL
    /// operation) are applied as one: a changeset is a sequence of table sections, so their
    /// concatenation applies exactly as they would one after another, at the cost of one
    /// table lookup and one set of prepared statements instead of one per transaction.
    fn apply_together(&mut self, entries: &[Vec<Op>]) -> Result<()> {
        self.cache.clear();
        self.pk_cache.clear();
        self.conn.execute_batch("BEGIN")?;
        let mut joined: Vec<u8> = Vec::new();
        let mut res = Ok(());
        for op in entries.iter().flatten() {
            match op {
                Op::Changeset(cs) => joined.extend_from_slice(cs),
                Op::Sql(sql) => {
                    res = session::apply_changeset(&self.conn, &joined)
                        .and_then(|()| Ok(self.conn.execute_batch(sql)?));
                    joined.clear();
                }
            }
            if res.is_err() {
                break;
            }
        }
        let res = res
            .and_then(|()| session::apply_changeset(&self.conn, &joined))
            .and_then(|()| Ok(self.conn.execute_batch("COMMIT")?));
        if res.is_err() && !self.conn.is_autocommit() {
            let _ = self.conn.execute_batch("ROLLBACK");
        }
        res
    }

    /// Applies operations in their own SQLite transaction (the batch must be closed).
    pub(super) fn apply_ops(&mut self, ops: &[Op]) -> Result<()> {
        self.cache.clear();
        self.pk_cache.clear();
        self.conn.execute_batch("BEGIN")?;
        match self.run_ops(ops) {
            Ok(()) => Ok(self.conn.execute_batch("COMMIT")?),
            Err(e) => {
                let _ = self.conn.execute_batch("ROLLBACK");
                Err(e)
            }
        }
    }

    /// Runs operations on the open transaction.
    pub(super) fn run_ops(&self, ops: &[Op]) -> Result<()> {
        ops.iter().try_for_each(|op| match op {
            Op::Changeset(cs) => session::apply_changeset(&self.conn, cs),
            Op::Sql(sql) => self.conn.execute_batch(sql).map_err(Error::from),
        })
    }
}
