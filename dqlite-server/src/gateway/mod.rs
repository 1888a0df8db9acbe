//! Per-connection request handling: the bound database, prepared statements, the writer
//! queue position and the open transaction. Errors become FAILURE responses only here.

mod admin;
mod sql;
mod write;

use std::sync::atomic::Ordering;
use std::sync::Arc;

use bytes::BytesMut;
use dqlite_proto::{code, request_kind as kind, Frame, ProtocolVersion, Request, Response};
use tokio::io::{AsyncWrite, AsyncWriteExt};

use crate::error::{Error, Result};
use crate::node::membership;
use crate::node::shared::Shared;
use crate::sql::exec::ExecResult;
use crate::sql::registry::Db;
use crate::sql::writer::WriterCmd;

/// A database bound by OPEN, valid while the leadership epoch is unchanged.
struct Bound {
    db: Arc<Db>,
    epoch: u64,
}

/// A prepared statement: its SQL (one statement) and parameter count.
struct Prepared {
    sql: String,
}

/// One client connection's state.
pub struct Gateway {
    node: Arc<Shared>,
    conn: u64,
    version: ProtocolVersion,
    bound: Option<Bound>,
    stmts: Vec<Option<Prepared>>,
    in_tx: bool,
    sticky: ExecResult,
}

/// Encodes and writes one response.
pub async fn write_response<W: AsyncWrite + Unpin + ?Sized>(
    stream: &mut W,
    resp: &Response,
) -> std::io::Result<()> {
    let mut out = BytesMut::new();
    resp.encode(&mut out).map_err(std::io::Error::other)?;
    stream.write_all(&out).await
}

/// Where a request's answers go.
pub struct Out<'s> {
    stream: &'s mut (dyn AsyncWrite + Unpin + Send),
}

impl Out<'_> {
    /// Writes one response.
    pub async fn send(&mut self, resp: &Response) -> std::io::Result<()> {
        write_response(self.stream, resp).await
    }

    /// Writes already-encoded messages (ROWS batches).
    pub async fn send_raw(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.stream.write_all(bytes).await
    }

    /// Writes a FAILURE for `e`.
    pub async fn fail(&mut self, e: &Error) -> std::io::Result<()> {
        self.send(&Response::Failure(e.to_failure())).await
    }
}

impl Gateway {
    /// A gateway for a new connection.
    pub fn new(node: Arc<Shared>, version: ProtocolVersion) -> Gateway {
        let conn = node.next_conn.fetch_add(1, Ordering::Relaxed);
        Gateway {
            node,
            conn,
            version,
            bound: None,
            stmts: Vec::new(),
            in_tx: false,
            sticky: ExecResult::default(),
        }
    }

    /// This connection's id (the owner of its statements and transactions).
    pub fn conn_id(&self) -> u64 {
        self.conn
    }

    /// Whether this connection has a transaction open (for its idle timeout).
    pub fn in_tx(&self) -> bool {
        self.in_tx
    }

    /// Handles one request frame, writing every response it produces. Only I/O errors are
    /// returned (the connection is then closed).
    pub async fn handle<W: AsyncWrite + Unpin + Send>(
        &mut self,
        frame: &Frame,
        stream: &mut W,
    ) -> std::io::Result<()> {
        let mut out = Out { stream };
        let h = frame.header;
        let sql_kind = matches!(
            h.kind,
            kind::PREPARE | kind::EXEC | kind::QUERY | kind::EXEC_SQL | kind::QUERY_SQL
        );
        if sql_kind && h.schema > 1 {
            return out
                .fail(&Error::failure(code::ERROR, "unrecognized schema version"))
                .await;
        }
        if !sql_kind && h.schema != 0 && h.kind <= kind::WEIGHT && h.kind != kind::HEARTBEAT {
            return out
                .fail(&Error::failure(
                    code::DQLITE_PARSE,
                    "unrecognized schema version",
                ))
                .await;
        }
        let req = match frame.request() {
            Ok(Request::Heartbeat { .. }) => {
                return out
                    .fail(&Error::failure(
                        code::DQLITE_PARSE,
                        "unrecognized request type",
                    ))
                    .await
            }
            Ok(req) => req,
            Err(e) if e.is_unknown_type() => {
                return out
                    .fail(&Error::failure(
                        code::DQLITE_PARSE,
                        "unrecognized request type",
                    ))
                    .await
            }
            Err(dqlite_proto::Error::BadValueType { .. }) => {
                return out
                    .fail(&Error::failure(code::ERROR, "bind parameters"))
                    .await
            }
            Err(e) => {
                return out
                    .fail(&Error::failure(code::DQLITE_PARSE, e.to_string()))
                    .await
            }
        };
        let res = self.dispatch(req, &mut out).await;
        match res {
            Ok(()) => Ok(()),
            Err(Error::Io(e)) => Err(e),
            Err(e) => out.fail(&e).await,
        }
    }

    async fn dispatch(&mut self, req: Request, out: &mut Out<'_>) -> Result<()> {
        match req {
            Request::Leader => self.leader(out).await,
            Request::Client { .. } => {
                reply(
                    out,
                    Response::Welcome {
                        heartbeat_timeout: 15000,
                    },
                )
                .await
            }
            Request::Interrupt { .. } => {
                // The running statement, if any, was stopped when this request arrived (see
                // `server::watching`); it is answered once that statement's answer is sent.
                self.node.registry.limits.clear_interrupt(self.conn);
                reply(out, Response::Empty).await
            }
            Request::Open { name, .. } => self.open(name, out).await,
            Request::Prepare { db, sql, with_tail } => self.prepare(db, sql, with_tail, out).await,
            Request::Exec {
                db, stmt, params, ..
            } => {
                let sql = self.statement(u64::from(db), stmt)?;
                self.exec_sql(sql, params, out).await
            }
            Request::Query {
                db, stmt, params, ..
            } => {
                let sql = self.statement(u64::from(db), stmt)?;
                self.query_sql(sql, params, out).await
            }
            Request::Finalize { db, stmt } => self.finalize(u64::from(db), stmt, out).await,
            Request::ExecSql {
                db, sql, params, ..
            } => {
                self.check_db(db)?;
                self.exec_sql(sql, params, out).await
            }
            Request::QuerySql {
                db, sql, params, ..
            } => {
                self.check_db(db)?;
                self.query_sql(sql, params, out).await
            }
            Request::Cluster { format } => self.cluster(format, out).await,
            Request::Describe { format } => self.describe(format, out).await,
            Request::Weight { weight } => {
                self.node.weight.store(weight, Ordering::Relaxed);
                reply(out, Response::Empty).await
            }
            Request::Dump { name } => self.dump(name, out).await,
            Request::Add { id, address } => {
                let node = self.node.clone();
                admin::run(out, membership::add(&node, id, address)).await
            }
            Request::Assign { id, role } => {
                let role = dqlite_proto::Role::from_code(role.unwrap_or(0))
                    .map_err(|_| Error::failure(code::ERROR, "server role is not valid"))?;
                let node = self.node.clone();
                admin::run(out, membership::assign(&node, id, role)).await
            }
            Request::Remove { id } => {
                let node = self.node.clone();
                admin::run(out, membership::remove(&node, id)).await
            }
            Request::Transfer { id } => {
                let node = self.node.clone();
                admin::run(out, crate::node::transfer::transfer(&node, id)).await
            }
            _ => Err(Error::failure(
                code::DQLITE_PARSE,
                "unrecognized request type",
            )),
        }
    }

    /// Releases this connection's hold on the writer and rolls back its transaction.
    pub async fn close(&mut self) {
        if let Some(b) = self.bound.take() {
            if self.in_tx || b.db.queue.is_owner(self.conn) {
                let conn = self.conn;
                let _ =
                    b.db.writer
                        .call(|tx| WriterCmd::Abort(Some(conn), tx))
                        .await;
            }
            b.db.queue.release(self.conn);
        }
        self.in_tx = false;
        self.node.registry.limits.clear_interrupt(self.conn);
    }

    /// Leader check first, then the binding: `db` must be 0 and bound in this epoch.
    fn check_db(&mut self, db: u64) -> Result<Arc<Db>> {
        if !self.node.is_serving() {
            return Err(Error::NotLeader);
        }
        let epoch = self.node.epoch();
        match &self.bound {
            Some(b) if b.epoch != epoch => {
                // Leadership was lost since OPEN: the binding (and any transaction) is gone.
                self.in_tx = false;
                self.stmts.clear();
                b.db.queue.release(self.conn);
                Err(Error::no_database())
            }
            Some(b) if db == 0 => Ok(b.db.clone()),
            _ => Err(Error::no_database()),
        }
    }
}

async fn reply(out: &mut Out<'_>, resp: Response) -> Result<()> {
    out.send(&resp).await.map_err(Error::Io)
}
