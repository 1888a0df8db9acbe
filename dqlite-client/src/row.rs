//! One row of a result: values with typed getters by column index or name.

use std::collections::HashMap;
use std::sync::Arc;

use dqlite_proto::{Value, ValueType};

use crate::error::{Error, Result};
use crate::types::FromValue;

/// Column names of a result, shared by all its rows.
#[derive(Debug, Default)]
pub(crate) struct Columns {
    pub names: Vec<String>,
    by_name: HashMap<String, usize>,
}

impl Columns {
    pub fn new(names: Vec<String>) -> Columns {
        let mut by_name = HashMap::with_capacity(names.len());
        for (i, n) in names.iter().enumerate() {
            // The first column of a name wins, like SQLite's own name lookup.
            by_name.entry(n.clone()).or_insert(i);
        }
        Columns { names, by_name }
    }

    pub fn index_of(&self, name: &str) -> Option<usize> {
        self.by_name.get(name).copied()
    }
}

/// Selects a column: by position (`usize`) or by name (`&str`).
pub trait ColumnIndex {
    /// The position of the column in `row`.
    fn index(&self, row: &Row) -> Result<usize>;
}

impl ColumnIndex for usize {
    fn index(&self, row: &Row) -> Result<usize> {
        if *self < row.values.len() {
            Ok(*self)
        } else {
            Err(Error::NoSuchColumn(self.to_string()))
        }
    }
}

impl ColumnIndex for &str {
    fn index(&self, row: &Row) -> Result<usize> {
        row.columns
            .index_of(self)
            .ok_or_else(|| Error::NoSuchColumn(format!("{self:?}")))
    }
}

/// A row of a query result.
#[derive(Debug, Clone)]
pub struct Row {
    pub(crate) columns: Arc<Columns>,
    pub(crate) values: Vec<Value>,
}

impl Row {
    /// The value of a column converted to `T`; the error names the column.
    pub fn get<T: FromValue, I: ColumnIndex>(&self, idx: I) -> Result<T> {
        let i = idx.index(self)?;
        T::from_value(&self.values[i]).map_err(|e| match e {
            Error::Conversion { from, to, .. } => Error::Conversion {
                from,
                to,
                column: Some(self.columns.names[i].clone()),
            },
            other => other,
        })
    }

    /// The raw value of a column.
    pub fn value<I: ColumnIndex>(&self, idx: I) -> Result<&Value> {
        let i = idx.index(self)?;
        Ok(&self.values[i])
    }

    /// All values, in column order.
    pub fn values(&self) -> &[Value] {
        &self.values
    }

    /// Takes the values out of the row.
    pub fn into_values(self) -> Vec<Value> {
        self.values
    }

    /// The column names.
    pub fn columns(&self) -> &[String] {
        &self.columns.names
    }

    /// The wire type of each value in this row (dqlite sends no declared types; these are
    /// what go-dqlite reports as column types).
    pub fn value_types(&self) -> Vec<ValueType> {
        self.values.iter().map(Value::value_type).collect()
    }

    /// Number of columns.
    pub fn len(&self) -> usize {
        self.values.len()
    }

    /// True for a row with no columns.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }
}
