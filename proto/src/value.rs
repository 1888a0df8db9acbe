//! Values and their type codes (docs/wire-protocol.md §4), owned and borrowed.

use bytes::{BufMut, BytesMut};

use crate::buf::{put_blob, put_text, Reader};
use crate::error::{Error, Result};

/// The type code that precedes every value in a parameter tuple or a row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum ValueType {
    /// 64-bit signed integer.
    Integer = 1,
    /// IEEE-754 double.
    Float = 2,
    /// UTF-8 text.
    Text = 3,
    /// Raw bytes.
    Blob = 4,
    /// SQL NULL.
    Null = 5,
    /// Seconds since the epoch (rows only: DATETIME column holding an INTEGER).
    UnixTime = 9,
    /// ISO-8601 text (DATETIME column holding TEXT, or NULL as `""`).
    Iso8601 = 10,
    /// Boolean (BOOLEAN column holding an INTEGER, or NULL as false).
    Boolean = 11,
}

impl ValueType {
    /// The wire code.
    pub fn code(self) -> u8 {
        self as u8
    }

    /// Recognises a wire code; `what` names the field for the error.
    pub fn from_code(code: u8, what: &'static str) -> Result<Self> {
        Ok(match code {
            1 => ValueType::Integer,
            2 => ValueType::Float,
            3 => ValueType::Text,
            4 => ValueType::Blob,
            5 => ValueType::Null,
            9 => ValueType::UnixTime,
            10 => ValueType::Iso8601,
            11 => ValueType::Boolean,
            code => return Err(Error::BadValueType { what, code }),
        })
    }
}

/// An owned dqlite value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// INTEGER (code 1).
    Integer(i64),
    /// FLOAT (code 2).
    Float(f64),
    /// TEXT (code 3).
    Text(String),
    /// BLOB (code 4).
    Blob(Vec<u8>),
    /// NULL (code 5).
    Null,
    /// UNIXTIME (code 9): seconds since the epoch.
    UnixTime(i64),
    /// ISO8601 (code 10): a date-time as text; `""` stands for NULL in rows.
    Iso8601(String),
    /// BOOLEAN (code 11).
    Boolean(bool),
}

/// A value borrowing its text or bytes from a message body.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ValueRef<'a> {
    /// INTEGER (code 1).
    Integer(i64),
    /// FLOAT (code 2).
    Float(f64),
    /// TEXT (code 3).
    Text(&'a str),
    /// BLOB (code 4).
    Blob(&'a [u8]),
    /// NULL (code 5).
    Null,
    /// UNIXTIME (code 9).
    UnixTime(i64),
    /// ISO8601 (code 10).
    Iso8601(&'a str),
    /// BOOLEAN (code 11).
    Boolean(bool),
}

impl Value {
    /// The value's type code.
    pub fn value_type(&self) -> ValueType {
        self.as_ref().value_type()
    }

    /// Borrows the value.
    pub fn as_ref(&self) -> ValueRef<'_> {
        match self {
            Value::Integer(v) => ValueRef::Integer(*v),
            Value::Float(v) => ValueRef::Float(*v),
            Value::Text(v) => ValueRef::Text(v),
            Value::Blob(v) => ValueRef::Blob(v),
            Value::Null => ValueRef::Null,
            Value::UnixTime(v) => ValueRef::UnixTime(*v),
            Value::Iso8601(v) => ValueRef::Iso8601(v),
            Value::Boolean(v) => ValueRef::Boolean(*v),
        }
    }
}

impl<'a> ValueRef<'a> {
    /// The value's type code.
    pub fn value_type(&self) -> ValueType {
        match self {
            ValueRef::Integer(_) => ValueType::Integer,
            ValueRef::Float(_) => ValueType::Float,
            ValueRef::Text(_) => ValueType::Text,
            ValueRef::Blob(_) => ValueType::Blob,
            ValueRef::Null => ValueType::Null,
            ValueRef::UnixTime(_) => ValueType::UnixTime,
            ValueRef::Iso8601(_) => ValueType::Iso8601,
            ValueRef::Boolean(_) => ValueType::Boolean,
        }
    }

    /// Copies the value out of the body.
    pub fn to_owned(&self) -> Value {
        match *self {
            ValueRef::Integer(v) => Value::Integer(v),
            ValueRef::Float(v) => Value::Float(v),
            ValueRef::Text(v) => Value::Text(v.to_owned()),
            ValueRef::Blob(v) => Value::Blob(v.to_vec()),
            ValueRef::Null => Value::Null,
            ValueRef::UnixTime(v) => Value::UnixTime(v),
            ValueRef::Iso8601(v) => Value::Iso8601(v.to_owned()),
            ValueRef::Boolean(v) => Value::Boolean(v),
        }
    }

    /// Appends the value's encoding (without its type code).
    pub fn encode(&self, buf: &mut BytesMut) -> Result<()> {
        match *self {
            ValueRef::Integer(v) | ValueRef::UnixTime(v) => buf.put_i64_le(v),
            ValueRef::Float(v) => buf.put_u64_le(v.to_bits()),
            ValueRef::Text(v) => put_text(buf, v, "TEXT value")?,
            ValueRef::Iso8601(v) => put_text(buf, v, "ISO8601 value")?,
            ValueRef::Blob(v) => put_blob(buf, v),
            ValueRef::Null => buf.put_u64_le(0),
            ValueRef::Boolean(v) => buf.put_u64_le(u64::from(v)),
        }
        Ok(())
    }

    /// Reads one value of type `ty`.
    pub fn decode(ty: ValueType, r: &mut Reader<'a>) -> Result<Self> {
        Ok(match ty {
            ValueType::Integer => ValueRef::Integer(r.i64("INTEGER value")?),
            ValueType::Float => ValueRef::Float(r.f64("FLOAT value")?),
            ValueType::Text => ValueRef::Text(r.text("TEXT value")?),
            ValueType::Blob => ValueRef::Blob(r.blob("BLOB value")?),
            ValueType::Null => {
                r.u64("NULL value")?;
                ValueRef::Null
            }
            ValueType::UnixTime => ValueRef::UnixTime(r.i64("UNIXTIME value")?),
            ValueType::Iso8601 => ValueRef::Iso8601(r.text("ISO8601 value")?),
            ValueType::Boolean => ValueRef::Boolean(r.u64("BOOLEAN value")? != 0),
        })
    }
}

impl From<ValueRef<'_>> for Value {
    fn from(v: ValueRef<'_>) -> Self {
        v.to_owned()
    }
}

impl<'a> From<&'a Value> for ValueRef<'a> {
    fn from(v: &'a Value) -> Self {
        v.as_ref()
    }
}
