//! Requests (client → server), types 0–19 (docs/wire-protocol.md §5): one enum, one encoder,
//! one decoder, so the whole table is declared in this file.

use bytes::{BufMut, BytesMut};

use crate::buf::{put_text, Reader};
use crate::error::{Error, Result};
use crate::header::{write_frame, Header};
use crate::tuple::{decode_params, encode_params, ParamSchema};
use crate::value::{Value, ValueRef};

/// Request type codes.
pub mod kind {
    /// LEADER: which node is the leader?
    pub const LEADER: u8 = 0;
    /// CLIENT: register a client id.
    pub const CLIENT: u8 = 1;
    /// HEARTBEAT: never implemented by servers; clients must not send it.
    pub const HEARTBEAT: u8 = 2;
    /// OPEN: bind a database to the connection.
    pub const OPEN: u8 = 3;
    /// PREPARE: prepare a statement.
    pub const PREPARE: u8 = 4;
    /// EXEC: execute a prepared statement.
    pub const EXEC: u8 = 5;
    /// QUERY: query with a prepared statement.
    pub const QUERY: u8 = 6;
    /// FINALIZE: drop a prepared statement.
    pub const FINALIZE: u8 = 7;
    /// EXEC_SQL: execute SQL text.
    pub const EXEC_SQL: u8 = 8;
    /// QUERY_SQL: query with SQL text.
    pub const QUERY_SQL: u8 = 9;
    /// INTERRUPT: abandon a streaming result.
    pub const INTERRUPT: u8 = 10;
    /// CONNECT: hand the socket to raft (peer traffic only).
    pub const CONNECT: u8 = 11;
    /// ADD: add a node as spare.
    pub const ADD: u8 = 12;
    /// ASSIGN: change a node's role (formerly PROMOTE).
    pub const ASSIGN: u8 = 13;
    /// REMOVE: remove a node.
    pub const REMOVE: u8 = 14;
    /// DUMP: the files of a database.
    pub const DUMP: u8 = 15;
    /// CLUSTER: the raft configuration.
    pub const CLUSTER: u8 = 16;
    /// TRANSFER: move leadership.
    pub const TRANSFER: u8 = 17;
    /// DESCRIBE: failure domain and weight.
    pub const DESCRIBE: u8 = 18;
    /// WEIGHT: set this node's weight.
    pub const WEIGHT: u8 = 19;
}

/// A dqlite request.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Request {
    /// Ask which node is the leader (body: unused `u64`).
    Leader,
    /// Register a client id (go-dqlite sends 0).
    Client {
        /// Client id.
        id: u64,
    },
    /// Never implemented by any server: 1.11 does not answer it. Decodable for servers.
    Heartbeat {
        /// Seconds since the epoch.
        timestamp: u64,
    },
    /// Bind database `name` to the connection. `flags` and `vfs` are ignored by servers.
    Open {
        /// Database name.
        name: String,
        /// Open flags (go-dqlite sends 0).
        flags: u64,
        /// VFS name (go-dqlite sends "volatile").
        vfs: String,
    },
    /// Prepare one statement (or, with `with_tail`, the first of several: schema 1, ≥ 1.15).
    Prepare {
        /// Database id (always 0).
        db: u64,
        /// SQL text.
        sql: String,
        /// Schema 1: allow a tail and get its offset back in STMT.
        with_tail: bool,
    },
    /// Execute a prepared statement.
    Exec {
        /// Database id (always 0).
        db: u32,
        /// Statement id.
        stmt: u32,
        /// Parameters.
        params: Vec<Value>,
        /// Tuple schema (header schema byte).
        schema: ParamSchema,
    },
    /// Query with a prepared statement.
    Query {
        /// Database id (always 0).
        db: u32,
        /// Statement id.
        stmt: u32,
        /// Parameters.
        params: Vec<Value>,
        /// Tuple schema (header schema byte).
        schema: ParamSchema,
    },
    /// Finalize a prepared statement.
    Finalize {
        /// Database id (always 0).
        db: u32,
        /// Statement id.
        stmt: u32,
    },
    /// Execute SQL text (possibly several statements).
    ExecSql {
        /// Database id (always 0).
        db: u64,
        /// SQL text.
        sql: String,
        /// Parameters.
        params: Vec<Value>,
        /// Tuple schema (header schema byte).
        schema: ParamSchema,
    },
    /// Query with SQL text (one statement).
    QuerySql {
        /// Database id (always 0).
        db: u64,
        /// SQL text.
        sql: String,
        /// Parameters.
        params: Vec<Value>,
        /// Tuple schema (header schema byte).
        schema: ParamSchema,
    },
    /// Abandon a streaming result; the server answers EMPTY after any pending ROWS.
    Interrupt {
        /// Database id (go-dqlite sends 0).
        db: u64,
    },
    /// Raft peer handshake; never sent by clients.
    Connect {
        /// The connecting node's id.
        id: u64,
        /// The connecting node's address.
        address: String,
    },
    /// Add a node (as spare).
    Add {
        /// Node id.
        id: u64,
        /// Node address.
        address: String,
    },
    /// Change a node's role. `role` is the raw wire code (0 voter, 1 stand-by, 2 spare);
    /// `None` is the legacy PROMOTE form, meaning voter.
    Assign {
        /// Node id.
        id: u64,
        /// Role code, see [`crate::Role`].
        role: Option<u64>,
    },
    /// Remove a node.
    Remove {
        /// Node id.
        id: u64,
    },
    /// Fetch the files of a database.
    Dump {
        /// Database name.
        name: String,
    },
    /// Fetch the cluster configuration; format 0 (id, address) or 1 (with role).
    Cluster {
        /// Raw format code.
        format: u64,
    },
    /// Transfer leadership to `id` (0 lets the leader choose).
    Transfer {
        /// Target node id.
        id: u64,
    },
    /// Fetch failure domain and weight; the format must be 0.
    Describe {
        /// Raw format code.
        format: u64,
    },
    /// Set the weight of the receiving node.
    Weight {
        /// The weight.
        weight: u64,
    },
}

impl Request {
    /// The request type code.
    pub fn kind(&self) -> u8 {
        use kind::*;
        match self {
            Request::Leader => LEADER,
            Request::Client { .. } => CLIENT,
            Request::Heartbeat { .. } => HEARTBEAT,
            Request::Open { .. } => OPEN,
            Request::Prepare { .. } => PREPARE,
            Request::Exec { .. } => EXEC,
            Request::Query { .. } => QUERY,
            Request::Finalize { .. } => FINALIZE,
            Request::ExecSql { .. } => EXEC_SQL,
            Request::QuerySql { .. } => QUERY_SQL,
            Request::Interrupt { .. } => INTERRUPT,
            Request::Connect { .. } => CONNECT,
            Request::Add { .. } => ADD,
            Request::Assign { .. } => ASSIGN,
            Request::Remove { .. } => REMOVE,
            Request::Dump { .. } => DUMP,
            Request::Cluster { .. } => CLUSTER,
            Request::Transfer { .. } => TRANSFER,
            Request::Describe { .. } => DESCRIBE,
            Request::Weight { .. } => WEIGHT,
        }
    }

    /// The header schema byte this request is sent with.
    pub fn schema(&self) -> u8 {
        match self {
            Request::Prepare { with_tail, .. } => u8::from(*with_tail),
            Request::Exec { schema, .. }
            | Request::Query { schema, .. }
            | Request::ExecSql { schema, .. }
            | Request::QuerySql { schema, .. } => schema.header_byte(),
            _ => 0,
        }
    }

    /// Appends the whole message (header and body). On error `buf` is left unchanged.
    pub fn encode(&self, buf: &mut BytesMut) -> Result<()> {
        self.encode_with_schema(self.schema(), buf)
    }

    /// Like [`Request::encode`] but with an explicit header schema byte, for feature probes
    /// such as LEADER with schema 1 (docs/wire-protocol.md §13.2).
    pub fn encode_with_schema(&self, schema: u8, buf: &mut BytesMut) -> Result<()> {
        write_frame(buf, self.kind(), schema, |b| self.encode_body(b))
    }

    fn encode_body(&self, b: &mut BytesMut) -> Result<()> {
        match self {
            Request::Leader => b.put_u64_le(0),
            Request::Client { id } => b.put_u64_le(*id),
            Request::Heartbeat { timestamp } => b.put_u64_le(*timestamp),
            Request::Open { name, flags, vfs } => {
                put_text(b, name, "OPEN name")?;
                b.put_u64_le(*flags);
                put_text(b, vfs, "OPEN vfs")?;
            }
            Request::Prepare { db, sql, .. } => {
                b.put_u64_le(*db);
                put_text(b, sql, "PREPARE sql")?;
            }
            Request::Exec {
                db,
                stmt,
                params,
                schema,
            }
            | Request::Query {
                db,
                stmt,
                params,
                schema,
            } => {
                b.put_u32_le(*db);
                b.put_u32_le(*stmt);
                encode_params(b, *schema, params)?;
            }
            Request::Finalize { db, stmt } => {
                b.put_u32_le(*db);
                b.put_u32_le(*stmt);
            }
            Request::ExecSql {
                db,
                sql,
                params,
                schema,
            }
            | Request::QuerySql {
                db,
                sql,
                params,
                schema,
            } => {
                b.put_u64_le(*db);
                put_text(b, sql, "SQL text")?;
                encode_params(b, *schema, params)?;
            }
            Request::Connect { id, address } | Request::Add { id, address } => {
                b.put_u64_le(*id);
                put_text(b, address, "node address")?;
            }
            Request::Assign { id, role } => {
                b.put_u64_le(*id);
                if let Some(role) = role {
                    b.put_u64_le(*role);
                }
            }
            Request::Dump { name } => put_text(b, name, "DUMP name")?,
            Request::Interrupt { db: v }
            | Request::Remove { id: v }
            | Request::Cluster { format: v }
            | Request::Transfer { id: v }
            | Request::Describe { format: v }
            | Request::Weight { weight: v } => b.put_u64_le(*v),
        }
        Ok(())
    }

    /// Decodes a request body. Trailing bytes after the last field are ignored, as servers do.
    pub fn decode(header: &Header, body: &[u8]) -> Result<Request> {
        use kind::*;
        let r = &mut Reader::new(body);
        let params = |r: &mut Reader<'_>| -> Result<(ParamSchema, Vec<Value>)> {
            let schema = ParamSchema::from_header(header.kind, header.schema)?;
            let values = decode_params(r, schema)?;
            Ok((schema, values.iter().map(ValueRef::to_owned).collect()))
        };
        Ok(match header.kind {
            LEADER => {
                r.u64("LEADER body")?;
                Request::Leader
            }
            CLIENT => Request::Client {
                id: r.u64("CLIENT id")?,
            },
            HEARTBEAT => Request::Heartbeat {
                timestamp: r.u64("HEARTBEAT timestamp")?,
            },
            OPEN => Request::Open {
                name: r.text("OPEN name")?.to_owned(),
                flags: r.u64("OPEN flags")?,
                vfs: r.text("OPEN vfs")?.to_owned(),
            },
            PREPARE => {
                let with_tail = match header.schema {
                    0 => false,
                    1 => true,
                    schema => {
                        return Err(Error::UnsupportedSchema {
                            kind: PREPARE,
                            schema,
                        })
                    }
                };
                Request::Prepare {
                    db: r.u64("PREPARE db")?,
                    sql: r.text("PREPARE sql")?.to_owned(),
                    with_tail,
                }
            }
            EXEC | QUERY => {
                let db = r.u32("statement db")?;
                let stmt = r.u32("statement id")?;
                let (schema, params) = params(r)?;
                if header.kind == EXEC {
                    Request::Exec {
                        db,
                        stmt,
                        params,
                        schema,
                    }
                } else {
                    Request::Query {
                        db,
                        stmt,
                        params,
                        schema,
                    }
                }
            }
            FINALIZE => Request::Finalize {
                db: r.u32("FINALIZE db")?,
                stmt: r.u32("FINALIZE stmt")?,
            },
            EXEC_SQL | QUERY_SQL => {
                let db = r.u64("SQL db")?;
                let sql = r.text("SQL text")?.to_owned();
                let (schema, params) = params(r)?;
                if header.kind == EXEC_SQL {
                    Request::ExecSql {
                        db,
                        sql,
                        params,
                        schema,
                    }
                } else {
                    Request::QuerySql {
                        db,
                        sql,
                        params,
                        schema,
                    }
                }
            }
            INTERRUPT => Request::Interrupt {
                db: r.u64("INTERRUPT db")?,
            },
            CONNECT | ADD => {
                let id = r.u64("node id")?;
                let address = r.text("node address")?.to_owned();
                if header.kind == CONNECT {
                    Request::Connect { id, address }
                } else {
                    Request::Add { id, address }
                }
            }
            ASSIGN => Request::Assign {
                id: r.u64("ASSIGN id")?,
                // The role is read only if a whole word remains (legacy PROMOTE has none).
                role: if r.remaining() >= 8 {
                    Some(r.u64("ASSIGN role")?)
                } else {
                    None
                },
            },
            REMOVE => Request::Remove {
                id: r.u64("REMOVE id")?,
            },
            DUMP => Request::Dump {
                name: r.text("DUMP name")?.to_owned(),
            },
            CLUSTER => Request::Cluster {
                format: r.u64("CLUSTER format")?,
            },
            TRANSFER => Request::Transfer {
                id: r.u64("TRANSFER id")?,
            },
            DESCRIBE => Request::Describe {
                format: r.u64("DESCRIBE format")?,
            },
            WEIGHT => Request::Weight {
                weight: r.u64("WEIGHT weight")?,
            },
            code => {
                return Err(Error::UnknownType {
                    direction: "request",
                    code,
                })
            }
        })
    }
}
