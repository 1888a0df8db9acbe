//! A streaming result: rows decoded batch by batch as the server sends them.

use std::collections::VecDeque;
use std::ops::DerefMut;
use std::sync::Arc;

use dqlite_proto::{Frame, RowsEnd, RowsReader, ValueRef, ValueType};
use futures::Stream;

use crate::connection::{Connection, State};
use crate::error::{Error, Result};
use crate::pool::PooledConn;
use crate::row::{Columns, Row};

/// The connection a result streams from: owned from the pool, or borrowed from a
/// transaction or an acquired connection.
#[derive(Debug)]
#[allow(clippy::large_enum_variant)] // built once per query and never moved in a loop
pub(crate) enum Source<'c> {
    Pooled(PooledConn),
    Borrowed(&'c mut Connection),
}

impl std::ops::Deref for Source<'_> {
    type Target = Connection;
    fn deref(&self) -> &Connection {
        match self {
            Source::Pooled(c) => c,
            Source::Borrowed(c) => c,
        }
    }
}

impl DerefMut for Source<'_> {
    fn deref_mut(&mut self) -> &mut Connection {
        match self {
            Source::Pooled(c) => c,
            Source::Borrowed(c) => c,
        }
    }
}

/// The rows of a query, fetched batch by batch.
///
/// Read them with [`Rows::next`], [`Rows::all`] or as a [`Stream`] through
/// [`Rows::into_stream`]. Dropping `Rows` before the end is fine: the rest of the result is
/// interrupted and drained before the connection is used again, or the connection is closed
/// when draining would cost more.
#[derive(Debug)]
pub struct Rows<'c> {
    source: Source<'c>,
    columns: Arc<Columns>,
    types: Vec<ValueType>,
    buffered: VecDeque<Row>,
    done: bool,
    empty_batches: u32,
    max_empty_batches: u32,
}

impl<'c> Rows<'c> {
    pub(crate) fn new(source: Source<'c>, first: Frame, max_empty_batches: u32) -> Result<Self> {
        let mut rows = Rows {
            source,
            columns: Arc::new(Columns::default()),
            types: Vec::new(),
            buffered: VecDeque::new(),
            done: false,
            empty_batches: 0,
            max_empty_batches,
        };
        let names = {
            let reader = RowsReader::new(&first.body).map_err(|e| rows.broken(e))?;
            reader.columns().iter().map(|c| (*c).to_owned()).collect()
        };
        rows.columns = Arc::new(Columns::new(names));
        rows.take_batch(&first)?;
        Ok(rows)
    }

    fn broken(&mut self, e: impl std::fmt::Display) -> Error {
        self.done = true;
        self.source.state = State::Broken;
        Error::protocol(self.source.node(), e)
    }

    /// Decodes one batch into owned rows; returns how many it held.
    fn take_batch(&mut self, frame: &Frame) -> Result<usize> {
        let mut reader = RowsReader::new(&frame.body).map_err(|e| self.broken(e))?;
        if reader.columns().len() != self.columns.names.len() {
            return Err(self.broken("column count changed between batches"));
        }
        let mut values: Vec<ValueRef<'_>> = Vec::with_capacity(self.columns.names.len());
        let mut n = 0;
        loop {
            match reader.next_row(&mut values) {
                Ok(true) => {}
                Ok(false) => break,
                Err(e) => return Err(self.broken(e)),
            }
            if self.types.is_empty() {
                self.types = values.iter().map(ValueRef::value_type).collect();
            }
            self.buffered.push_back(Row {
                columns: Arc::clone(&self.columns),
                values: values.iter().map(ValueRef::to_owned).collect(),
            });
            n += 1;
        }
        if reader.end() == Some(RowsEnd::Done) {
            self.done = true;
        }
        Ok(n)
    }

    /// The column names.
    pub fn columns(&self) -> &[String] {
        &self.columns.names
    }

    /// The wire types of the first row's values, as go-dqlite reports column types (dqlite
    /// sends no declared types). Empty until a row has been received.
    pub fn column_types(&self) -> &[ValueType] {
        &self.types
    }

    /// The next row, or `None` at the end of the result.
    pub async fn next(&mut self) -> Result<Option<Row>> {
        loop {
            if let Some(row) = self.buffered.pop_front() {
                return Ok(Some(row));
            }
            if self.done {
                return Ok(None);
            }
            let frame = match self.source.next_batch().await {
                Ok(f) => f,
                Err(e) => {
                    self.done = true;
                    return Err(e);
                }
            };
            if self.take_batch(&frame)? == 0 && !self.done {
                self.empty_batches += 1;
                if self.empty_batches > self.max_empty_batches {
                    let n = self.empty_batches;
                    return Err(self.broken(format!("{n} consecutive empty ROWS batches")));
                }
            } else {
                self.empty_batches = 0;
            }
        }
    }

    /// Reads every remaining row.
    pub async fn all(mut self) -> Result<Vec<Row>> {
        let mut out = Vec::new();
        while let Some(row) = self.next().await? {
            out.push(row);
        }
        Ok(out)
    }

    /// The rows as a [`Stream`]; it ends after the first error.
    pub fn into_stream(self) -> impl Stream<Item = Result<Row>> + 'c {
        futures::stream::unfold(Some(self), |state| async move {
            let mut rows = state?;
            match rows.next().await {
                Ok(Some(row)) => Some((Ok(row), Some(rows))),
                Ok(None) => None,
                Err(e) => Some((Err(e), None)),
            }
        })
    }
}
