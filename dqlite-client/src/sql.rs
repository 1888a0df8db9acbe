//! A small SQL scanner: the leading keyword of each statement in a text, skipping comments
//! and quoted strings. Used to keep transactions off pooled connections and to tell reads
//! (safe to repeat) from writes.

/// The first keyword (upper-cased) of every non-empty statement in `sql`.
pub(crate) fn leading_keywords(sql: &str) -> Vec<String> {
    let b = sql.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    let mut at_start = true;
    while i < b.len() {
        let c = b[i];
        match c {
            b'-' if b.get(i + 1) == Some(&b'-') => {
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
            }
            b'/' if b.get(i + 1) == Some(&b'*') => {
                i += 2;
                while i < b.len() && !(b[i] == b'*' && b.get(i + 1) == Some(&b'/')) {
                    i += 1;
                }
                i += 2;
            }
            b'\'' | b'"' | b'`' | b'[' => {
                let close = if c == b'[' { b']' } else { c };
                i += 1;
                while i < b.len() && b[i] != close {
                    i += 1;
                }
                i += 1;
                at_start = false;
            }
            b';' => {
                at_start = true;
                i += 1;
            }
            c if c.is_ascii_whitespace() => i += 1,
            c if at_start && c.is_ascii_alphabetic() => {
                let start = i;
                while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_') {
                    i += 1;
                }
                out.push(sql[start..i].to_ascii_uppercase());
                at_start = false;
            }
            _ => {
                at_start = false;
                i += 1;
            }
        }
    }
    out
}

/// True when the text is one statement that cannot write (SELECT, VALUES or EXPLAIN), so
/// it may be sent again after a connection failure.
pub(crate) fn is_read_only(sql: &str) -> bool {
    let kws = leading_keywords(sql);
    kws.len() == 1 && matches!(kws[0].as_str(), "SELECT" | "VALUES" | "EXPLAIN")
}

/// True when the text opens a transaction it does not close: such text must run on a
/// [`crate::Transaction`], never on a pooled connection that others will reuse.
pub(crate) fn leaves_transaction_open(sql: &str) -> bool {
    let kws = leading_keywords(sql);
    let opens = kws.iter().any(|k| k == "BEGIN" || k == "SAVEPOINT");
    let closes = kws
        .last()
        .is_some_and(|k| matches!(k.as_str(), "COMMIT" | "END" | "ROLLBACK" | "RELEASE"));
    opens && !closes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keywords_skip_comments_and_strings() {
        let sql = "-- c\n select 1; /* x; */ INSERT INTO t VALUES('a;b'); \"q;\"; begin";
        assert_eq!(leading_keywords(sql), ["SELECT", "INSERT", "BEGIN"]);
    }

    #[test]
    fn read_only_and_transactions() {
        assert!(is_read_only("  SELECT * FROM t"));
        assert!(!is_read_only("INSERT INTO t VALUES(1)"));
        assert!(!is_read_only("SELECT 1; DELETE FROM t"));
        assert!(!is_read_only(
            "WITH x AS (SELECT 1) INSERT INTO t SELECT * FROM x"
        ));
        assert!(leaves_transaction_open("BEGIN"));
        assert!(leaves_transaction_open("begin; insert into t values(1)"));
        assert!(!leaves_transaction_open(
            "BEGIN; INSERT INTO t VALUES(1); COMMIT"
        ));
        assert!(!leaves_transaction_open("INSERT INTO t VALUES('BEGIN')"));
    }
}
