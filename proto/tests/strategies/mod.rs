//! proptest strategies for every request and response type.

use dqlite_proto::*;
use proptest::collection::vec;
use proptest::prelude::*;

/// Text the wire can carry: any characters but NUL, including multi-byte ones.
pub fn text() -> impl Strategy<Value = String> {
    "[^\u{0}]{0,24}"
}

/// Floats from raw bit patterns, so NaNs, infinities and subnormals all occur.
pub fn float() -> impl Strategy<Value = f64> {
    any::<u64>().prop_map(f64::from_bits)
}

/// Any value, including UNIXTIME (servers reject it as a parameter, the codec does not).
pub fn value() -> impl Strategy<Value = Value> {
    prop_oneof![
        any::<i64>().prop_map(Value::Integer),
        float().prop_map(Value::Float),
        text().prop_map(Value::Text),
        vec(any::<u8>(), 0..40).prop_map(Value::Blob),
        Just(Value::Null),
        any::<i64>().prop_map(Value::UnixTime),
        text().prop_map(Value::Iso8601),
        any::<bool>().prop_map(Value::Boolean),
    ]
}

fn schema() -> impl Strategy<Value = ParamSchema> {
    prop_oneof![Just(ParamSchema::V0), Just(ParamSchema::V1)]
}

fn params() -> impl Strategy<Value = Vec<Value>> {
    prop_oneof![
        8 => vec(value(), 0..12),
        1 => vec(value(), 250..300),
    ]
}

/// Parameters valid for the schema: schema 0 carries at most 255.
fn tuple() -> impl Strategy<Value = (ParamSchema, Vec<Value>)> {
    (schema(), params()).prop_map(|(s, mut p)| {
        if s == ParamSchema::V0 {
            p.truncate(255);
        }
        (s, p)
    })
}

/// Every request type.
pub fn request() -> impl Strategy<Value = Request> {
    prop_oneof![
        Just(Request::Leader),
        any::<u64>().prop_map(|id| Request::Client { id }),
        any::<u64>().prop_map(|timestamp| Request::Heartbeat { timestamp }),
        (text(), any::<u64>(), text()).prop_map(|(name, flags, vfs)| Request::Open {
            name,
            flags,
            vfs
        }),
        (any::<u64>(), text(), any::<bool>()).prop_map(|(db, sql, with_tail)| Request::Prepare {
            db,
            sql,
            with_tail
        }),
        (any::<u32>(), any::<u32>(), tuple()).prop_map(|(db, stmt, (schema, params))| {
            Request::Exec {
                db,
                stmt,
                params,
                schema,
            }
        }),
        (any::<u32>(), any::<u32>(), tuple()).prop_map(|(db, stmt, (schema, params))| {
            Request::Query {
                db,
                stmt,
                params,
                schema,
            }
        }),
        (any::<u32>(), any::<u32>()).prop_map(|(db, stmt)| Request::Finalize { db, stmt }),
        (any::<u64>(), text(), tuple()).prop_map(|(db, sql, (schema, params))| Request::ExecSql {
            db,
            sql,
            params,
            schema
        }),
        (any::<u64>(), text(), tuple()).prop_map(|(db, sql, (schema, params))| Request::QuerySql {
            db,
            sql,
            params,
            schema
        }),
        any::<u64>().prop_map(|db| Request::Interrupt { db }),
        (any::<u64>(), text()).prop_map(|(id, address)| Request::Connect { id, address }),
        (any::<u64>(), text()).prop_map(|(id, address)| Request::Add { id, address }),
        (any::<u64>(), proptest::option::of(any::<u64>()))
            .prop_map(|(id, role)| Request::Assign { id, role }),
        any::<u64>().prop_map(|id| Request::Remove { id }),
        text().prop_map(|name| Request::Dump { name }),
        any::<u64>().prop_map(|format| Request::Cluster { format }),
        any::<u64>().prop_map(|id| Request::Transfer { id }),
        any::<u64>().prop_map(|format| Request::Describe { format }),
        any::<u64>().prop_map(|weight| Request::Weight { weight }),
    ]
}

fn role() -> impl Strategy<Value = Role> {
    prop_oneof![Just(Role::Voter), Just(Role::StandBy), Just(Role::Spare)]
}

/// A batch of rows: 1–8 columns with values of any type, or the zero-column form.
pub fn rows() -> impl Strategy<Value = Rows> {
    let end = prop_oneof![Just(RowsEnd::Part), Just(RowsEnd::Done)];
    let zero = end.clone().prop_map(|end| Rows {
        columns: vec![],
        rows: vec![],
        end,
    });
    let some = (1usize..9)
        .prop_flat_map(move |n| (vec(text(), n), vec(vec(value(), n), 0..6), end.clone()))
        .prop_map(|(columns, rows, end)| Rows { columns, rows, end });
    prop_oneof![1 => zero, 6 => some]
}

/// A response together with the hint needed to decode it.
pub fn response() -> impl Strategy<Value = (Response, DecodeHint)> {
    let plain = |r: Response| (r, DecodeHint::default());
    prop_oneof![
        (any::<u64>(), text()).prop_map(move |(c, m)| plain(Response::Failure(Failure::new(c, m)))),
        (any::<u64>(), text()).prop_map(move |(id, address)| plain(Response::Node { id, address })),
        text().prop_map(|address| (
            Response::NodeLegacy { address },
            DecodeHint {
                legacy_node: true,
                ..DecodeHint::default()
            }
        )),
        any::<u64>()
            .prop_map(move |heartbeat_timeout| plain(Response::Welcome { heartbeat_timeout })),
        (any::<bool>(), vec((any::<u64>(), text(), role()), 0..5)).prop_map(|(with_role, ns)| {
            let nodes = ns
                .into_iter()
                .map(|(id, address, r)| NodeInfo {
                    id,
                    address,
                    role: with_role.then_some(r),
                })
                .collect();
            let hint = DecodeHint {
                nodes_without_role: !with_role,
                ..DecodeHint::default()
            };
            (Response::Nodes(nodes), hint)
        }),
        any::<u32>().prop_map(move |id| plain(Response::Db { id })),
        (
            any::<u32>(),
            any::<u32>(),
            any::<u64>(),
            proptest::option::of(any::<u64>())
        )
            .prop_map(move |(db, id, params, tail_offset)| plain(Response::Stmt {
                db,
                id,
                params,
                tail_offset
            })),
        (any::<u64>(), any::<u64>()).prop_map(move |(last_insert_id, rows_affected)| plain(
            Response::Result {
                last_insert_id,
                rows_affected
            }
        )),
        rows().prop_map(move |r| plain(Response::Rows(r))),
        Just(plain(Response::Empty)),
        vec((text(), vec(any::<u8>(), 0..64)), 0..3).prop_map(move |fs| plain(Response::Files(
            fs.into_iter()
                .map(|(name, data)| File { name, data })
                .collect()
        ))),
        (any::<u64>(), any::<u64>()).prop_map(move |(failure_domain, weight)| plain(
            Response::Metadata {
                failure_domain,
                weight
            }
        )),
    ]
}
