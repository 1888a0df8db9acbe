//! Conversions between Rust values and dqlite [`Value`]s: [`ToValue`] for statement
//! parameters, [`FromValue`] for row values and [`IntoParams`] for whole parameter lists.
//!
//! Row values come back typed by SQLite's storage class plus the column's declared type
//! (docs/wire-protocol.md §4), which gives two quirks the conversions handle:
//!
//! * a NULL in a `DATETIME`/`DATE`/`TIMESTAMP` column arrives as `Iso8601("")`; it converts
//!   to `None` for `Option<T>` and is a NULL conversion error for every other type;
//! * a NULL in a `BOOLEAN` column arrives as `Boolean(false)`: the NULL is lost on the
//!   server, so `Option<bool>` reads `Some(false)` and nothing on the client can tell the
//!   two apart. Declare the column `INTEGER` if NULL must survive.
//!
//! Parameters never use `UNIXTIME` (servers reject it): date-times are sent as `Iso8601`
//! text, and [`IntoParams`] refuses a `Value::UnixTime` with [`Error::InvalidRequest`].

use dqlite_proto::Value;

use crate::{Error, Result};

#[cfg(feature = "time")]
mod datetime;
mod scalar;

/// Converts a Rust value into a dqlite parameter.
pub trait ToValue {
    /// The value to send, or a conversion error when it cannot be represented.
    fn to_value(&self) -> Result<Value>;
}

/// Converts a dqlite value (from a row) into a Rust value.
pub trait FromValue: Sized {
    /// The Rust value, or [`Error::Conversion`] when the value has the wrong type or range.
    fn from_value(value: &Value) -> Result<Self>;
}

/// Anything usable as the parameters of a statement.
pub trait IntoParams {
    /// The parameter values in order, or the first conversion error.
    fn into_params(self) -> Result<Vec<Value>>;
}

/// Parameters built by [`params!`](crate::params): the converted values, or the first
/// conversion error, reported when the statement is sent.
#[derive(Debug)]
pub struct Params(Result<Vec<Value>>);

impl Params {
    /// Collects already converted values; the first error wins.
    pub fn from_results(values: Vec<Result<Value>>) -> Params {
        Params(values.into_iter().collect())
    }
}

/// Builds statement parameters from expressions implementing [`ToValue`].
///
/// `params![1, "a", None::<i64>, vec![1u8]]` yields a [`Params`], which implements
/// [`IntoParams`]; a value that cannot be converted makes the statement fail with
/// the conversion error instead of panicking.
#[macro_export]
macro_rules! params {
    () => {
        $crate::Params::from_results(::std::vec::Vec::new())
    };
    ($($x:expr),+ $(,)?) => {
        $crate::Params::from_results(::std::vec![$($crate::ToValue::to_value(&$x)),+])
    };
}

/// Rejects values servers do not accept as parameters.
fn checked(values: Vec<Value>) -> Result<Vec<Value>> {
    if let Some(i) = values.iter().position(|v| matches!(v, Value::UnixTime(_))) {
        return Err(Error::InvalidRequest(format!(
            "parameter {} is UNIXTIME, which servers reject; send date-times as ISO8601",
            i + 1
        )));
    }
    Ok(values)
}

impl IntoParams for () {
    fn into_params(self) -> Result<Vec<Value>> {
        Ok(Vec::new())
    }
}

impl IntoParams for Vec<Value> {
    fn into_params(self) -> Result<Vec<Value>> {
        checked(self)
    }
}

impl IntoParams for &[Value] {
    fn into_params(self) -> Result<Vec<Value>> {
        checked(self.to_vec())
    }
}

impl<const N: usize> IntoParams for [Value; N] {
    fn into_params(self) -> Result<Vec<Value>> {
        checked(Vec::from(self))
    }
}

impl IntoParams for Params {
    fn into_params(self) -> Result<Vec<Value>> {
        checked(self.0?)
    }
}

macro_rules! tuple_params {
    ($($name:ident)+) => {
        impl<$($name: ToValue),+> IntoParams for ($($name,)+) {
            #[allow(non_snake_case)]
            fn into_params(self) -> Result<Vec<Value>> {
                let ($($name,)+) = self;
                checked(vec![$($name.to_value()?),+])
            }
        }
    };
}

tuple_params!(A);
tuple_params!(A B);
tuple_params!(A B C);
tuple_params!(A B C D);
tuple_params!(A B C D E);
tuple_params!(A B C D E F);
tuple_params!(A B C D E F G);
tuple_params!(A B C D E F G H);
tuple_params!(A B C D E F G H I);
tuple_params!(A B C D E F G H I J);
tuple_params!(A B C D E F G H I J K);
tuple_params!(A B C D E F G H I J K L);

/// Describes a value for conversion errors: `INTEGER 300`, `FLOAT 1.5`, `TEXT "abc"` (long
/// text is cut to 32 characters), `BLOB (5 bytes)`, `NULL`.
pub(crate) fn describe(value: &Value) -> String {
    match value {
        Value::Integer(v) => format!("INTEGER {v}"),
        Value::Float(v) => format!("FLOAT {v:?}"),
        Value::Text(s) => format!("TEXT {}", quoted(s)),
        Value::Blob(b) => format!("BLOB ({} bytes)", b.len()),
        Value::Null => "NULL".to_owned(),
        Value::UnixTime(v) => format!("UNIXTIME {v}"),
        Value::Iso8601(s) if s.is_empty() => "NULL (ISO8601 \"\")".to_owned(),
        Value::Iso8601(s) => format!("ISO8601 {}", quoted(s)),
        Value::Boolean(v) => format!("BOOLEAN {v}"),
    }
}

/// `s` in double quotes (Rust escapes), cut to 32 characters with `...`.
fn quoted(s: &str) -> String {
    const MAX: usize = 32;
    match s.char_indices().nth(MAX) {
        Some((cut, _)) => format!("{:?}...", &s[..cut]),
        None => format!("{s:?}"),
    }
}

/// The conversion error for `value` into the Rust type `to`.
pub(crate) fn mismatch(value: &Value, to: &'static str) -> Error {
    Error::conversion(describe(value), to)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn describe_values() {
        assert_eq!(describe(&Value::Integer(300)), "INTEGER 300");
        assert_eq!(describe(&Value::Null), "NULL");
        assert_eq!(
            describe(&Value::Iso8601(String::new())),
            "NULL (ISO8601 \"\")"
        );
        assert_eq!(describe(&Value::Blob(vec![1, 2])), "BLOB (2 bytes)");
        let long = "é".repeat(40);
        assert_eq!(
            describe(&Value::Text(long)),
            format!("TEXT \"{}\"...", "é".repeat(32))
        );
    }

    #[test]
    fn params_collects_first_error() {
        let p = Params::from_results(vec![
            Ok(Value::Integer(1)),
            Err(Error::conversion("x", "y")),
        ]);
        assert!(matches!(p.into_params(), Err(Error::Conversion { .. })));
    }

    #[test]
    fn unixtime_parameters_are_rejected() {
        let err = vec![Value::Null, Value::UnixTime(1)].into_params();
        assert!(matches!(err, Err(Error::InvalidRequest(m)) if m.contains("parameter 2")));
    }
}
