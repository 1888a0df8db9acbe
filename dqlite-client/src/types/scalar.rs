//! [`ToValue`] and [`FromValue`] for integers, floats, booleans, text, bytes, [`Value`]
//! itself, `Option<T>` and references.

use dqlite_proto::Value;

use super::{mismatch, FromValue, ToValue};
use crate::{Error, Result};

impl ToValue for i64 {
    fn to_value(&self) -> Result<Value> {
        Ok(Value::Integer(*self))
    }
}

/// Accepts `Integer`, `UnixTime` (seconds) and `Boolean` (0 or 1).
impl FromValue for i64 {
    fn from_value(value: &Value) -> Result<Self> {
        match value {
            Value::Integer(v) | Value::UnixTime(v) => Ok(*v),
            Value::Boolean(b) => Ok(i64::from(*b)),
            _ => Err(mismatch(value, "i64")),
        }
    }
}

/// Integer types whose every value fits in an `i64`; reading checks the range.
macro_rules! narrow_int {
    ($($t:ty),*) => {$(
        impl ToValue for $t {
            fn to_value(&self) -> Result<Value> {
                Ok(Value::Integer(i64::from(*self)))
            }
        }

        impl FromValue for $t {
            fn from_value(value: &Value) -> Result<Self> {
                let wide = i64::from_value(value).map_err(|_| mismatch(value, stringify!($t)))?;
                <$t>::try_from(wide).map_err(|_| mismatch(value, stringify!($t)))
            }
        }
    )*};
}

narrow_int!(i32, i16, i8, u32, u16, u8);

/// Integer types that may not fit in an `i64`: both directions check the range.
macro_rules! wide_int {
    ($($t:ty),*) => {$(
        impl ToValue for $t {
            fn to_value(&self) -> Result<Value> {
                i64::try_from(*self)
                    .map(Value::Integer)
                    .map_err(|_| Error::conversion(format!("{} {}", stringify!($t), self), "INTEGER"))
            }
        }

        impl FromValue for $t {
            fn from_value(value: &Value) -> Result<Self> {
                let wide = i64::from_value(value).map_err(|_| mismatch(value, stringify!($t)))?;
                <$t>::try_from(wide).map_err(|_| mismatch(value, stringify!($t)))
            }
        }
    )*};
}

wide_int!(u64, usize, isize);

impl ToValue for f64 {
    fn to_value(&self) -> Result<Value> {
        Ok(Value::Float(*self))
    }
}

/// Accepts `Float`, and `Integer` converted with `as f64` (rounded above 2^53).
impl FromValue for f64 {
    fn from_value(value: &Value) -> Result<Self> {
        match value {
            Value::Float(v) => Ok(*v),
            Value::Integer(v) => Ok(*v as f64),
            _ => Err(mismatch(value, "f64")),
        }
    }
}

impl ToValue for f32 {
    fn to_value(&self) -> Result<Value> {
        Ok(Value::Float(f64::from(*self)))
    }
}

/// Accepts `Float` (rounded to the nearest `f32`, an error if a finite value overflows)
/// and `Integer` only when the `f32` holds it exactly.
impl FromValue for f32 {
    fn from_value(value: &Value) -> Result<Self> {
        match value {
            Value::Float(v) => {
                let narrow = *v as f32;
                if v.is_finite() && !narrow.is_finite() {
                    return Err(mismatch(value, "f32"));
                }
                Ok(narrow)
            }
            Value::Integer(v) => {
                let narrow = *v as f32;
                if narrow as i128 == i128::from(*v) {
                    Ok(narrow)
                } else {
                    Err(mismatch(value, "f32"))
                }
            }
            _ => Err(mismatch(value, "f32")),
        }
    }
}

impl ToValue for bool {
    fn to_value(&self) -> Result<Value> {
        Ok(Value::Boolean(*self))
    }
}

/// Accepts `Boolean`, and `Integer` 0 or 1. A NULL in a BOOLEAN column arrives as
/// `Boolean(false)` and so reads as `false`.
impl FromValue for bool {
    fn from_value(value: &Value) -> Result<Self> {
        match value {
            Value::Boolean(b) => Ok(*b),
            Value::Integer(0) => Ok(false),
            Value::Integer(1) => Ok(true),
            _ => Err(mismatch(value, "bool")),
        }
    }
}

impl ToValue for str {
    fn to_value(&self) -> Result<Value> {
        Ok(Value::Text(self.to_owned()))
    }
}

impl ToValue for String {
    fn to_value(&self) -> Result<Value> {
        Ok(Value::Text(self.clone()))
    }
}

/// Accepts `Text` and non-empty `Iso8601` (an empty one is a NULL date-time).
impl FromValue for String {
    fn from_value(value: &Value) -> Result<Self> {
        match value {
            Value::Text(s) => Ok(s.clone()),
            Value::Iso8601(s) if !s.is_empty() => Ok(s.clone()),
            _ => Err(mismatch(value, "String")),
        }
    }
}

impl ToValue for Box<str> {
    fn to_value(&self) -> Result<Value> {
        Ok(Value::Text(self.to_string()))
    }
}

/// Same as `String`.
impl FromValue for Box<str> {
    fn from_value(value: &Value) -> Result<Self> {
        String::from_value(value)
            .map(String::into_boxed_str)
            .map_err(|_| mismatch(value, "Box<str>"))
    }
}

impl ToValue for [u8] {
    fn to_value(&self) -> Result<Value> {
        Ok(Value::Blob(self.to_vec()))
    }
}

impl<const N: usize> ToValue for [u8; N] {
    fn to_value(&self) -> Result<Value> {
        Ok(Value::Blob(self.to_vec()))
    }
}

impl ToValue for Vec<u8> {
    fn to_value(&self) -> Result<Value> {
        Ok(Value::Blob(self.clone()))
    }
}

/// Accepts `Blob`, and `Text` as its UTF-8 bytes.
impl FromValue for Vec<u8> {
    fn from_value(value: &Value) -> Result<Self> {
        match value {
            Value::Blob(b) => Ok(b.clone()),
            Value::Text(s) => Ok(s.as_bytes().to_vec()),
            _ => Err(mismatch(value, "Vec<u8>")),
        }
    }
}

/// Identity (a `UnixTime` is refused later, when used as a parameter).
impl ToValue for Value {
    fn to_value(&self) -> Result<Value> {
        Ok(self.clone())
    }
}

/// Identity: any value, as sent by the server.
impl FromValue for Value {
    fn from_value(value: &Value) -> Result<Self> {
        Ok(value.clone())
    }
}

/// `None` is sent as NULL.
impl<T: ToValue> ToValue for Option<T> {
    fn to_value(&self) -> Result<Value> {
        match self {
            Some(v) => v.to_value(),
            None => Ok(Value::Null),
        }
    }
}

/// `Null`, and `Iso8601("")` (a NULL in a date-time column), read as `None`.
impl<T: FromValue> FromValue for Option<T> {
    fn from_value(value: &Value) -> Result<Self> {
        match value {
            Value::Null => Ok(None),
            Value::Iso8601(s) if s.is_empty() => Ok(None),
            v => T::from_value(v).map(Some),
        }
    }
}

impl<T: ToValue + ?Sized> ToValue for &T {
    fn to_value(&self) -> Result<Value> {
        (**self).to_value()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn f32_exactness() {
        assert_eq!(
            f32::from_value(&Value::Integer(1 << 24)).unwrap(),
            16_777_216.0
        );
        assert!(f32::from_value(&Value::Integer((1 << 24) + 1)).is_err());
        assert!(f32::from_value(&Value::Integer(i64::MAX)).is_err());
        assert_eq!(
            f32::from_value(&Value::Integer(i64::MIN)).unwrap(),
            -(2f32.powi(63))
        );
        assert!(f32::from_value(&Value::Float(1e300)).is_err());
        assert!(f32::from_value(&Value::Float(f64::INFINITY))
            .unwrap()
            .is_infinite());
    }

    #[test]
    fn wide_int_error_names_the_value() {
        let err = u64::MAX.to_value().unwrap_err().to_string();
        assert_eq!(err, "cannot convert u64 18446744073709551615 to INTEGER");
    }
}
