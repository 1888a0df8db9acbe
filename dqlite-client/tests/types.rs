//! Value conversions: round trips, range errors, dqlite's NULL quirks, parameters, and
//! (feature `time`) date-times in go-dqlite's layouts.

use std::fmt::Debug;

use dqlite_client::{params, Error, FromValue, IntoParams, ToValue, Value};

/// Converts `v` to a value and back, checking it survives; returns the value.
fn round<T: ToValue + FromValue + PartialEq + Debug>(v: T) -> Value {
    let value = v.to_value().expect("to_value");
    assert_eq!(T::from_value(&value).expect("from_value"), v, "{value:?}");
    value
}

/// `value` read as `T`, which must succeed.
fn get<T: FromValue>(value: Value) -> T {
    T::from_value(&value).unwrap_or_else(|e| panic!("{value:?}: {e}"))
}

/// The conversion error reading `value` as `T`, as `"<from> -> <to>"`.
fn refused<T: FromValue + Debug>(value: Value) -> String {
    match T::from_value(&value) {
        Err(Error::Conversion { from, to, column }) => {
            assert_eq!(column, None);
            format!("{from} -> {to}")
        }
        other => panic!("{value:?} gave {other:?}"),
    }
}

/// Converts through the `&T` implementation.
fn by_ref<T: ToValue + ?Sized>(v: &T) -> Value {
    <&T as ToValue>::to_value(&v).expect("to_value")
}

fn int(v: i64) -> Value {
    Value::Integer(v)
}

fn text(s: &str) -> Value {
    Value::Text(s.into())
}

fn iso(s: &str) -> Value {
    Value::Iso8601(s.into())
}

#[test]
fn integers_round_trip() {
    assert_eq!(round(i64::MIN), int(i64::MIN));
    assert_eq!(round(i64::MAX), int(i64::MAX));
    assert_eq!(round(i32::MIN), int(i32::MIN.into()));
    assert_eq!(round(i16::MAX), int(i16::MAX.into()));
    assert_eq!(round(i8::MIN), int(-128));
    assert_eq!(round(u8::MAX), int(255));
    assert_eq!(round(u16::MAX), int(65_535));
    assert_eq!(round(u32::MAX), int(u32::MAX.into()));
    assert_eq!(round(i64::MAX as u64), int(i64::MAX));
    assert_eq!(round(0u64), int(0));
    assert_eq!(round(isize::MIN), int(isize::MIN as i64));
    assert_eq!(round(usize::MAX >> 1), int(i64::MAX));
}

#[test]
fn integer_range_errors() {
    assert_eq!(refused::<u8>(int(300)), "INTEGER 300 -> u8");
    assert_eq!(refused::<u8>(int(-1)), "INTEGER -1 -> u8");
    assert_eq!(refused::<i8>(int(128)), "INTEGER 128 -> i8");
    assert_eq!(refused::<i16>(int(-32_769)), "INTEGER -32769 -> i16");
    assert_eq!(refused::<u16>(int(65_536)), "INTEGER 65536 -> u16");
    assert_eq!(refused::<i32>(int(1 << 31)), "INTEGER 2147483648 -> i32");
    assert_eq!(refused::<u32>(int(-1)), "INTEGER -1 -> u32");
    assert_eq!(refused::<u64>(int(-1)), "INTEGER -1 -> u64");
    assert_eq!(refused::<usize>(int(-5)), "INTEGER -5 -> usize");
    assert_eq!(refused::<u8>(Value::UnixTime(256)), "UNIXTIME 256 -> u8");
    for err in [u64::MAX.to_value(), usize::MAX.to_value()] {
        let ok = matches!(err, Err(Error::Conversion { to: "INTEGER", .. }));
        assert!(ok, "{err:?}");
    }
    let msg = (i64::MAX as u64 + 1).to_value().unwrap_err().to_string();
    assert_eq!(msg, "cannot convert u64 9223372036854775808 to INTEGER");
}

#[test]
fn integers_accept_unixtime_and_boolean_only() {
    assert_eq!(get::<i64>(Value::UnixTime(1_533_081_600)), 1_533_081_600);
    assert_eq!(get::<i64>(Value::Boolean(true)), 1);
    assert_eq!(get::<u8>(Value::Boolean(false)), 0);
    assert_eq!(refused::<i64>(Value::Float(1.0)), "FLOAT 1.0 -> i64");
    assert_eq!(refused::<i64>(text("1")), "TEXT \"1\" -> i64");
    assert_eq!(
        refused::<i32>(Value::Blob(vec![1])),
        "BLOB (1 bytes) -> i32"
    );
}

#[test]
fn floats() {
    assert_eq!(round(1.5f64), Value::Float(1.5));
    assert_eq!(round(-0.25f32), Value::Float(-0.25));
    assert_eq!(round(f64::INFINITY), Value::Float(f64::INFINITY));
    assert!(get::<f64>(f64::NAN.to_value().unwrap()).is_nan());
    assert_eq!(get::<f64>(int(-3)), -3.0);
    assert_eq!(get::<f32>(Value::Float(0.1)), 0.1f32);
    assert_eq!(get::<f32>(int(16_777_216)), 16_777_216.0);
    assert_eq!(refused::<f32>(int(16_777_217)), "INTEGER 16777217 -> f32");
    assert_eq!(refused::<f32>(Value::Float(1e39)), "FLOAT 1e39 -> f32");
    assert_eq!(refused::<f64>(text("1.5")), "TEXT \"1.5\" -> f64");
    assert_eq!(refused::<f64>(Value::Boolean(true)), "BOOLEAN true -> f64");
}

#[test]
fn booleans() {
    assert_eq!(round(true), Value::Boolean(true));
    assert_eq!(round(false), Value::Boolean(false));
    assert!(get::<bool>(int(1)));
    assert!(!get::<bool>(int(0)));
    assert_eq!(refused::<bool>(int(2)), "INTEGER 2 -> bool");
    assert_eq!(refused::<bool>(text("true")), "TEXT \"true\" -> bool");
}

#[test]
fn text_and_bytes() {
    assert_eq!(round(String::from("héllo")), text("héllo"));
    assert_eq!(round(Box::<str>::from("b")), text("b"));
    assert_eq!("a".to_value().unwrap(), text("a"));
    assert_eq!(get::<String>(iso("2018-08-01 01:02")), "2018-08-01 01:02");
    assert_eq!(
        refused::<String>(Value::Blob(vec![])),
        "BLOB (0 bytes) -> String"
    );
    assert_eq!(refused::<Box<str>>(int(1)), "INTEGER 1 -> Box<str>");

    assert_eq!(round(vec![0u8, 255]), Value::Blob(vec![0, 255]));
    assert_eq!([1u8, 2, 3].to_value().unwrap(), Value::Blob(vec![1, 2, 3]));
    let slice: &[u8] = &[4];
    assert_eq!(by_ref(slice), Value::Blob(vec![4]));
    assert_eq!(get::<Vec<u8>>(text("hi")), b"hi");
    assert_eq!(refused::<Vec<u8>>(int(1)), "INTEGER 1 -> Vec<u8>");
}

#[test]
fn values_and_references() {
    for v in [
        int(1),
        Value::Float(2.5),
        text("t"),
        Value::Blob(vec![1]),
        Value::Null,
        Value::UnixTime(5),
        iso("2018-08-01"),
        Value::Boolean(true),
    ] {
        assert_eq!(round(v.clone()), v);
    }
    let s = String::from("r");
    assert_eq!(by_ref(&&s), text("r"));
    assert_eq!(by_ref(&7u8), int(7));
    assert_eq!(by_ref("s"), text("s"));
}

#[test]
fn null_quirks() {
    assert_eq!(round(None::<i64>), Value::Null);
    assert_eq!(round(Some(5i64)), int(5));
    assert_eq!(round(Some(String::new())), text(""));
    // A NULL in a DATETIME column arrives as ISO8601 "": it reads as None ...
    assert_eq!(get::<Option<String>>(iso("")), None);
    assert_eq!(get::<Option<Value>>(iso("")), None);
    // ... and a non-Option type refuses it, naming NULL.
    assert_eq!(refused::<String>(iso("")), "NULL (ISO8601 \"\") -> String");
    assert_eq!(refused::<i64>(Value::Null), "NULL -> i64");
    assert_eq!(refused::<Vec<u8>>(Value::Null), "NULL -> Vec<u8>");
    // A NULL in a BOOLEAN column arrives as BOOLEAN false: the NULL is lost on the server
    // and cannot be told apart from a stored false.
    assert_eq!(get::<Option<bool>>(Value::Boolean(false)), Some(false));
    assert!(!get::<bool>(Value::Boolean(false)));
}

#[test]
fn conversion_messages() {
    let err = u8::from_value(&text("abc")).unwrap_err();
    assert_eq!(err.to_string(), "cannot convert TEXT \"abc\" to u8");
    let cut = format!("TEXT \"{}\"... -> i64", "x".repeat(32));
    assert_eq!(refused::<i64>(text(&"x".repeat(100))), cut);
}

#[test]
fn params_macro() {
    let p = params![1, "a", None::<i64>, vec![1u8], 2.5, true];
    let want = vec![
        int(1),
        text("a"),
        Value::Null,
        Value::Blob(vec![1]),
        Value::Float(2.5),
        Value::Boolean(true),
    ];
    assert_eq!(p.into_params().unwrap(), want);
    assert_eq!(params![].into_params().unwrap(), vec![]);
    assert_eq!(params![7u8,].into_params().unwrap(), vec![int(7)]);
    let s = String::from("kept");
    assert_eq!(params![s, &s].into_params().unwrap().len(), 2);
    // Errors are deferred to into_params, never a panic.
    let err = params![1, u64::MAX, "x"].into_params();
    assert!(matches!(err, Err(Error::Conversion { to: "INTEGER", .. })));
    let unix = params![Value::UnixTime(1)].into_params();
    assert!(matches!(unix, Err(Error::InvalidRequest(_))), "{unix:?}");
}

#[test]
fn params_collections_and_tuples() {
    let two = vec![int(1), Value::Null];
    assert_eq!(().into_params().unwrap(), vec![]);
    assert_eq!(two.clone().into_params().unwrap(), two);
    assert_eq!(two.as_slice().into_params().unwrap(), two);
    assert_eq!([int(1), Value::Null].into_params().unwrap(), two);
    assert_eq!((1,).into_params().unwrap(), vec![int(1)]);
    assert_eq!((1, None::<String>).into_params().unwrap(), two);
    #[rustfmt::skip]
    let twelve = (1, 2u8, 3i16, 4u32, 5i8, 6u16, 7i32, 8u64, "9", 10.0, false, vec![12u8]);
    let values = twelve.into_params().unwrap();
    assert_eq!(values.len(), 12);
    assert_eq!(values[8], text("9"));
    assert_eq!(values[11], Value::Blob(vec![12]));
    assert!((1, u64::MAX).into_params().is_err());
    assert!(vec![Value::UnixTime(0)].into_params().is_err());
    assert!((Value::UnixTime(0),).into_params().is_err());
}

#[cfg(feature = "time")]
mod datetime {
    use super::{get, iso, refused};
    use dqlite_client::{ToValue, Value};
    use time::format_description::well_known::Rfc3339;
    use time::macros::{datetime, offset};
    use time::{OffsetDateTime, PrimitiveDateTime};

    fn rfc3339(s: &str) -> OffsetDateTime {
        OffsetDateTime::parse(s, &Rfc3339).expect(s)
    }

    #[test]
    fn formats_like_go() {
        for (rfc, go) in [
            ("2018-08-01T00:00:00Z", "2018-08-01 00:00:00+00:00"),
            (
                "2018-08-01T00:00:00.123456789+02:00",
                "2018-08-01 00:00:00.123456789+02:00",
            ),
            ("2018-08-01T23:59:59.500Z", "2018-08-01 23:59:59.5+00:00"),
            (
                "2018-08-01T01:02:03.120-07:30",
                "2018-08-01 01:02:03.12-07:30",
            ),
            (
                "0001-01-01T00:00:00.000001Z",
                "0001-01-01 00:00:00.000001+00:00",
            ),
        ] {
            let dt = rfc3339(rfc);
            assert_eq!(dt.to_value().unwrap(), iso(go));
            let back = get::<OffsetDateTime>(iso(go));
            assert_eq!((back, back.offset()), (dt, dt.offset()));
        }
        let local = datetime!(2018-08-01 12:30:00.250);
        assert_eq!(local.to_value().unwrap(), iso("2018-08-01 12:30:00.25"));
        assert_eq!(
            get::<PrimitiveDateTime>(iso("2018-08-01 12:30:00.25")),
            local
        );
        assert!(datetime!(-0001-01-01 0:00 UTC).to_value().is_err());
    }

    #[test]
    fn parses_every_go_layout() {
        for (go, rfc) in [
            ("2018-08-01 12:30:45.5+02:00", "2018-08-01T10:30:45.5Z"),
            ("2018-08-01T12:30:45.5-01:00", "2018-08-01T13:30:45.5Z"),
            ("2018-08-01 12:30:45+00:00", "2018-08-01T12:30:45Z"),
            (
                "2018-08-01 12:30:45.123456789",
                "2018-08-01T12:30:45.123456789Z",
            ),
            ("2018-08-01T12:30:45.1", "2018-08-01T12:30:45.1Z"),
            ("2018-08-01 12:30:45", "2018-08-01T12:30:45Z"),
            ("2018-08-01T12:30:45", "2018-08-01T12:30:45Z"),
            ("2018-08-01 12:30", "2018-08-01T12:30:00Z"),
            ("2018-08-01T12:30", "2018-08-01T12:30:00Z"),
            ("2018-08-01 1:30", "2018-08-01T01:30:00Z"),
            ("2018-08-01", "2018-08-01T00:00:00Z"),
            ("2018-08-01T12:30:45Z", "2018-08-01T12:30:45Z"),
            ("2018-08-01 12:30:45.5Z", "2018-08-01T12:30:45.5Z"),
            ("2018-08-01T12:30Z", "2018-08-01T12:30:00Z"),
            (
                "2018-08-01 12:30:45.1234567891",
                "2018-08-01T12:30:45.123456789Z",
            ),
        ] {
            let want = rfc3339(rfc);
            assert_eq!(get::<OffsetDateTime>(iso(go)), want, "{go}");
            assert_eq!(get::<OffsetDateTime>(Value::Text(go.into())), want, "{go}");
            assert_eq!(get::<PrimitiveDateTime>(iso(go)).assume_utc(), want, "{go}");
        }
        let kept = get::<OffsetDateTime>(iso("2018-08-01 12:00:00+05:30"));
        assert_eq!(kept.offset(), offset!(+5:30));
    }

    #[test]
    fn rejects_what_go_rejects() {
        // Go layouts need 4-digit years, 2-digit months, days, minutes and seconds, an
        // offset only after seconds, `+hh:mm` offsets, and nothing left over.
        let bad = "2018-8-01|18-08-01|2018-08-01 12:30+02:00|2018-08-01 12|2018-08-01T|\
                   2018-02-30|2018-08-01 24:00|2018-08-01 12:60|2018-08-01 12:30:60|\
                   2018-08-01 12:30:45 +02:00|2018-08-01 12:30:45+0200|\
                   2018-08-01 12:30:45+25:00|2018-08-01x|2018-08-01ZZ|garbage";
        for text in bad.split('|') {
            let want = format!("ISO8601 {text:?} -> OffsetDateTime");
            assert_eq!(refused::<OffsetDateTime>(iso(text)), want);
        }
        assert_eq!(
            refused::<OffsetDateTime>(iso("")),
            "NULL (ISO8601 \"\") -> OffsetDateTime"
        );
        assert_eq!(
            refused::<PrimitiveDateTime>(Value::Null),
            "NULL -> PrimitiveDateTime"
        );
        assert_eq!(
            refused::<OffsetDateTime>(Value::Float(1.0)),
            "FLOAT 1.0 -> OffsetDateTime"
        );
        let huge = refused::<OffsetDateTime>(Value::UnixTime(i64::MAX));
        assert!(huge.starts_with("UNIXTIME"), "{huge}");
    }

    #[test]
    fn unix_time_and_nulls() {
        let want = datetime!(2018-08-01 0:00 UTC);
        assert_eq!(get::<OffsetDateTime>(Value::UnixTime(1_533_081_600)), want);
        assert_eq!(get::<OffsetDateTime>(Value::Integer(1_533_081_600)), want);
        let local = get::<PrimitiveDateTime>(Value::UnixTime(-1));
        assert_eq!(local, datetime!(1969-12-31 23:59:59));
        assert_eq!(get::<Option<OffsetDateTime>>(iso("")), None);
        assert_eq!(get::<Option<PrimitiveDateTime>>(Value::Null), None);
        assert_eq!(None::<OffsetDateTime>.to_value().unwrap(), Value::Null);
    }
}
