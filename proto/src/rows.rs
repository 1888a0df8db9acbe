//! ROWS bodies (docs/wire-protocol.md §9): column names, rows with 4-bit type headers, and the
//! PART/DONE marker. Reading borrows from the body; writing builds one batch incrementally.

use bytes::{BufMut, BytesMut};

use crate::buf::{pad8, put_text, Reader, WORD};
use crate::error::{Error, Result};
use crate::header::{begin_frame, finish_frame};
use crate::response::RESPONSE_ROWS;
use crate::value::{Value, ValueRef, ValueType};

/// Marker ending a batch after which more batches follow.
pub const ROWS_PART: u64 = 0xeeee_eeee_eeee_eeee;
/// Marker ending the last batch of a result.
pub const ROWS_DONE: u64 = 0xffff_ffff_ffff_ffff;

/// How a ROWS batch ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RowsEnd {
    /// More ROWS messages follow without a new request.
    Part,
    /// The result set is complete.
    Done,
}

impl RowsEnd {
    /// The marker word.
    pub fn marker(self) -> u64 {
        match self {
            RowsEnd::Part => ROWS_PART,
            RowsEnd::Done => ROWS_DONE,
        }
    }
}

/// Size of the row header for `columns` columns: one nibble each, padded to a word.
pub fn row_header_size(columns: usize) -> usize {
    pad8(columns.div_ceil(2))
}

/// Reads one ROWS batch without copying: column names and values borrow from the body.
#[derive(Debug, Clone)]
pub struct RowsReader<'a> {
    reader: Reader<'a>,
    columns: Vec<&'a str>,
    end: Option<RowsEnd>,
}

impl<'a> RowsReader<'a> {
    /// Parses the column count and names; rows are decoded as they are read.
    pub fn new(body: &'a [u8]) -> Result<Self> {
        let mut reader = Reader::new(body);
        let n = reader.u64("ROWS column count")?;
        // Each name takes at least one word, which bounds the allocation by the body size.
        if n > (reader.remaining() / WORD) as u64 {
            return Err(Error::Truncated {
                what: "ROWS column names",
                offset: reader.position(),
                needed: usize::try_from(n.saturating_mul(WORD as u64)).unwrap_or(usize::MAX),
                len: body.len(),
            });
        }
        let mut columns = Vec::with_capacity(n as usize);
        for _ in 0..n {
            columns.push(reader.text("ROWS column name")?);
        }
        Ok(RowsReader {
            reader,
            columns,
            end: None,
        })
    }

    /// The column names, in order.
    pub fn columns(&self) -> &[&'a str] {
        &self.columns
    }

    /// How the batch ended, once the marker has been read.
    pub fn end(&self) -> Option<RowsEnd> {
        self.end
    }

    /// Decodes the next row into `out` (cleared first). Returns `Ok(false)` at the marker.
    pub fn next_row(&mut self, out: &mut Vec<ValueRef<'a>>) -> Result<bool> {
        out.clear();
        if self.end.is_some() {
            return Ok(false);
        }
        if let Some(end) = self.read_marker()? {
            self.end = Some(end);
            return Ok(false);
        }
        if self.columns.is_empty() {
            return Err(Error::BadRows {
                reason: "a zero-column batch must hold only the marker",
            });
        }
        let header = self
            .reader
            .bytes(row_header_size(self.columns.len()), "row header")?;
        for i in 0..self.columns.len() {
            let code = (header[i / 2] >> ((i % 2) * 4)) & 0x0f;
            let ty = ValueType::from_code(code, "row value type")?;
            out.push(ValueRef::decode(ty, &mut self.reader)?);
        }
        Ok(true)
    }

    fn read_marker(&mut self) -> Result<Option<RowsEnd>> {
        let end = match self.reader.peek_u64() {
            Some(ROWS_PART) => RowsEnd::Part,
            Some(ROWS_DONE) => RowsEnd::Done,
            Some(_) => return Ok(None),
            None => {
                return Err(Error::BadRows {
                    reason: "body ends without a PART or DONE marker",
                })
            }
        };
        self.reader.u64("ROWS marker")?;
        if self.reader.remaining() != 0 {
            return Err(Error::BadRows {
                reason: "bytes follow the PART/DONE marker",
            });
        }
        Ok(Some(end))
    }
}

impl<'a> Iterator for RowsReader<'a> {
    type Item = Result<Vec<ValueRef<'a>>>;

    fn next(&mut self) -> Option<Self::Item> {
        let mut row = Vec::with_capacity(self.columns.len());
        match self.next_row(&mut row) {
            Ok(true) => Some(Ok(row)),
            Ok(false) => None,
            Err(e) => {
                // Stop after the first error so a caller looping on `next` terminates.
                self.end = Some(RowsEnd::Done);
                Some(Err(e))
            }
        }
    }
}

/// An owned ROWS batch.
#[derive(Debug, Clone, PartialEq)]
pub struct Rows {
    /// Column names.
    pub columns: Vec<String>,
    /// Rows, each with one value per column.
    pub rows: Vec<Vec<Value>>,
    /// How the batch ends.
    pub end: RowsEnd,
}

impl Rows {
    /// Decodes and copies a whole batch.
    pub fn decode(body: &[u8]) -> Result<Rows> {
        let mut reader = RowsReader::new(body)?;
        let columns = reader.columns().iter().map(|c| (*c).to_owned()).collect();
        let mut rows = Vec::new();
        let mut row = Vec::new();
        while reader.next_row(&mut row)? {
            rows.push(row.iter().map(ValueRef::to_owned).collect());
        }
        let end = reader.end().ok_or(Error::BadRows {
            reason: "body ends without a PART or DONE marker",
        })?;
        Ok(Rows { columns, rows, end })
    }

    /// Encodes the batch as a whole ROWS message (header included).
    pub fn encode(&self, buf: &mut BytesMut) -> Result<()> {
        let start = buf.len();
        let res = (|| {
            let mut w = RowsWriter::begin(buf, &self.columns)?;
            for row in &self.rows {
                w.push_row(row.iter().map(Value::as_ref))?;
            }
            w.finish(self.end)
        })();
        if res.is_err() {
            buf.truncate(start);
        }
        res
    }
}

/// Writes one ROWS message incrementally: header placeholder, column names, rows, marker.
///
/// A server streams a large result by starting a writer, pushing rows until
/// [`RowsWriter::encoded_len`] reaches its batch size, finishing with [`RowsEnd::Part`], and starting
/// the next batch.
#[derive(Debug)]
pub struct RowsWriter<'b> {
    buf: &'b mut BytesMut,
    start: usize,
    columns: usize,
    rows: usize,
}

impl<'b> RowsWriter<'b> {
    /// Starts a ROWS message with the given column names.
    pub fn begin<S: AsRef<str>>(buf: &'b mut BytesMut, columns: &[S]) -> Result<Self> {
        let start = begin_frame(buf, RESPONSE_ROWS, 0);
        buf.put_u64_le(columns.len() as u64);
        for name in columns {
            if let Err(e) = put_text(buf, name.as_ref(), "ROWS column name") {
                buf.truncate(start);
                return Err(e);
            }
        }
        Ok(RowsWriter {
            buf,
            start,
            columns: columns.len(),
            rows: 0,
        })
    }

    /// Appends one row; it must have one value per column. On error nothing is appended.
    pub fn push_row<'v, I>(&mut self, values: I) -> Result<()>
    where
        I: IntoIterator<Item = ValueRef<'v>>,
        I::IntoIter: Clone,
    {
        let values = values.into_iter();
        let got = values.clone().count();
        if got != self.columns || self.columns == 0 {
            return Err(Error::RowWidth {
                expected: self.columns,
                got,
            });
        }
        let row_start = self.buf.len();
        let header_at = self.buf.len();
        self.buf.put_bytes(0, row_header_size(self.columns));
        for (i, v) in values.clone().enumerate() {
            self.buf[header_at + i / 2] |= v.value_type().code() << ((i % 2) * 4);
        }
        for v in values {
            if let Err(e) = v.encode(self.buf) {
                self.buf.truncate(row_start);
                return Err(e);
            }
        }
        self.rows += 1;
        Ok(())
    }

    /// Bytes written so far for this message, header included.
    pub fn encoded_len(&self) -> usize {
        self.buf.len() - self.start
    }

    /// Number of rows pushed so far.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Writes the marker and completes the message header.
    pub fn finish(self, end: RowsEnd) -> Result<()> {
        self.buf.put_u64_le(end.marker());
        finish_frame(self.buf, self.start)
    }
}
