//! The subset of YAML used by go-dqlite's `cluster.yaml`, read and written by hand.
//!
//! Accepted: an empty document or `[]`; or a block list whose items are maps with the keys
//! `ID`, `Address` and `Role` in any order, at any consistent indentation. Values may be
//! plain, 'single-quoted' or "double-quoted"; `#` comments and blank lines are ignored, as
//! is a leading `---`. `ID` is a decimal `u64` (0 when missing), `Role` is 0, 1 or 2 (voter
//! when missing) and `Address` is required.

use dqlite_proto::{NodeInfo, Role};

use scalar::{scalar, trailing};

mod scalar;

/// What is wrong with the text, and where (1-based line number).
#[derive(Debug)]
pub(super) struct ParseError {
    pub line: usize,
    pub message: String,
}

type Parsed<T> = Result<T, ParseError>;

fn error<T>(line: usize, message: impl Into<String>) -> Parsed<T> {
    Err(ParseError {
        line,
        message: message.into(),
    })
}

/// One list item being read.
struct Entry {
    line: usize,
    key_indent: Option<usize>,
    id: Option<(u64, usize)>,
    address: Option<(String, usize)>,
    role: Option<(Role, usize)>,
}

impl Entry {
    fn new(line: usize) -> Entry {
        Entry {
            line,
            key_indent: None,
            id: None,
            address: None,
            role: None,
        }
    }

    /// Reads `Key: value` from line `line`.
    fn read_pair(&mut self, line: usize, text: &str) -> Parsed<()> {
        let Some((key, rest)) = text.split_once(':') else {
            return error(line, format!("expected `Key: value`, found `{text}`"));
        };
        let key = key.trim_end();
        let plain_key = !key.is_empty() && key.bytes().all(|b| b.is_ascii_alphanumeric());
        if !plain_key || !(rest.is_empty() || rest.starts_with([' ', '\t'])) {
            return error(line, format!("expected `Key: value`, found `{text}`"));
        }
        let value = scalar(line, key, rest.trim_start())?;
        match key {
            "ID" => set(&mut self.id, parse_id(line, &value)?, line, key),
            "Address" if value.is_empty() => error(line, "Address is empty"),
            "Address" => set(&mut self.address, value, line, key),
            "Role" => set(&mut self.role, parse_role(line, &value)?, line, key),
            _ => error(
                line,
                format!("unknown key `{key}` (the keys are ID, Address and Role; case matters)"),
            ),
        }
    }

    fn finish(self) -> Parsed<NodeInfo> {
        let Some((address, _)) = self.address else {
            return error(self.line, "node has no Address");
        };
        Ok(NodeInfo {
            id: self.id.map_or(0, |(id, _)| id),
            address,
            role: Some(self.role.map_or(Role::Voter, |(role, _)| role)),
        })
    }
}

fn set<T>(slot: &mut Option<(T, usize)>, value: T, line: usize, key: &str) -> Parsed<()> {
    if let Some((_, first)) = slot {
        return error(line, format!("duplicate key {key} (first on line {first})"));
    }
    *slot = Some((value, line));
    Ok(())
}

fn parse_id(line: usize, value: &str) -> Parsed<u64> {
    let canonical = value == "0" || (!value.starts_with('0') && !value.is_empty());
    match value.parse::<u64>() {
        Ok(id) if canonical && value.bytes().all(|b| b.is_ascii_digit()) => Ok(id),
        _ => error(
            line,
            format!("ID must be an unsigned 64-bit decimal integer, found `{value}`"),
        ),
    }
}

fn parse_role(line: usize, value: &str) -> Parsed<Role> {
    match value {
        "0" => Ok(Role::Voter),
        "1" => Ok(Role::StandBy),
        "2" => Ok(Role::Spare),
        _ => error(
            line,
            format!("Role must be 0 (voter), 1 (stand-by) or 2 (spare), found `{value}`"),
        ),
    }
}

/// Parses a whole store file.
pub(super) fn parse(text: &str) -> Parsed<Vec<NodeInfo>> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut nodes = Vec::new();
    let mut item_indent: Option<usize> = None;
    let mut entry: Option<Entry> = None;
    let mut started = false;
    let mut empty_list = false;
    for (index, raw) in text.lines().enumerate() {
        let line = index + 1;
        let content = raw.trim_start_matches(' ');
        let indent = raw.len() - content.len();
        let trimmed = content.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        if content.starts_with('\t') {
            return error(line, "tabs cannot indent YAML; use spaces");
        }
        if !started && (trimmed == "---" || trimmed.starts_with("--- #")) {
            started = true;
            continue;
        }
        started = true;
        if empty_list {
            return error(line, format!("unexpected `{trimmed}` after `[]`"));
        }
        if content.starts_with('[') {
            if !nodes.is_empty() || entry.is_some() || !content.starts_with("[]") {
                return error(line, "only an empty flow list `[]` is supported");
            }
            trailing(line, &content[2..])?;
            empty_list = true;
            continue;
        }
        if content == "-" || content.starts_with("- ") || content.starts_with("-\t") {
            match item_indent {
                None => item_indent = Some(indent),
                Some(expected) if expected != indent => {
                    return error(
                        line,
                        format!("list item indented by {indent} spaces, expected {expected}"),
                    );
                }
                Some(_) => {}
            }
            if let Some(done) = entry.take() {
                nodes.push(done.finish()?);
            }
            let mut item = Entry::new(line);
            let rest = content[1..].trim_start_matches(' ');
            if !rest.is_empty() && !rest.starts_with('#') {
                if rest.starts_with('\t') {
                    return error(line, "tabs cannot indent YAML; use spaces");
                }
                item.key_indent = Some(raw.len() - rest.len());
                item.read_pair(line, rest)?;
            }
            entry = Some(item);
            continue;
        }
        let Some(item) = entry.as_mut() else {
            return error(
                line,
                format!("expected a list of nodes (`- Address: ...`) or `[]`, found `{trimmed}`"),
            );
        };
        if item_indent.is_some_and(|items| indent <= items) {
            return error(
                line,
                format!("expected `- ` starting a list item, found `{trimmed}`"),
            );
        }
        match item.key_indent {
            None => item.key_indent = Some(indent),
            Some(expected) if expected != indent => {
                return error(
                    line,
                    format!("key indented by {indent} spaces, expected {expected}"),
                );
            }
            Some(_) => {}
        }
        item.read_pair(line, content)?;
    }
    if let Some(done) = entry {
        nodes.push(done.finish()?);
    }
    Ok(nodes)
}

/// Writes `nodes` with go-dqlite 1.11.5's key order; an empty list is `[]`.
pub(super) fn write(nodes: &[NodeInfo]) -> String {
    if nodes.is_empty() {
        return "[]\n".to_owned();
    }
    let mut out = String::new();
    for node in nodes {
        let role = node.role.unwrap_or(Role::Voter).code();
        out.push_str(&format!(
            "- Address: {}\n  ID: {}\n  Role: {role}\n",
            quote(&node.address),
            node.id
        ));
    }
    out
}

/// `address` as is when it is a plain `host:port` with a DNS name or IPv4 host, which no
/// YAML reader mistakes for another type; otherwise double-quoted with escapes.
fn quote(address: &str) -> String {
    let plain = address.rsplit_once(':').is_some_and(|(host, port)| {
        let host_ok = host.starts_with(|c: char| c.is_ascii_alphanumeric())
            && host
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c))
            && host.contains(|c: char| c == '.' || c.is_ascii_alphabetic());
        host_ok && !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit())
    });
    if plain {
        return address.to_owned();
    }
    let mut out = String::from("\"");
    for c in address.chars() {
        match c {
            '"' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() || matches!(c, '\u{2028}' | '\u{2029}' | '\u{feff}') => {
                out.push_str(&format!("\\u{:04X}", u32::from(c)));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn write_then_parse() {
        let nodes = vec![NodeInfo {
            id: 1,
            address: "[::1]:1".into(),
            role: Some(Role::Spare),
        }];
        let text = write(&nodes);
        assert_eq!(text, "- Address: \"[::1]:1\"\n  ID: 1\n  Role: 2\n");
        assert_eq!(parse(&text).unwrap(), nodes);
        assert_eq!(parse(&write(&[])).unwrap(), vec![]);
    }

    #[test]
    fn duplicate_names_first_line() {
        let err = parse("- ID: 1\n  Address: a:1\n  ID: 2\n").unwrap_err();
        assert_eq!(err.line, 3);
        assert_eq!(err.message, "duplicate key ID (first on line 1)");
    }
}
