//! Statement classification: the leading keyword (transaction control needs special
//! handling on the writer) and what the authorizer saw while a statement was prepared
//! (DDL to replicate as SQL, persistent PRAGMAs, denied operations).

use std::sync::{Arc, Mutex};

use rusqlite::hooks::{AuthAction, AuthContext, Authorization};
use rusqlite::Connection;

/// The leading keyword of a statement, as far as routing cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Keyword {
    /// `BEGIN`.
    Begin,
    /// `COMMIT` or `END`.
    Commit,
    /// `ROLLBACK` (not `ROLLBACK TO`).
    Rollback,
    /// `ROLLBACK TO savepoint`.
    RollbackTo,
    /// `SAVEPOINT name`.
    Savepoint,
    /// `RELEASE [SAVEPOINT] name`.
    Release,
    /// `VACUUM` (cannot run inside a transaction).
    Vacuum,
    /// `SELECT`, `VALUES`, `WITH`, `EXPLAIN`: probably read-only.
    Read,
    /// Anything else.
    Other,
}

/// Classifies the first statement of `sql` by its leading keyword(s).
pub fn keyword(sql: &str) -> Keyword {
    let mut words = Words { rest: sql };
    let Some(first) = words.next() else {
        return Keyword::Other;
    };
    match first.to_ascii_uppercase().as_str() {
        "BEGIN" => Keyword::Begin,
        "COMMIT" | "END" => Keyword::Commit,
        "ROLLBACK" => {
            let next = words.next().map(|w| w.to_ascii_uppercase());
            match next.as_deref() {
                Some("TO") => Keyword::RollbackTo,
                Some("TRANSACTION") => match words.next().map(|w| w.to_ascii_uppercase()) {
                    Some(w) if w == "TO" => Keyword::RollbackTo,
                    _ => Keyword::Rollback,
                },
                _ => Keyword::Rollback,
            }
        }
        "SAVEPOINT" => Keyword::Savepoint,
        "RELEASE" => Keyword::Release,
        "VACUUM" => Keyword::Vacuum,
        "SELECT" | "VALUES" | "WITH" | "EXPLAIN" => Keyword::Read,
        _ => Keyword::Other,
    }
}

/// The savepoint name of `SAVEPOINT x` / `RELEASE [SAVEPOINT] x` / `ROLLBACK TO x`, lower-cased.
pub fn savepoint_name(sql: &str) -> Option<String> {
    let words: Vec<&str> = Words { rest: sql }.take(4).collect();
    let name = words.iter().skip(1).find(|w| {
        let u = w.to_ascii_uppercase();
        !matches!(u.as_str(), "SAVEPOINT" | "TO" | "TRANSACTION")
    })?;
    Some(
        name.trim_matches(|c| c == '"' || c == '\'' || c == '`' || c == '[' || c == ']')
            .to_ascii_lowercase(),
    )
}

/// Splits SQL into words, skipping whitespace, comments and punctuation.
struct Words<'a> {
    rest: &'a str,
}

impl<'a> Iterator for Words<'a> {
    type Item = &'a str;

    fn next(&mut self) -> Option<&'a str> {
        loop {
            let s = self.rest.trim_start();
            if let Some(r) = s.strip_prefix("--") {
                self.rest = r.find('\n').map_or("", |i| &r[i..]);
            } else if let Some(r) = s.strip_prefix("/*") {
                self.rest = r.find("*/").map_or("", |i| &r[i + 2..]);
            } else {
                self.rest = s;
                break;
            }
        }
        let end = self
            .rest
            .find(|c: char| !(c.is_alphanumeric() || "_\"'`[]$".contains(c)))
            .unwrap_or(self.rest.len());
        if end == 0 {
            return None;
        }
        let (word, rest) = self.rest.split_at(end);
        self.rest = rest;
        Some(word)
    }
}

/// What the authorizer saw while the last statement was prepared.
#[derive(Debug, Default, Clone)]
pub struct AuthInfo {
    /// The statement changes the schema (CREATE/DROP/ALTER ...): replicate it as SQL.
    pub ddl: bool,
    /// The table created by `CREATE TABLE`, if any (for CREATE TABLE ... AS SELECT).
    pub created_table: Option<String>,
    /// The statement reads tables (with `created_table`: a CREATE TABLE AS SELECT).
    pub selects: bool,
    /// The statement changes what sessions cannot record and must be replicated as SQL even
    /// when the schema does not change: a persistent PRAGMA, or ANALYZE (sessions do not
    /// record `sqlite_stat1`).
    pub replay: bool,
    /// Tables the statement inserts into or updates.
    pub written: Vec<String>,
    /// The statement itself is an INSERT, UPDATE or DELETE (it sets `changes()`).
    pub dml: bool,
}

/// Shared slot the authorizer fills in; reset before each prepare.
pub type AuthSlot = Arc<Mutex<AuthInfo>>;

/// PRAGMAs whose value lives in the database file and must reach every replica.
const PERSISTENT_PRAGMAS: &[&str] = &["user_version", "application_id", "auto_vacuum"];

/// PRAGMAs refused outright, and ones refused only when set (dqlite HEAD's list plus the
/// connection settings the shared writer connection depends on).
const DENIED_PRAGMAS: &[&str] = &[
    "wal_checkpoint",
    "busy_timeout",
    "read_uncommitted",
    "locking_mode",
];
const DENIED_PRAGMA_SETTERS: &[&str] = &[
    "journal_mode",
    "page_size",
    "wal_autocheckpoint",
    "synchronous",
    "foreign_keys",
    "recursive_triggers",
    "writable_schema",
];

/// Installs the authorizer that records [`AuthInfo`] and denies what dqlite HEAD denies
/// (ATTACH of files, VACUUM INTO, the PRAGMAs above).
pub fn install_authorizer(conn: &mut Connection, slot: AuthSlot) -> rusqlite::Result<()> {
    conn.authorizer(Some(move |ctx: AuthContext<'_>| authorize(&slot, ctx)))
}

fn authorize(slot: &AuthSlot, ctx: AuthContext<'_>) -> Authorization {
    let Ok(mut info) = slot.lock() else {
        return Authorization::Deny;
    };
    let temp = ctx.database_name == Some("temp");
    if ctx.accessor.is_none()
        && matches!(
            ctx.action,
            AuthAction::Insert { .. } | AuthAction::Update { .. } | AuthAction::Delete { .. }
        )
    {
        info.dml = true;
    }
    match ctx.action {
        AuthAction::Attach { filename } if !filename.is_empty() && filename != ":memory:" => {
            return Authorization::Deny;
        }
        AuthAction::Pragma {
            pragma_name,
            pragma_value,
        } => {
            let name = pragma_name.to_ascii_lowercase();
            if DENIED_PRAGMAS.contains(&name.as_str()) {
                return Authorization::Deny;
            }
            if pragma_value.is_some() {
                if DENIED_PRAGMA_SETTERS.contains(&name.as_str()) {
                    return Authorization::Deny;
                }
                if PERSISTENT_PRAGMAS.contains(&name.as_str()) {
                    info.replay = true;
                }
            }
        }
        AuthAction::CreateTable { table_name } => {
            info.ddl = true;
            info.created_table = Some(table_name.to_owned());
        }
        AuthAction::Analyze { .. } if !temp => {
            info.ddl = true;
            info.replay = true;
        }
        // A DELETE without WHERE would use SQLite's truncate optimisation, which the session
        // does not see when the statement was prepared before the session existed (cached
        // statements): its rows would be deleted on the leader only. Answering IGNORE to this
        // check (user tables of `main` only; internal deletes from `sqlite_schema` must stay
        // Allow, or DROP would silently do nothing) turns the optimisation off, as SQLite
        // documents, and the rows are deleted one by one.
        AuthAction::Delete { table_name }
            if ctx.database_name == Some("main") && !table_name.starts_with("sqlite_") =>
        {
            return Authorization::Ignore;
        }
        AuthAction::CreateIndex { .. }
        | AuthAction::CreateTrigger { .. }
        | AuthAction::CreateView { .. }
        | AuthAction::DropIndex { .. }
        | AuthAction::DropTable { .. }
        | AuthAction::DropTrigger { .. }
        | AuthAction::DropView { .. }
        | AuthAction::AlterTable { .. }
        | AuthAction::Reindex { .. }
        | AuthAction::CreateVtable { .. }
        | AuthAction::DropVtable { .. }
            if !temp =>
        {
            info.ddl = true;
        }
        AuthAction::Select => info.selects = true,
        AuthAction::Insert { table_name } | AuthAction::Update { table_name, .. }
            if !info.written.iter().any(|t| t == table_name) =>
        {
            info.written.push(table_name.to_owned());
        }
        _ => {}
    }
    Authorization::Allow
}

/// True for `VACUUM ... INTO`, which HEAD refuses with 23.
pub fn is_vacuum_into(sql: &str) -> bool {
    Words { rest: sql }
        .take(4)
        .any(|w| w.eq_ignore_ascii_case("INTO"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keywords() {
        assert_eq!(keyword("  -- c\n begin immediate"), Keyword::Begin);
        assert_eq!(keyword("END TRANSACTION"), Keyword::Commit);
        assert_eq!(keyword("rollback to sp"), Keyword::RollbackTo);
        assert_eq!(keyword("ROLLBACK TRANSACTION TO x"), Keyword::RollbackTo);
        assert_eq!(keyword("ROLLBACK"), Keyword::Rollback);
        assert_eq!(keyword("/* x */ select 1"), Keyword::Read);
        assert_eq!(keyword("INSERT INTO t VALUES(1)"), Keyword::Other);
        assert_eq!(
            savepoint_name("RELEASE SAVEPOINT \"Sp1\""),
            Some("sp1".into())
        );
        assert_eq!(savepoint_name("savepoint a"), Some("a".into()));
        assert!(is_vacuum_into("VACUUM INTO 'x'"));
        assert!(!is_vacuum_into("VACUUM"));
    }
}
