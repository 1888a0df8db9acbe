//! Safe wrappers over the session extension: record a changeset on the leader, apply it on
//! every node.
//!
//! Guardrails from docs/server-behaviour.md §4.2 live here: tables without a PRIMARY KEY are
//! recorded by rowid (`SQLITE_SESSION_OBJCONFIG_ROWID`, set before anything is attached), and
//! changesets are applied with triggers off and foreign-key actions off, so the effects the
//! leader's triggers and cascades produced (already in the changeset) are not produced twice.

use std::os::raw::{c_char, c_int, c_void};
use std::ptr;

use rusqlite::Connection;

use super::ffi;
use crate::error::{Error, Result};

/// A session recording every change made through one connection to its `main` database.
pub struct Session {
    ptr: *mut ffi::sqlite3_session,
}

// The session is only ever used on the thread that owns its connection; it moves with it.
unsafe impl Send for Session {}

impl Session {
    /// Starts recording on `conn` (all tables, including ones created later).
    pub fn new(conn: &Connection) -> Result<Session> {
        let mut ptr = ptr::null_mut();
        // SAFETY: `conn` is a live connection; the session is deleted before it (see Drop
        // order in the writer) and used only on the connection's thread.
        unsafe {
            let db = conn.handle();
            check(
                conn,
                ffi::sqlite3session_create(db, c"main".as_ptr(), &mut ptr),
            )?;
            let session = Session { ptr };
            let mut on: c_int = 1;
            check(
                conn,
                ffi::sqlite3session_object_config(
                    ptr,
                    ffi::SQLITE_SESSION_OBJCONFIG_ROWID,
                    (&mut on as *mut c_int).cast::<c_void>(),
                ),
            )?;
            check(conn, ffi::sqlite3session_attach(ptr, ptr::null()))?;
            Ok(session)
        }
    }

    /// True when nothing has been recorded.
    pub fn is_empty(&self) -> bool {
        // SAFETY: `self.ptr` is a live session.
        unsafe { ffi::sqlite3session_isempty(self.ptr) != 0 }
    }

    /// The changeset recorded so far (empty when nothing changed).
    pub fn changeset(&self, conn: &Connection) -> Result<Vec<u8>> {
        if self.is_empty() {
            return Ok(Vec::new());
        }
        let mut n: c_int = 0;
        let mut out: *mut c_void = ptr::null_mut();
        // SAFETY: the buffer returned by SQLite is copied and then freed with sqlite3_free.
        unsafe {
            check(
                conn,
                ffi::sqlite3session_changeset(self.ptr, &mut n, &mut out),
            )?;
            if out.is_null() || n <= 0 {
                return Ok(Vec::new());
            }
            let bytes = std::slice::from_raw_parts(out.cast::<u8>(), n as usize).to_vec();
            rusqlite::ffi::sqlite3_free(out);
            Ok(bytes)
        }
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        // SAFETY: created by sqlite3session_create and deleted exactly once.
        unsafe { ffi::sqlite3session_delete(self.ptr) }
    }
}

/// Applies a changeset recorded on the leader to `conn`, inside the caller's transaction.
///
/// Triggers are switched off for the duration (their effects are in the changeset) and
/// foreign-key actions are not run.
///
/// The changeset carries the leader's old image of every row it updates or deletes, and
/// every row it inserts was absent there, so on a replica holding the same data it applies
/// without a single conflict. Conflicts on `sqlite_sequence` are expected (the apply itself
/// updates it) and take the leader's row. Any other conflict means this replica's data
/// differs from the leader's: the apply stops and fails with [`Error::Diverged`], naming the
/// table, which stops the node (it is never papered over by taking the leader's row).
pub fn apply_changeset(conn: &Connection, changeset: &[u8]) -> Result<()> {
    if changeset.is_empty() {
        return Ok(());
    }
    let len = c_int::try_from(changeset.len())
        .map_err(|_| Error::internal("changeset larger than 2 GiB"))?;
    let _triggers = TriggersOff::new(conn)?;
    let mut diverged: Option<String> = None;
    // SAFETY: the changeset buffer outlives the call; SQLite only reads it despite the
    // `void *` parameter. The context pointer is `diverged`, alive for the whole call and
    // touched only by `on_conflict` on this thread.
    let rc = unsafe {
        ffi::sqlite3changeset_apply_v2(
            conn.handle(),
            len,
            changeset.as_ptr() as *mut c_void,
            None,
            Some(on_conflict),
            (&mut diverged as *mut Option<String>).cast::<c_void>(),
            ptr::null_mut(),
            ptr::null_mut(),
            ffi::SQLITE_CHANGESETAPPLY_FKNOACTION,
        )
    };
    if let Some(what) = diverged {
        return Err(Error::Diverged(what));
    }
    check(conn, rc)
}

unsafe extern "C" fn on_conflict(
    ctx: *mut c_void,
    kind: c_int,
    iter: *mut ffi::sqlite3_changeset_iter,
) -> c_int {
    let mut table: *const c_char = ptr::null();
    let (mut n, mut op, mut indirect) = (0, 0, 0);
    // SAFETY: `iter` is the live iterator SQLite passed in.
    unsafe { ffi::sqlite3changeset_op(iter, &mut table, &mut n, &mut op, &mut indirect) };
    let name = if table.is_null() {
        String::new()
    } else {
        // SAFETY: SQLite hands out a NUL-terminated table name.
        unsafe { std::ffi::CStr::from_ptr(table) }
            .to_string_lossy()
            .into_owned()
    };
    if name != "sqlite_sequence" && kind != ffi::SQLITE_CHANGESET_FOREIGN_KEY {
        let what = match kind {
            ffi::SQLITE_CHANGESET_DATA => "a row differs from the leader's old image",
            ffi::SQLITE_CHANGESET_NOTFOUND => "a row the leader changed is missing",
            ffi::SQLITE_CHANGESET_CONFLICT => "a row the leader inserted already exists",
            _ => "a constraint fails that held on the leader",
        };
        // SAFETY: `ctx` is the `Option<String>` that `apply_changeset` passed in.
        let slot = unsafe { &mut *ctx.cast::<Option<String>>() };
        slot.get_or_insert_with(|| format!("table {name}: {what}"));
        return ffi::SQLITE_CHANGESET_ABORT;
    }
    match kind {
        ffi::SQLITE_CHANGESET_DATA | ffi::SQLITE_CHANGESET_CONFLICT => {
            ffi::SQLITE_CHANGESET_REPLACE
        }
        _ => ffi::SQLITE_CHANGESET_OMIT,
    }
}

/// Disables triggers on a connection until dropped.
struct TriggersOff<'c> {
    conn: &'c Connection,
}

impl<'c> TriggersOff<'c> {
    fn new(conn: &'c Connection) -> Result<Self> {
        set_triggers(conn, false)?;
        Ok(TriggersOff { conn })
    }
}

impl Drop for TriggersOff<'_> {
    fn drop(&mut self) {
        if let Err(e) = set_triggers(self.conn, true) {
            tracing::error!(error = %e, "cannot re-enable triggers");
        }
    }
}

fn set_triggers(conn: &Connection, on: bool) -> Result<()> {
    let mut out: c_int = 0;
    // SAFETY: SQLITE_DBCONFIG_ENABLE_TRIGGER takes (int, int*).
    let rc = unsafe {
        ffi::sqlite3_db_config(
            conn.handle(),
            ffi::SQLITE_DBCONFIG_ENABLE_TRIGGER,
            c_int::from(on),
            &mut out as *mut c_int,
        )
    };
    check(conn, rc)
}

fn check(conn: &Connection, rc: c_int) -> Result<()> {
    if rc == rusqlite::ffi::SQLITE_OK {
        return Ok(());
    }
    // SAFETY: reading the connection's last error message.
    let message = unsafe {
        let msg = rusqlite::ffi::sqlite3_errmsg(conn.handle());
        if msg.is_null() {
            String::new()
        } else {
            std::ffi::CStr::from_ptr(msg).to_string_lossy().into_owned()
        }
    };
    Err(Error::Sql {
        code: rc as u64,
        message: if message.is_empty() {
            rusqlite::ffi::code_to_str(rc).to_owned()
        } else {
            message
        },
    })
}
