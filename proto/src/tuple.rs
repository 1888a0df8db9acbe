//! Parameter tuples (client → server, docs/wire-protocol.md §8): schema 0 with a `u8` count and
//! schema 1 with a `u32` count, type bytes, padding, then the values.

use bytes::{BufMut, BytesMut};

use crate::buf::{pad8, Reader};
use crate::error::{Error, Result};
use crate::value::{Value, ValueRef, ValueType};

/// How a parameter tuple encodes its count; carried in the request header's schema byte.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum ParamSchema {
    /// Schema 0: `u8` count, at most 255 parameters; understood by every server.
    #[default]
    V0,
    /// Schema 1: `u32` count; servers ≥ 1.12 only (1.11 misparses it, see
    /// docs/wire-protocol.md §8.3).
    V1,
}

impl ParamSchema {
    /// The header schema byte.
    pub fn header_byte(self) -> u8 {
        match self {
            ParamSchema::V0 => 0,
            ParamSchema::V1 => 1,
        }
    }

    /// Recognises a header schema byte for EXEC, QUERY, EXEC_SQL and QUERY_SQL.
    pub fn from_header(kind: u8, schema: u8) -> Result<Self> {
        match schema {
            0 => Ok(ParamSchema::V0),
            1 => Ok(ParamSchema::V1),
            schema => Err(Error::UnsupportedSchema { kind, schema }),
        }
    }

    /// The most parameters this schema can carry.
    pub fn max_params(self) -> u64 {
        match self {
            ParamSchema::V0 => u64::from(u8::MAX),
            ParamSchema::V1 => u64::from(u32::MAX),
        }
    }

    fn count_size(self) -> usize {
        match self {
            ParamSchema::V0 => 1,
            ParamSchema::V1 => 4,
        }
    }
}

/// Appends a parameter tuple. With no parameters nothing is written, as go-dqlite does.
pub fn encode_params(buf: &mut BytesMut, schema: ParamSchema, params: &[Value]) -> Result<()> {
    encode_param_refs(buf, schema, params.iter().map(Value::as_ref))
}

/// Appends a parameter tuple from borrowed values.
pub fn encode_param_refs<'a, I>(buf: &mut BytesMut, schema: ParamSchema, params: I) -> Result<()>
where
    I: ExactSizeIterator<Item = ValueRef<'a>> + Clone,
{
    let n = params.len();
    if n == 0 {
        return Ok(());
    }
    if n as u64 > schema.max_params() {
        return Err(Error::TooManyParams {
            count: n,
            schema: schema.header_byte(),
            max: schema.max_params(),
        });
    }
    match schema {
        ParamSchema::V0 => buf.put_u8(n as u8),
        ParamSchema::V1 => buf.put_u32_le(n as u32),
    }
    for v in params.clone() {
        buf.put_u8(v.value_type().code());
    }
    let head = schema.count_size() + n;
    buf.put_bytes(0, pad8(head) - head);
    for v in params {
        v.encode(buf)?;
    }
    Ok(())
}

/// Reads a parameter tuple from the rest of a request body.
///
/// No bytes left means no parameters. Padding after the type bytes is ignored, because Go's
/// encoder leaves stale bytes there.
pub fn decode_params<'a>(r: &mut Reader<'a>, schema: ParamSchema) -> Result<Vec<ValueRef<'a>>> {
    if r.remaining() == 0 {
        return Ok(Vec::new());
    }
    let n = match schema {
        ParamSchema::V0 => usize::from(r.u8("parameter count")?),
        ParamSchema::V1 => r.u32("parameter count")? as usize,
    };
    let head = schema.count_size() + n;
    // The header must fit in the body before anything is allocated for it.
    if pad8(head) - schema.count_size() > r.remaining() {
        return Err(Error::Truncated {
            what: "parameter types",
            offset: r.position(),
            needed: pad8(head) - schema.count_size(),
            len: r.position() + r.remaining(),
        });
    }
    let types = r.bytes(n, "parameter types")?;
    r.skip(pad8(head) - head, "parameter header padding")?;
    // Every value takes at least one word, which bounds the allocation by the body size.
    let mut out = Vec::with_capacity(n.min(r.remaining() / 8));
    for &code in types {
        let ty = ValueType::from_code(code, "parameter type")?;
        out.push(ValueRef::decode(ty, r)?);
    }
    Ok(out)
}
