//! A thin raw prepared-statement wrapper over `rusqlite::ffi`.
//!
//! rusqlite hides the unparsed tail of a prepare and refuses multi-statement text, but the
//! dqlite protocol needs both (EXEC_SQL runs statement after statement; PREPARE schema 1
//! returns the tail offset), so statements are prepared and stepped directly.

use std::ffi::CStr;
use std::os::raw::c_int;
use std::ptr;

use dqlite_proto::{Value, ValueRef};
use rusqlite::ffi;
use rusqlite::Connection;

use crate::error::{Error, Result};

/// One prepared statement, finalized on drop. Must not outlive its connection.
pub struct RawStmt {
    ptr: *mut ffi::sqlite3_stmt,
    db: *mut ffi::sqlite3,
}

// Statements move with their connection to its owning thread.
unsafe impl Send for RawStmt {}

/// Result of preparing the first statement of a SQL text.
pub struct Prepared {
    /// The statement, or `None` when the text held only whitespace or comments.
    pub stmt: Option<RawStmt>,
    /// Byte offset of the unparsed tail.
    pub tail: usize,
}

/// Outcome of one step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// A row is available.
    Row,
    /// The statement has finished.
    Done,
}

impl RawStmt {
    /// Prepares the first statement of `sql`.
    pub fn prepare(conn: &Connection, sql: &str) -> Result<Prepared> {
        let len =
            c_int::try_from(sql.len()).map_err(|_| Error::failure(18, "string or blob too big"))?;
        let mut stmt = ptr::null_mut();
        let mut tail = ptr::null();
        // SAFETY: `sql` is valid for `len` bytes; SQLite does not need a NUL terminator when
        // the length is given.
        let (rc, db) = unsafe {
            let db = conn.handle();
            let rc = ffi::sqlite3_prepare_v2(db, sql.as_ptr().cast(), len, &mut stmt, &mut tail);
            (rc, db)
        };
        if rc != ffi::SQLITE_OK {
            return Err(last_error(db, rc));
        }
        let tail = if tail.is_null() {
            sql.len()
        } else {
            (tail as usize)
                .saturating_sub(sql.as_ptr() as usize)
                .min(sql.len())
        };
        let stmt = (!stmt.is_null()).then_some(RawStmt { ptr: stmt, db });
        Ok(Prepared { stmt, tail })
    }

    /// Number of `?` parameters.
    pub fn param_count(&self) -> usize {
        // SAFETY: live statement.
        unsafe { ffi::sqlite3_bind_parameter_count(self.ptr) as usize }
    }

    /// True when the statement does not write the database directly.
    pub fn readonly(&self) -> bool {
        // SAFETY: live statement.
        unsafe { ffi::sqlite3_stmt_readonly(self.ptr) != 0 }
    }

    /// Number of result columns.
    pub fn column_count(&self) -> usize {
        // SAFETY: live statement.
        unsafe { ffi::sqlite3_column_count(self.ptr) as usize }
    }

    /// Name of column `i`.
    pub fn column_name(&self, i: usize) -> String {
        // SAFETY: `i` < column_count; SQLite returns a NUL-terminated string or NULL.
        unsafe { cstr(ffi::sqlite3_column_name(self.ptr, i as c_int)) }
    }

    /// Declared type of column `i`, upper-cased ("" for expressions).
    pub fn column_decltype(&self, i: usize) -> String {
        // SAFETY: as above.
        unsafe { cstr(ffi::sqlite3_column_decltype(self.ptr, i as c_int)) }.to_ascii_uppercase()
    }

    /// Binds `params` to positions 1.. (extra values are the caller's concern).
    pub fn bind(&mut self, params: &[Value]) -> Result<()> {
        for (i, v) in params.iter().enumerate() {
            let idx = (i + 1) as c_int;
            // SAFETY: live statement; SQLITE_TRANSIENT makes SQLite copy text and blobs.
            let rc = unsafe {
                match v.as_ref() {
                    ValueRef::Integer(n) => ffi::sqlite3_bind_int64(self.ptr, idx, n),
                    ValueRef::Boolean(b) => ffi::sqlite3_bind_int64(self.ptr, idx, i64::from(b)),
                    ValueRef::Float(f) => ffi::sqlite3_bind_double(self.ptr, idx, f),
                    ValueRef::Text(s) | ValueRef::Iso8601(s) => ffi::sqlite3_bind_text64(
                        self.ptr,
                        idx,
                        s.as_ptr().cast(),
                        s.len() as u64,
                        ffi::SQLITE_TRANSIENT(),
                        ffi::SQLITE_UTF8 as u8,
                    ),
                    ValueRef::Blob(b) => ffi::sqlite3_bind_blob64(
                        self.ptr,
                        idx,
                        b.as_ptr().cast(),
                        b.len() as u64,
                        ffi::SQLITE_TRANSIENT(),
                    ),
                    ValueRef::Null => ffi::sqlite3_bind_null(self.ptr, idx),
                    ValueRef::UnixTime(_) => return Err(Error::failure(1, "bind parameters")),
                }
            };
            if rc != ffi::SQLITE_OK {
                return Err(last_error(self.db, rc));
            }
        }
        Ok(())
    }

    /// Advances the statement.
    pub fn step(&mut self) -> Result<Step> {
        // SAFETY: live statement.
        match unsafe { ffi::sqlite3_step(self.ptr) } {
            ffi::SQLITE_ROW => Ok(Step::Row),
            ffi::SQLITE_DONE => Ok(Step::Done),
            rc => Err(last_error(self.db, rc)),
        }
    }

    /// Resets the statement and clears its bindings so it can be reused.
    pub fn reset(&mut self) {
        // SAFETY: live statement; errors of the last step were already reported.
        unsafe {
            ffi::sqlite3_reset(self.ptr);
            ffi::sqlite3_clear_bindings(self.ptr);
        }
    }

    /// Value of column `i` of the current row, mapped to a dqlite value using the column's
    /// declared type (DATETIME/DATE/TIMESTAMP and BOOLEAN as dqlite does; anything that
    /// would crash the C server falls back to the storage type).
    pub fn column_value(&self, i: usize, decltype: &str) -> Value {
        let idx = i as c_int;
        // SAFETY: live statement positioned on a row; pointers are copied before the next call.
        unsafe {
            let kind = ffi::sqlite3_column_type(self.ptr, idx);
            let is_time = matches!(decltype, "DATETIME" | "DATE" | "TIMESTAMP");
            let is_bool = decltype == "BOOLEAN";
            match kind {
                ffi::SQLITE_INTEGER => {
                    let n = ffi::sqlite3_column_int64(self.ptr, idx);
                    if is_time {
                        Value::UnixTime(n)
                    } else if is_bool {
                        Value::Boolean(n != 0)
                    } else {
                        Value::Integer(n)
                    }
                }
                ffi::SQLITE_FLOAT => Value::Float(ffi::sqlite3_column_double(self.ptr, idx)),
                ffi::SQLITE_TEXT => {
                    let p = ffi::sqlite3_column_text(self.ptr, idx);
                    let n = ffi::sqlite3_column_bytes(self.ptr, idx) as usize;
                    let bytes = if p.is_null() {
                        &[][..]
                    } else {
                        std::slice::from_raw_parts(p, n)
                    };
                    // Text with an interior NUL cannot travel on the wire: cut it there.
                    let bytes = bytes.split(|b| *b == 0).next().unwrap_or_default();
                    let s = String::from_utf8_lossy(bytes).into_owned();
                    if is_time {
                        Value::Iso8601(s)
                    } else {
                        Value::Text(s)
                    }
                }
                ffi::SQLITE_BLOB => {
                    let p = ffi::sqlite3_column_blob(self.ptr, idx);
                    let n = ffi::sqlite3_column_bytes(self.ptr, idx) as usize;
                    let bytes = if p.is_null() {
                        Vec::new()
                    } else {
                        std::slice::from_raw_parts(p.cast::<u8>(), n).to_vec()
                    };
                    Value::Blob(bytes)
                }
                _ if is_time => Value::Iso8601(String::new()),
                _ if is_bool => Value::Boolean(false),
                _ => Value::Null,
            }
        }
    }
}

impl Drop for RawStmt {
    fn drop(&mut self) {
        // SAFETY: finalized exactly once, before the connection closes (owners drop
        // statements before connections).
        unsafe { ffi::sqlite3_finalize(self.ptr) };
    }
}

/// The connection's current error as an [`Error::Sql`].
fn last_error(db: *mut ffi::sqlite3, rc: c_int) -> Error {
    // SAFETY: `db` is a live connection handle.
    let (code, message) = unsafe {
        let ext = ffi::sqlite3_extended_errcode(db);
        let code = if ext & 0xff == rc & 0xff { ext } else { rc };
        (code, cstr(ffi::sqlite3_errmsg(db)))
    };
    Error::Sql {
        code: code as u64,
        message,
    }
}

unsafe fn cstr(p: *const std::os::raw::c_char) -> String {
    if p.is_null() {
        String::new()
    } else {
        // SAFETY: SQLite returns NUL-terminated strings.
        unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned()
    }
}
