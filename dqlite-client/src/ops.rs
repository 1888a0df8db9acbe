//! Typed requests on one [`Connection`]: each sends one request and checks the reply's type.

use dqlite_proto::{File, Frame, NodeInfo, ParamSchema, Request, Response, Value};

use crate::connection::Connection;
use crate::error::{Error, Result};

/// What an EXEC or EXEC_SQL reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ExecResult {
    /// The rowid of the last inserted row (`sqlite3_last_insert_rowid`).
    pub last_insert_id: i64,
    /// Rows changed by the last statement (`sqlite3_changes`).
    pub rows_affected: u64,
}

/// A node's failure domain and weight, from DESCRIBE.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NodeMetadata {
    /// Failure domain.
    pub failure_domain: u64,
    /// Weight.
    pub weight: u64,
}

/// A prepared statement's server-side id and parameter count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct StmtInfo {
    pub id: u32,
    pub params: u64,
}

fn unexpected(conn: &Connection, what: &str, got: &Response) -> Error {
    Error::protocol(
        conn.node(),
        format!("expected {what}, got response type {}", got.kind()),
    )
}

impl Connection {
    /// Picks the tuple schema for `n` parameters. More than 255 need schema 1, which only
    /// servers ≥ 1.12 understand: this probes once per connection (LEADER with schema 1,
    /// docs/wire-protocol.md §13.2) before ever sending it.
    async fn param_schema(&mut self, n: usize) -> Result<ParamSchema> {
        if n <= 255 {
            return Ok(ParamSchema::V0);
        }
        let supported = match self.params32 {
            Some(known) => known,
            None => {
                let probe = self.call_with_schema(&Request::Leader, 1).await;
                let known = match probe {
                    Ok(_) => false,
                    Err(e) if e.failure().is_some_and(|f| f.is_parse_error()) => true,
                    Err(e) => return Err(e),
                };
                self.params32 = Some(known);
                known
            }
        };
        if supported {
            Ok(ParamSchema::V1)
        } else {
            Err(Error::InvalidRequest(format!(
                "{n} parameters: more than 255 need a dqlite server >= 1.12 and {} is older",
                self.node()
            )))
        }
    }

    /// LEADER: the leader this node knows of, as (id, address); `(0, "")` when unknown.
    pub async fn leader(&mut self) -> Result<(u64, String)> {
        match self.call(&Request::Leader).await? {
            Response::Node { id, address } => Ok((id, address)),
            other => Err(unexpected(self, "NODE", &other)),
        }
    }

    /// CLIENT: registers the connection; returns the advertised heartbeat timeout in ms.
    pub async fn register(&mut self) -> Result<u64> {
        match self.call(&Request::Client { id: 0 }).await? {
            Response::Welcome { heartbeat_timeout } => Ok(heartbeat_timeout),
            other => Err(unexpected(self, "WELCOME", &other)),
        }
    }

    /// OPEN: binds database `name` to this connection (once per connection).
    pub async fn open_database(&mut self, name: &str) -> Result<()> {
        let req = Request::Open {
            name: name.to_owned(),
            flags: 0,
            vfs: "volatile".to_owned(),
        };
        match self.call(&req).await? {
            Response::Db { .. } => {
                self.database = Some(name.to_owned());
                Ok(())
            }
            other => Err(unexpected(self, "DB", &other)),
        }
    }

    /// EXEC_SQL: runs one or more statements.
    pub async fn exec_sql(&mut self, sql: &str, params: Vec<Value>) -> Result<ExecResult> {
        let schema = self.param_schema(params.len()).await?;
        let req = Request::ExecSql {
            db: 0,
            sql: sql.to_owned(),
            params,
            schema,
        };
        self.result(&req).await
    }

    async fn result(&mut self, req: &Request) -> Result<ExecResult> {
        match self.call(req).await? {
            Response::Result {
                last_insert_id,
                rows_affected,
            } => Ok(ExecResult {
                last_insert_id: last_insert_id as i64,
                rows_affected,
            }),
            other => Err(unexpected(self, "RESULT", &other)),
        }
    }

    /// QUERY_SQL: starts a query and returns its first ROWS batch.
    pub(crate) async fn query_sql(&mut self, sql: &str, params: Vec<Value>) -> Result<Frame> {
        let schema = self.param_schema(params.len()).await?;
        let req = Request::QuerySql {
            db: 0,
            sql: sql.to_owned(),
            params,
            schema,
        };
        self.query_start(&req).await
    }

    /// PREPARE: compiles one statement on the server.
    pub(crate) async fn prepare_stmt(&mut self, sql: &str) -> Result<StmtInfo> {
        let req = Request::Prepare {
            db: 0,
            sql: sql.to_owned(),
            with_tail: false,
        };
        match self.call(&req).await? {
            Response::Stmt { id, params, .. } => Ok(StmtInfo { id, params }),
            other => Err(unexpected(self, "STMT", &other)),
        }
    }

    /// EXEC of a prepared statement.
    pub(crate) async fn exec_stmt(&mut self, stmt: u32, params: Vec<Value>) -> Result<ExecResult> {
        let schema = self.param_schema(params.len()).await?;
        let req = Request::Exec {
            db: 0,
            stmt,
            params,
            schema,
        };
        self.result(&req).await
    }

    /// QUERY of a prepared statement: returns the first ROWS batch.
    pub(crate) async fn query_stmt(&mut self, stmt: u32, params: Vec<Value>) -> Result<Frame> {
        let schema = self.param_schema(params.len()).await?;
        let req = Request::Query {
            db: 0,
            stmt,
            params,
            schema,
        };
        self.query_start(&req).await
    }

    /// Queues a FINALIZE, sent before the next request (so dropping a statement never blocks).
    pub(crate) fn finalize_later(&mut self, stmt: u32) {
        self.pending_finalize.push(stmt);
    }

    async fn empty(&mut self, req: Request) -> Result<()> {
        match self.call(&req).await? {
            Response::Empty => Ok(()),
            other => Err(unexpected(self, "EMPTY", &other)),
        }
    }

    /// CLUSTER (format 1): the node's view of the configuration, with roles.
    pub async fn cluster(&mut self) -> Result<Vec<NodeInfo>> {
        match self.call(&Request::Cluster { format: 1 }).await? {
            Response::Nodes(nodes) => Ok(nodes),
            other => Err(unexpected(self, "NODES", &other)),
        }
    }

    /// ADD: adds a node as spare (leader only).
    pub async fn add(&mut self, id: u64, address: &str) -> Result<()> {
        self.empty(Request::Add {
            id,
            address: address.to_owned(),
        })
        .await
    }

    /// ASSIGN: changes a node's role (leader only).
    pub async fn assign(&mut self, id: u64, role: dqlite_proto::Role) -> Result<()> {
        self.empty(Request::Assign {
            id,
            role: Some(role.code()),
        })
        .await
    }

    /// REMOVE: removes a node (leader only).
    pub async fn remove(&mut self, id: u64) -> Result<()> {
        self.empty(Request::Remove { id }).await
    }

    /// TRANSFER: hands leadership to `id` (0: the server picks), leader only.
    pub async fn transfer(&mut self, id: u64) -> Result<()> {
        self.empty(Request::Transfer { id }).await
    }

    /// DESCRIBE: failure domain and weight of this node.
    pub async fn describe(&mut self) -> Result<NodeMetadata> {
        match self.call(&Request::Describe { format: 0 }).await? {
            Response::Metadata {
                failure_domain,
                weight,
            } => Ok(NodeMetadata {
                failure_domain,
                weight,
            }),
            other => Err(unexpected(self, "METADATA", &other)),
        }
    }

    /// WEIGHT: sets this node's weight (node-local, not replicated).
    pub async fn set_weight(&mut self, weight: u64) -> Result<()> {
        self.empty(Request::Weight { weight }).await
    }

    /// DUMP: this node's copy of database `name` (main file and WAL).
    pub async fn dump(&mut self, name: &str) -> Result<Vec<File>> {
        let req = Request::Dump {
            name: name.to_owned(),
        };
        match self.call(&req).await? {
            Response::Files(files) => Ok(files),
            other => Err(unexpected(self, "FILES", &other)),
        }
    }
}
