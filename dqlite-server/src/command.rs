//! The raft log payload: what one committed entry tells every node's state machine to do.
//! Encoded with bincode (compact, binary changesets stay raw bytes).

use serde::{Deserialize, Serialize};

/// One step of a replicated write transaction, applied in order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Op {
    /// A session changeset recorded on the leader.
    Changeset(#[serde(with = "blob")] Vec<u8>),
    /// SQL replayed as is: DDL and persistent PRAGMAs (sessions do not capture them).
    Sql(String),
}

impl Op {
    /// Bytes of replicated change this operation carries.
    pub fn size(&self) -> u64 {
        match self {
            Op::Changeset(cs) => cs.len() as u64,
            Op::Sql(sql) => sql.len() as u64,
        }
    }
}

/// Which leader transaction produced an entry; the leader commits its own still-open
/// transaction instead of re-applying the changeset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Origin {
    /// Node id of the leader that executed the transaction.
    pub node: u64,
    /// Transaction id, unique on that node.
    pub tx: u64,
}

/// A state-machine command (the `D` of the raft type config).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum Command {
    /// Nothing to do (also openraft's test default).
    #[default]
    Noop,
    /// Create database `db` on every node (OPEN of an unknown name).
    Open {
        /// Database name.
        db: String,
    },
    /// One committed write transaction on database `db`.
    Tx {
        /// Database name.
        db: String,
        /// Where it was executed.
        origin: Origin,
        /// Changesets and SQL, in execution order.
        ops: Vec<Op>,
    },
    /// Record a node (id, address) in the cluster list (ADD, or the bootstrap node itself).
    AddNode {
        /// Node id.
        id: u64,
        /// Address clients and peers dial.
        address: String,
    },
    /// Forget a node (REMOVE).
    RemoveNode {
        /// Node id.
        id: u64,
    },
    /// Several committed write transactions on database `db`, executed one after another on
    /// leader `node` (group commit: one entry, one log write, for all of them). Each applies
    /// with its own result, as if it were an entry of its own.
    Txs {
        /// Database name.
        db: String,
        /// Node id of the leader that executed them.
        node: u64,
        /// In execution order.
        txs: Vec<GroupedTx>,
    },
}

/// One transaction of a [`Command::Txs`] entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupedTx {
    /// Transaction id, unique on the leader that executed it.
    pub tx: u64,
    /// Changesets and SQL, in execution order.
    pub ops: Vec<Op>,
}

/// The write transactions of one entry: the database, and each transaction's origin and
/// operations, in execution order.
pub type Transactions = (String, Vec<(Origin, Vec<Op>)>);

impl Command {
    /// The write transactions this entry carries ([`Command::Tx`] or [`Command::Txs`]), or
    /// the entry back when it carries none.
    pub fn into_transactions(self) -> Result<Transactions, Command> {
        match self {
            Command::Tx { db, origin, ops } => Ok((db, vec![(origin, ops)])),
            Command::Txs { db, node, txs } => {
                let txs = txs
                    .into_iter()
                    .map(|t| (Origin { node, tx: t.tx }, t.ops))
                    .collect();
                Ok((db, txs))
            }
            other => Err(other),
        }
    }
}

/// What applying one entry produced (the `R` of the raft type config).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Applied {
    /// Set when a transaction could not be applied (every node rejects it the same way).
    pub error: Option<(u64, String)>,
}

/// Changesets as one byte string instead of a sequence of numbers: the same bincode bytes
/// (a length, then the bytes), encoded and decoded in one copy rather than byte by byte.
mod blob {
    use serde::de::{Deserializer, Error, Visitor};
    use serde::Serializer;

    pub fn serialize<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_bytes(bytes)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        struct Bytes;
        impl<'de> Visitor<'de> for Bytes {
            type Value = Vec<u8>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a byte string")
            }
            fn visit_bytes<E: Error>(self, v: &[u8]) -> Result<Vec<u8>, E> {
                Ok(v.to_vec())
            }
            fn visit_byte_buf<E: Error>(self, v: Vec<u8>) -> Result<Vec<u8>, E> {
                Ok(v)
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<Vec<u8>, A::Error> {
                let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(1 << 20));
                while let Some(b) = seq.next_element()? {
                    out.push(b);
                }
                Ok(out)
            }
        }
        d.deserialize_byte_buf(Bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changesets_keep_the_encoding_of_a_plain_byte_vector() {
        #[derive(Serialize)]
        enum Plain {
            Changeset(Vec<u8>),
        }
        let bytes = vec![0u8, 1, 2, 255, 7];
        let ours = bincode::serialize(&Op::Changeset(bytes.clone())).expect("encode");
        let plain = bincode::serialize(&Plain::Changeset(bytes.clone())).expect("encode");
        assert_eq!(ours, plain, "logs written before must still decode");
        let back: Op = bincode::deserialize(&plain).expect("decode");
        assert_eq!(back, Op::Changeset(bytes));
    }
}
