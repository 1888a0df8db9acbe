//! Hand-written declarations of the SQLite session extension.
//!
//! rusqlite's `session` feature generates these with bindgen, which needs libclang. The
//! workspace instead compiles the bundled SQLite with `SQLITE_ENABLE_SESSION` and
//! `SQLITE_ENABLE_PREUPDATE_HOOK` (see `.cargo/config.toml`) and declares the handful of
//! functions used here against `rusqlite::ffi` types. Signatures follow `sqlite3.h` 3.54.
#![allow(non_camel_case_types, missing_docs, dead_code)]

use std::os::raw::{c_char, c_int, c_void};

use rusqlite::ffi::sqlite3;

/// Opaque session object.
#[repr(C)]
pub struct sqlite3_session {
    _private: [u8; 0],
}

/// Opaque changeset iterator.
#[repr(C)]
pub struct sqlite3_changeset_iter {
    _private: [u8; 0],
}

pub const SQLITE_SESSION_OBJCONFIG_ROWID: c_int = 2;
pub const SQLITE_CHANGESETAPPLY_NOSAVEPOINT: c_int = 0x0001;
pub const SQLITE_CHANGESETAPPLY_FKNOACTION: c_int = 0x0008;
pub const SQLITE_CHANGESET_DATA: c_int = 1;
pub const SQLITE_CHANGESET_NOTFOUND: c_int = 2;
pub const SQLITE_CHANGESET_CONFLICT: c_int = 3;
pub const SQLITE_CHANGESET_CONSTRAINT: c_int = 4;
pub const SQLITE_CHANGESET_FOREIGN_KEY: c_int = 5;
pub const SQLITE_CHANGESET_OMIT: c_int = 0;
pub const SQLITE_CHANGESET_REPLACE: c_int = 1;
pub const SQLITE_CHANGESET_ABORT: c_int = 2;
pub const SQLITE_DBCONFIG_ENABLE_TRIGGER: c_int = 1003;

pub type FilterFn = unsafe extern "C" fn(ctx: *mut c_void, table: *const c_char) -> c_int;
pub type ConflictFn =
    unsafe extern "C" fn(ctx: *mut c_void, kind: c_int, iter: *mut sqlite3_changeset_iter) -> c_int;

extern "C" {
    pub fn sqlite3session_create(
        db: *mut sqlite3,
        db_name: *const c_char,
        out: *mut *mut sqlite3_session,
    ) -> c_int;
    pub fn sqlite3session_delete(session: *mut sqlite3_session);
    pub fn sqlite3session_object_config(
        session: *mut sqlite3_session,
        op: c_int,
        arg: *mut c_void,
    ) -> c_int;
    pub fn sqlite3session_attach(session: *mut sqlite3_session, table: *const c_char) -> c_int;
    pub fn sqlite3session_table_filter(
        session: *mut sqlite3_session,
        filter: Option<FilterFn>,
        ctx: *mut c_void,
    );
    pub fn sqlite3session_isempty(session: *mut sqlite3_session) -> c_int;
    pub fn sqlite3session_changeset(
        session: *mut sqlite3_session,
        n: *mut c_int,
        out: *mut *mut c_void,
    ) -> c_int;
    pub fn sqlite3changeset_apply_v2(
        db: *mut sqlite3,
        n: c_int,
        changeset: *mut c_void,
        filter: Option<FilterFn>,
        conflict: Option<ConflictFn>,
        ctx: *mut c_void,
        rebase: *mut *mut c_void,
        n_rebase: *mut c_int,
        flags: c_int,
    ) -> c_int;
    pub fn sqlite3changeset_op(
        iter: *mut sqlite3_changeset_iter,
        table: *mut *const c_char,
        n_col: *mut c_int,
        op: *mut c_int,
        indirect: *mut c_int,
    ) -> c_int;
    pub fn sqlite3_db_config(db: *mut sqlite3, op: c_int, ...) -> c_int;
}
