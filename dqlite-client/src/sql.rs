//! A small SQL scanner: splits a text into statements the way SQLite does
//! (`sqlite3_complete`), skipping comments and quoted strings and keeping a
//! `CREATE TRIGGER ... BEGIN ...; ...; END` body in one statement, and reports each
//! statement's leading keyword. Used to keep transactions off pooled connections, to tell
//! reads (safe to repeat) from writes, and to spot multi-statement texts.

/// One token: what statement splitting needs to tell apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Token<'a> {
    Semi,
    Word(&'a str),
    Other,
}

fn is_word_byte(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_' || c == b'$' || c >= 0x80
}

/// The tokens of `sql`; whitespace and comments are dropped, a quoted string or identifier
/// is one `Other`, and so is any other byte.
fn tokens(sql: &str) -> Vec<Token<'_>> {
    let b = sql.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
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
                // A doubled quote inside a string reads as two adjacent strings: same tokens.
                let close = if c == b'[' { b']' } else { c };
                i += 1;
                while i < b.len() && b[i] != close {
                    i += 1;
                }
                i += 1;
                out.push(Token::Other);
            }
            b';' => {
                out.push(Token::Semi);
                i += 1;
            }
            c if c.is_ascii_whitespace() => i += 1,
            c if is_word_byte(c) && !c.is_ascii_digit() => {
                let start = i;
                while i < b.len() && is_word_byte(b[i]) {
                    i += 1;
                }
                // Word bytes are ASCII or whole UTF-8 sequences: both ends are char boundaries.
                out.push(Token::Word(&sql[start..i]));
            }
            _ => {
                out.push(Token::Other);
                i += 1;
            }
        }
    }
    out
}

/// Where statement splitting stands (the states of `sqlite3_complete`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Between statements.
    Start,
    /// Inside an ordinary statement: the next `;` ends it.
    Normal,
    /// After a leading EXPLAIN.
    Explain,
    /// After `[EXPLAIN] CREATE [TEMP]`.
    Create,
    /// Inside a trigger body: only `; END ;` ends the statement.
    Trigger,
    /// Inside a trigger body, right after a `;`.
    TriggerSemi,
    /// Inside a trigger body, right after `; END`.
    TriggerEnd,
}

/// The leading keyword (upper-cased) of every non-empty statement in `sql`; `""` for a
/// statement that does not start with a word. A text of only whitespace, comments and `;`
/// has none; `"INSERT ...;  -- done"` has one.
pub(crate) fn leading_keywords(sql: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut state = State::Start;
    for tok in tokens(sql) {
        let word = match tok {
            Token::Word(w) => w.to_ascii_uppercase(),
            _ => String::new(),
        };
        state = match (state, tok) {
            (State::Start, Token::Semi) => State::Start,
            (State::Start, _) => {
                let next = match word.as_str() {
                    "EXPLAIN" => State::Explain,
                    "CREATE" => State::Create,
                    _ => State::Normal,
                };
                out.push(word);
                next
            }
            (State::Normal | State::Explain | State::Create, Token::Semi) => State::Start,
            (State::Explain, _) if word == "CREATE" => State::Create,
            (State::Create, _) if word == "TEMP" || word == "TEMPORARY" => State::Create,
            (State::Create, _) if word == "TRIGGER" => State::Trigger,
            (State::Normal | State::Explain | State::Create, _) => State::Normal,
            (State::Trigger | State::TriggerSemi, Token::Semi) => State::TriggerSemi,
            (State::TriggerSemi, _) if word == "END" => State::TriggerEnd,
            (State::TriggerEnd, Token::Semi) => State::Start,
            (State::Trigger | State::TriggerSemi | State::TriggerEnd, _) => State::Trigger,
        };
    }
    out
}

/// True when every statement of the text is a SELECT, VALUES or EXPLAIN (and there is at
/// least one): nothing can be written, so the text may be sent again after any failure.
pub(crate) fn is_read_only(sql: &str) -> bool {
    let kws = leading_keywords(sql);
    !kws.is_empty()
        && kws
            .iter()
            .all(|k| matches!(k.as_str(), "SELECT" | "VALUES" | "EXPLAIN"))
}

/// The number of non-empty statements in the text.
pub(crate) fn statement_count(sql: &str) -> usize {
    leading_keywords(sql).len()
}

/// True when text run inside an open transaction may commit something: it holds COMMIT or
/// END, or a ROLLBACK followed by more statements (which then run in autocommit mode).
pub(crate) fn may_commit(sql: &str) -> bool {
    let kws = leading_keywords(sql);
    kws.iter()
        .enumerate()
        .any(|(i, k)| k == "COMMIT" || k == "END" || (k == "ROLLBACK" && i + 1 < kws.len()))
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
        assert_eq!(leading_keywords(sql), ["SELECT", "INSERT", "", "BEGIN"]);
        assert_eq!(leading_keywords("[a;b] x; `c;d`"), ["", ""]);
        assert_eq!(leading_keywords("SELECT 'it''s;'"), ["SELECT"]);
        assert_eq!(
            leading_keywords("/* unterminated; SELECT"),
            Vec::<String>::new()
        );
    }

    #[test]
    fn trailing_semicolons_and_comments_leave_one_statement() {
        for sql in [
            "INSERT INTO t VALUES(1)",
            "INSERT INTO t VALUES(1);",
            "INSERT INTO t VALUES(1) ; ;\n",
            "INSERT INTO t VALUES(1); -- done; really\n /* ; */ ",
            ";; INSERT INTO t VALUES('x;y');",
            "INSERT INTO t VALUES(1) -- ; SELECT 2",
        ] {
            assert_eq!(statement_count(sql), 1, "{sql}");
        }
        assert_eq!(statement_count(" ; -- nothing\n"), 0);
        assert_eq!(
            statement_count("INSERT INTO t VALUES(1);INSERT INTO t VALUES(2)"),
            2
        );
        assert_eq!(statement_count("INSERT INTO t VALUES(1); 'x'"), 2);
    }

    #[test]
    fn a_trigger_body_is_one_statement() {
        let trigger = "CREATE TRIGGER tr AFTER INSERT ON t BEGIN \
                       INSERT INTO u VALUES(new.a); UPDATE u SET n = n + 1; END";
        assert_eq!(leading_keywords(trigger), ["CREATE"]);
        assert_eq!(statement_count(&format!("{trigger};")), 1);
        assert_eq!(
            statement_count(&format!("{trigger}; INSERT INTO t VALUES(1)")),
            2
        );
        let temp = "explain create temp trigger tr after delete on t begin \
                    select case when 1 then 2 end; delete from u ; end ;";
        assert_eq!(leading_keywords(temp), ["EXPLAIN"]);
        // END must follow a `;` to close the body; `end` elsewhere does not.
        let body = "CREATE TRIGGER tr AFTER INSERT ON t BEGIN SELECT 1; END_x; END; SELECT 2";
        assert_eq!(leading_keywords(body), ["CREATE", "SELECT"]);
        // Not a trigger: CREATE TABLE ends at its `;`.
        assert_eq!(
            leading_keywords("CREATE TEMP TABLE x(a); INSERT INTO x VALUES(1)"),
            ["CREATE", "INSERT"]
        );
    }

    #[test]
    fn read_only_and_transactions() {
        assert!(is_read_only("  SELECT * FROM t"));
        assert!(is_read_only("SELECT 1; VALUES(2);"));
        assert!(!is_read_only(" ; "));
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
        // The trigger's END does not close the transaction.
        assert!(leaves_transaction_open(
            "BEGIN; CREATE TRIGGER tr AFTER INSERT ON t BEGIN DELETE FROM u; END"
        ));
    }

    #[test]
    fn what_may_commit_inside_a_transaction() {
        assert!(may_commit("COMMIT"));
        assert!(may_commit("end transaction"));
        assert!(may_commit("INSERT INTO t VALUES(1); COMMIT;"));
        assert!(may_commit("ROLLBACK; INSERT INTO t VALUES(1)"));
        assert!(!may_commit("ROLLBACK"));
        assert!(!may_commit("INSERT INTO t VALUES('COMMIT')"));
        assert!(!may_commit(
            "CREATE TRIGGER tr AFTER INSERT ON t BEGIN DELETE FROM u; END"
        ));
    }
}
