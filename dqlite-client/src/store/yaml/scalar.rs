//! Scalar values of the node store's YAML: plain, 'single-quoted' or "double-quoted".

use super::{error, Parsed};

/// Checks that only whitespace and an optional comment follow a value.
pub(super) fn trailing(line: usize, rest: &str) -> Parsed<()> {
    let rest = rest.trim_start();
    if rest.is_empty() || rest.starts_with('#') {
        Ok(())
    } else {
        error(line, format!("unexpected `{rest}` after the value"))
    }
}

/// Reads the value of `key` from `text` (what follows `Key:` and its spaces).
pub(super) fn scalar(line: usize, key: &str, text: &str) -> Parsed<String> {
    match text.chars().next() {
        None | Some('#') => error(line, format!("{key} has no value")),
        Some('"') => double_quoted(line, &text[1..]),
        Some('\'') => {
            let mut out = String::new();
            let mut rest = &text[1..];
            loop {
                let Some(end) = rest.find('\'') else {
                    return error(line, "unterminated single-quoted value");
                };
                out.push_str(&rest[..end]);
                rest = &rest[end + 1..];
                let Some(after) = rest.strip_prefix('\'') else {
                    return trailing(line, rest).map(|()| out);
                };
                out.push('\'');
                rest = after;
            }
        }
        Some(c) if "[]{}&*!|>%@`,?".contains(c) => error(
            line,
            format!("unsupported YAML value `{text}` (quote it if it is a string)"),
        ),
        Some(_) => {
            let end = [" #", "\t#"]
                .iter()
                .filter_map(|p| text.find(p))
                .min()
                .unwrap_or(text.len());
            let value = text[..end].trim_end();
            if value.contains(": ") || value.ends_with(':') {
                return error(line, format!("unexpected `:` in value `{value}`"));
            }
            Ok(value.to_owned())
        }
    }
}

/// Reads a double-quoted value after its opening quote.
fn double_quoted(line: usize, text: &str) -> Parsed<String> {
    let mut out = String::new();
    let mut chars = text.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => return trailing(line, &text[i + 1..]).map(|()| out),
            '\\' => {
                let Some((_, e)) = chars.next() else { break };
                let digits = match e {
                    'x' => 2,
                    'u' => 4,
                    'U' => 8,
                    _ => 0,
                };
                if digits == 0 {
                    out.push(match e {
                        '0' => '\0',
                        'a' => '\x07',
                        'b' => '\x08',
                        't' | '\t' => '\t',
                        'n' => '\n',
                        'v' => '\x0b',
                        'f' => '\x0c',
                        'r' => '\r',
                        'e' => '\x1b',
                        ' ' | '"' | '/' | '\\' => e,
                        _ => return error(line, format!("unknown escape `\\{e}`")),
                    });
                    continue;
                }
                let hex: String = chars.by_ref().take(digits).map(|(_, h)| h).collect();
                match u32::from_str_radix(&hex, 16).ok().and_then(char::from_u32) {
                    Some(ch) if hex.len() == digits => out.push(ch),
                    _ => return error(line, format!("bad escape `\\{e}{hex}`")),
                }
            }
            c => out.push(c),
        }
    }
    error(line, "unterminated double-quoted value")
}
