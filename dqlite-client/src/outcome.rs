//! What a failed request may have done: the one rule that turns an error into
//! [`Error::CommitUnknown`] and decides whether the request may be sent again. The retry
//! loops ([`crate::Db`], [`crate::Db::transaction`]) and the paths that never retry
//! ([`crate::Conn`], [`crate::Statement`], [`crate::Transaction`]) all go through
//! [`judge`].

use crate::connection::OP_RECEIVE;
use crate::error::{Error, RetryAction};
use crate::sql;

/// Whether a request may have changed the database, and how much of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// Cannot commit anything (a read, or a statement inside a transaction that does not
    /// end it): a failure leaves nothing applied, so its error is reported as is.
    Read,
    /// One statement that may write: once it was sent, leadership lost (10506) or a lost
    /// reply makes the outcome unknown; a refusal such as 10250 or busy means it did not run.
    Write,
    /// Several statements of which one may write, run by the server one after the other,
    /// each in its own transaction. A FAILURE does not say which statement failed, so once
    /// the text was sent any failure may follow statements that already committed: the
    /// outcome is unknown.
    Batch,
}

impl Kind {
    /// The kind of a SQL text run in autocommit mode.
    pub fn of_sql(sql: &str) -> Kind {
        if sql::is_read_only(sql) {
            Kind::Read
        } else if sql::statement_count(sql) > 1 {
            Kind::Batch
        } else {
            Kind::Write
        }
    }

    /// The kind of a SQL text run inside an open transaction: nothing commits before COMMIT
    /// (and the server rolls the transaction back when the connection goes), so only text
    /// that may commit is judged as a write.
    pub fn of_sql_in_transaction(sql: &str) -> Kind {
        if sql::may_commit(sql) {
            Kind::of_sql(sql)
        } else {
            Kind::Read
        }
    }
}

/// True when an error was raised after the request had been completely sent.
pub(crate) fn after_send(e: &Error) -> bool {
    match e {
        Error::Io { op, .. } | Error::Timeout { op, .. } => *op == OP_RECEIVE,
        Error::Protocol { .. } => true,
        _ => false,
    }
}

/// True when a request of `kind` that failed with `err` may have committed something.
fn outcome_unknown(err: &Error, kind: Kind) -> bool {
    match kind {
        Kind::Read => false,
        Kind::Write => err.is_leadership_lost() || after_send(err),
        Kind::Batch => after_send(err) || matches!(err, Error::Server { .. }),
    }
}

/// Classifies a failed attempt: the error to report (wrapped in [`Error::CommitUnknown`]
/// when the outcome is unknown) and whether to try again. An error that is already
/// `CommitUnknown` is passed through unchanged.
pub(crate) fn judge(err: Error, kind: Kind, retry_busy: bool) -> (Error, RetryAction) {
    if err.is_commit_unknown() {
        return (err, RetryAction::None);
    }
    if outcome_unknown(&err, kind) {
        return (
            Error::CommitUnknown {
                source: Box::new(err),
            },
            RetryAction::None,
        );
    }
    let action = match err.retry_action() {
        RetryAction::Backoff if !retry_busy => RetryAction::None,
        RetryAction::None if err.is_connection_error() => RetryAction::Rediscover,
        RetryAction::None if err.is_leadership_lost() => RetryAction::Rediscover,
        action => action,
    };
    (err, action)
}

#[cfg(test)]
mod tests {
    use dqlite_proto::{code, Failure};

    use super::*;

    fn server(code: u64) -> Error {
        Error::Server {
            node: "n".into(),
            failure: Failure::new(code, "x"),
        }
    }

    fn received_nothing() -> Error {
        Error::io(OP_RECEIVE, "n", std::io::ErrorKind::UnexpectedEof.into())
    }

    #[test]
    fn kinds_of_sql() {
        assert_eq!(Kind::of_sql("SELECT 1;"), Kind::Read);
        assert_eq!(Kind::of_sql("INSERT INTO t VALUES(1);"), Kind::Write);
        assert_eq!(
            Kind::of_sql("INSERT INTO t VALUES(1); SELECT 1"),
            Kind::Batch
        );
        assert_eq!(
            Kind::of_sql_in_transaction("INSERT INTO t VALUES(1)"),
            Kind::Read
        );
        assert_eq!(Kind::of_sql_in_transaction("COMMIT"), Kind::Write);
        assert_eq!(
            Kind::of_sql_in_transaction("DELETE FROM t; END"),
            Kind::Batch
        );
    }

    #[test]
    fn a_batch_is_unknown_after_any_failure_once_sent() {
        for code in [
            code::NOT_LEADER,
            code::BUSY,
            code::NOTFOUND,
            code::CONSTRAINT,
        ] {
            let (err, action) = judge(server(code), Kind::Batch, true);
            assert!(err.is_commit_unknown(), "{code}");
            assert_eq!(action, RetryAction::None);
            let (err, action) = judge(server(code), Kind::Write, true);
            assert!(!err.is_commit_unknown(), "{code}");
            assert_eq!(action == RetryAction::None, code == code::CONSTRAINT);
        }
        let send = Error::io("send", "n", std::io::ErrorKind::BrokenPipe.into());
        assert_eq!(judge(send, Kind::Batch, false).1, RetryAction::Rediscover);
        assert!(judge(received_nothing(), Kind::Batch, false)
            .0
            .is_commit_unknown());
    }

    #[test]
    fn judging_twice_wraps_once() {
        let (once, _) = judge(server(code::LEADERSHIP_LOST), Kind::Write, false);
        let (twice, action) = judge(once, Kind::Write, false);
        assert!(matches!(&twice, Error::CommitUnknown { source } if !source.is_commit_unknown()));
        assert_eq!(action, RetryAction::None);
        let (read, _) = judge(received_nothing(), Kind::Read, false);
        assert!(read.is_connection_error());
    }
}
