//! Responses (server → client), types 0–10 (docs/wire-protocol.md §6): one enum, one encoder,
//! one decoder.

use bytes::{BufMut, BytesMut};

use crate::buf::{pad8, put_text, Reader};
use crate::error::{Error, Result};
use crate::failure::Failure;
use crate::header::{write_frame, Header};
use crate::node::{NodeInfo, Role};
use crate::rows::Rows;

/// FAILURE response type code.
pub const RESPONSE_FAILURE: u8 = 0;
/// NODE (and NODE_LEGACY) response type code; C calls it SERVER.
pub const RESPONSE_NODE: u8 = 1;
/// WELCOME response type code.
pub const RESPONSE_WELCOME: u8 = 2;
/// NODES response type code; C calls it SERVERS.
pub const RESPONSE_NODES: u8 = 3;
/// DB response type code.
pub const RESPONSE_DB: u8 = 4;
/// STMT response type code.
pub const RESPONSE_STMT: u8 = 5;
/// RESULT response type code.
pub const RESPONSE_RESULT: u8 = 6;
/// ROWS response type code.
pub const RESPONSE_ROWS: u8 = 7;
/// EMPTY response type code.
pub const RESPONSE_EMPTY: u8 = 8;
/// FILES response type code.
pub const RESPONSE_FILES: u8 = 9;
/// METADATA response type code.
pub const RESPONSE_METADATA: u8 = 10;

/// What the wire alone cannot tell a response decoder: both depend on the request sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DecodeHint {
    /// The connection used the legacy handshake, so NODE carries only an address.
    pub legacy_node: bool,
    /// NODES was requested with format 0, so entries carry no role.
    pub nodes_without_role: bool,
}

/// One file of a DUMP.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct File {
    /// File name (`<db>` or `<db>-wal`).
    pub name: String,
    /// File content.
    pub data: Vec<u8>,
}

/// A dqlite response.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Response {
    /// The request failed.
    Failure(Failure),
    /// The leader (id 0 and address "" when unknown).
    Node {
        /// Node id.
        id: u64,
        /// Node address.
        address: String,
    },
    /// The leader's address, as sent after a legacy handshake.
    NodeLegacy {
        /// Node address.
        address: String,
    },
    /// Reply to CLIENT.
    Welcome {
        /// Advertised heartbeat timeout in ms (not enforced by servers).
        heartbeat_timeout: u64,
    },
    /// The cluster configuration.
    Nodes(Vec<NodeInfo>),
    /// Reply to OPEN.
    Db {
        /// Database id (always 0).
        id: u32,
    },
    /// Reply to PREPARE.
    Stmt {
        /// Database id.
        db: u32,
        /// Statement id.
        id: u32,
        /// Number of parameters the statement takes.
        params: u64,
        /// Offset of the unparsed SQL tail; present when the header schema is 1.
        tail_offset: Option<u64>,
    },
    /// Reply to EXEC and EXEC_SQL.
    Result {
        /// `sqlite3_last_insert_rowid`.
        last_insert_id: u64,
        /// `sqlite3_changes`.
        rows_affected: u64,
    },
    /// One batch of a result set.
    Rows(Rows),
    /// Success without data.
    Empty,
    /// Reply to DUMP.
    Files(Vec<File>),
    /// Reply to DESCRIBE.
    Metadata {
        /// Failure domain.
        failure_domain: u64,
        /// Weight.
        weight: u64,
    },
}

impl Response {
    /// The response type code.
    pub fn kind(&self) -> u8 {
        match self {
            Response::Failure(_) => RESPONSE_FAILURE,
            Response::Node { .. } | Response::NodeLegacy { .. } => RESPONSE_NODE,
            Response::Welcome { .. } => RESPONSE_WELCOME,
            Response::Nodes(_) => RESPONSE_NODES,
            Response::Db { .. } => RESPONSE_DB,
            Response::Stmt { .. } => RESPONSE_STMT,
            Response::Result { .. } => RESPONSE_RESULT,
            Response::Rows(_) => RESPONSE_ROWS,
            Response::Empty => RESPONSE_EMPTY,
            Response::Files(_) => RESPONSE_FILES,
            Response::Metadata { .. } => RESPONSE_METADATA,
        }
    }

    /// Appends the whole message (header and body). On error `buf` is left unchanged.
    pub fn encode(&self, buf: &mut BytesMut) -> Result<()> {
        let schema = match self {
            Response::Stmt {
                tail_offset: Some(_),
                ..
            } => 1,
            _ => 0,
        };
        if let Response::Rows(rows) = self {
            return rows.encode(buf);
        }
        write_frame(buf, self.kind(), schema, |b| self.encode_body(b))
    }

    fn encode_body(&self, b: &mut BytesMut) -> Result<()> {
        match self {
            Response::Failure(f) => {
                b.put_u64_le(f.code);
                put_text(b, &f.message, "FAILURE message")?;
            }
            Response::Node { id, address } => {
                b.put_u64_le(*id);
                put_text(b, address, "NODE address")?;
            }
            Response::NodeLegacy { address } => put_text(b, address, "NODE address")?,
            Response::Welcome { heartbeat_timeout } => b.put_u64_le(*heartbeat_timeout),
            Response::Nodes(nodes) => encode_nodes(b, nodes)?,
            Response::Db { id } => {
                b.put_u32_le(*id);
                b.put_u32_le(0);
            }
            Response::Stmt {
                db,
                id,
                params,
                tail_offset,
            } => {
                b.put_u32_le(*db);
                b.put_u32_le(*id);
                b.put_u64_le(*params);
                if let Some(offset) = tail_offset {
                    b.put_u64_le(*offset);
                }
            }
            Response::Result {
                last_insert_id,
                rows_affected,
            } => {
                b.put_u64_le(*last_insert_id);
                b.put_u64_le(*rows_affected);
            }
            Response::Empty => b.put_u64_le(0),
            Response::Files(files) => {
                b.put_u64_le(files.len() as u64);
                for f in files {
                    put_text(b, &f.name, "FILES name")?;
                    b.put_u64_le(f.data.len() as u64);
                    b.put_slice(&f.data);
                    b.put_bytes(0, pad8(f.data.len()) - f.data.len());
                }
            }
            Response::Metadata {
                failure_domain,
                weight,
            } => {
                b.put_u64_le(*failure_domain);
                b.put_u64_le(*weight);
            }
            Response::Rows(_) => unreachable!("ROWS is encoded by RowsWriter"),
        }
        Ok(())
    }

    /// Decodes a response body. `hint` says what the wire cannot (legacy NODE, NODES format).
    pub fn decode(header: &Header, body: &[u8], hint: DecodeHint) -> Result<Response> {
        let r = &mut Reader::new(body);
        Ok(match header.kind {
            RESPONSE_FAILURE => Response::Failure(Failure {
                code: r.u64("FAILURE code")?,
                message: r.text("FAILURE message")?.to_owned(),
            }),
            RESPONSE_NODE if hint.legacy_node => Response::NodeLegacy {
                address: r.text("NODE address")?.to_owned(),
            },
            RESPONSE_NODE => Response::Node {
                id: r.u64("NODE id")?,
                address: r.text("NODE address")?.to_owned(),
            },
            RESPONSE_WELCOME => Response::Welcome {
                heartbeat_timeout: r.u64("WELCOME heartbeat timeout")?,
            },
            RESPONSE_NODES => Response::Nodes(decode_nodes(r, !hint.nodes_without_role)?),
            RESPONSE_DB => {
                let id = r.u32("DB id")?;
                r.u32("DB padding")?;
                Response::Db { id }
            }
            RESPONSE_STMT => Response::Stmt {
                db: r.u32("STMT db")?,
                id: r.u32("STMT id")?,
                params: r.u64("STMT params")?,
                tail_offset: match header.schema {
                    1 => Some(r.u64("STMT tail offset")?),
                    _ => None,
                },
            },
            RESPONSE_RESULT => Response::Result {
                last_insert_id: r.u64("RESULT last insert id")?,
                rows_affected: r.u64("RESULT rows affected")?,
            },
            RESPONSE_ROWS => Response::Rows(Rows::decode(body)?),
            RESPONSE_EMPTY => {
                r.u64("EMPTY body")?;
                Response::Empty
            }
            RESPONSE_FILES => Response::Files(decode_files(r)?),
            RESPONSE_METADATA => Response::Metadata {
                failure_domain: r.u64("METADATA failure domain")?,
                weight: r.u64("METADATA weight")?,
            },
            code => {
                return Err(Error::UnknownType {
                    direction: "response",
                    code,
                })
            }
        })
    }
}

fn encode_nodes(b: &mut BytesMut, nodes: &[NodeInfo]) -> Result<()> {
    let with_role = nodes.first().is_some_and(|n| n.role.is_some());
    if nodes.iter().any(|n| n.role.is_some() != with_role) {
        return Err(Error::MixedNodeFormats);
    }
    b.put_u64_le(nodes.len() as u64);
    for n in nodes {
        b.put_u64_le(n.id);
        put_text(b, &n.address, "NODES address")?;
        if let Some(role) = n.role {
            b.put_u64_le(role.code());
        }
    }
    Ok(())
}

fn decode_nodes(r: &mut Reader<'_>, with_role: bool) -> Result<Vec<NodeInfo>> {
    let n = r.u64("NODES count")?;
    let per_node = if with_role { 24 } else { 16 };
    let cap = usize::try_from(n)
        .unwrap_or(usize::MAX)
        .min(r.remaining() / per_node);
    let mut nodes = Vec::with_capacity(cap);
    for _ in 0..n {
        let id = r.u64("NODES id")?;
        let address = r.text("NODES address")?.to_owned();
        let role = if with_role {
            Some(Role::from_code(r.u64("NODES role")?)?)
        } else {
            None
        };
        nodes.push(NodeInfo { id, address, role });
    }
    Ok(nodes)
}

fn decode_files(r: &mut Reader<'_>) -> Result<Vec<File>> {
    let n = r.u64("FILES count")?;
    let cap = usize::try_from(n)
        .unwrap_or(usize::MAX)
        .min(r.remaining() / 16);
    let mut files = Vec::with_capacity(cap);
    for _ in 0..n {
        let name = r.text("FILES name")?.to_owned();
        let size = r.u64("FILES size")?;
        let size = usize::try_from(size).unwrap_or(usize::MAX);
        let data = r.bytes(size, "FILES data")?.to_vec();
        // Sizes are page multiples in practice; tolerate and check padding otherwise.
        r.padding(size, "FILES data")?;
        files.push(File { name, data });
    }
    Ok(files)
}
