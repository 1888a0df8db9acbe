//! What a database writer refuses, and when it stops: client statements run only while the
//! node serves as leader and only in the term the batch began in; an entry that cannot be
//! applied for a reason of this node alone stops the writer (and the node, see
//! [`crate::fatal`]) instead of being skipped.

use super::cmd::WriterCmd;
use super::state::Writer;
use crate::error::{Error, Result};

impl Writer {
    /// `value`, or the fault that stopped this writer.
    pub(super) fn unless_failed<T>(&self, value: T) -> Result<T> {
        match &self.failed {
            Some(why) => Err(Error::internal(format!(
                "database {} cannot apply: {why}",
                self.name
            ))),
            None => Ok(value),
        }
    }

    /// Serves a command after a fault: nothing runs or applies any more. Returns true when
    /// the thread must end.
    pub(super) fn serve_failed(&mut self, cmd: WriterCmd) -> bool {
        match cmd {
            WriterCmd::Stmt(_, reply) => {
                let _ = reply.send(Err(Error::NotLeader));
            }
            WriterCmd::Prepare(_, reply) => {
                let _ = reply.send(Err(Error::NotLeader));
            }
            WriterCmd::ApplyMany(_, reply) => {
                let _ = reply.send(self.unless_failed(Vec::new()));
            }
            WriterCmd::Flush(reply) => {
                let _ = reply.send(self.unless_failed(()));
            }
            WriterCmd::Abort(_, reply) => {
                let _ = reply.send(());
            }
            WriterCmd::Close(reply) => {
                let _ = reply.send(());
                return true;
            }
        }
        false
    }

    /// Stops this writer for a fault of this node alone (see [`crate::fatal`]): the node is
    /// told to stop, every transaction in flight is dropped (its client learns that the
    /// outcome is unknown, 10506) and nothing runs or applies any more. Nothing is committed
    /// that was not already: on restart the database is rebuilt from snapshot and log.
    pub(super) fn fail(&mut self, why: String) {
        if self.failed.is_some() {
            return;
        }
        self.env
            .fatal
            .raise(format!("database {}: {why}", self.name));
        self.failed = Some(why);
        self.tx = None;
        self.session = None;
        self.cache.clear();
        self.pk_cache.clear();
        if !self.conn.is_autocommit() {
            let _ = self.conn.execute_batch("ROLLBACK");
        }
        self.batch.open = false;
        self.batch.applied.clear();
        self.batch.pending.clear();
        for (_, r) in self.deferred.drain(..) {
            let _ = r.send(Err(Error::NotLeader));
        }
    }

    /// Client statements run only while the node serves as leader, and only in the term the
    /// batch began in: whatever the batch holds from an earlier term (a leadership change
    /// the watcher has not rolled back yet, or leader(t) -> follower -> leader(t') seen as
    /// one change) is rolled back first, so nothing executed under an old term is ever
    /// proposed or built upon. `NotLeader` means the statement did not run.
    pub(super) fn check_term(&mut self) -> Result<()> {
        let term = self.env.serving.term();
        if term.is_some() && term == self.batch_term {
            return Ok(());
        }
        let holds = self.tx.is_some()
            || self.batch.open
            || !self.batch.pending.is_empty()
            || !self.batch.applied.is_empty();
        if holds {
            tracing::info!(db = %self.name, "leadership changed since this batch began; rolling it back");
            self.reset(true);
        }
        self.batch_term = term;
        term.map(|_| ()).ok_or(Error::NotLeader)
    }
}
