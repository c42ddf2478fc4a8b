//! JSON laid out for editing, and packed again, as text.
//!
//! Both work on the characters, not on a parsed value: member order,
//! duplicate members (the attack lab's `jwt-duplicate-claim`) and number
//! spellings all survive, so packing what was laid out gives back the
//! segment's exact bytes, and an unedited token keeps its signature.

/// Deeper than this, nesting stays on one line: the attack lab's
/// `jwt-deeply-nested` claims are a thousand arrays deep.
const MAX_LAYOUT_DEPTH: usize = 8;

/// `text` with one member per line, indented two spaces per level.
pub fn pretty(text: &str) -> String {
    let mut out = String::with_capacity(text.len() * 2);
    let mut depth = 0usize;
    let packed = compact(text);
    let mut chars = packed.chars().peekable();
    let newline = |out: &mut String, depth: usize| {
        if depth <= MAX_LAYOUT_DEPTH {
            out.push('\n');
            out.push_str(&"  ".repeat(depth));
        }
    };
    while let Some(c) = chars.next() {
        match c {
            '"' => {
                out.push(c);
                copy_string_rest(&mut chars, &mut out);
            }
            '{' | '[' => {
                out.push(c);
                depth += 1;
                if !matches!(chars.peek(), Some('}' | ']')) {
                    newline(&mut out, depth);
                }
            }
            '}' | ']' => {
                depth = depth.saturating_sub(1);
                if !(out.ends_with('{') || out.ends_with('[')) {
                    newline(&mut out, depth);
                }
                out.push(c);
            }
            ',' => {
                out.push(c);
                newline(&mut out, depth);
            }
            ':' => out.push_str(": "),
            _ => out.push(c),
        }
    }
    out
}

/// `text` without the whitespace outside strings.
pub fn compact(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' => {
                out.push(c);
                copy_string_rest(&mut chars, &mut out);
            }
            ' ' | '\t' | '\n' | '\r' => {}
            _ => out.push(c),
        }
    }
    out
}

/// Copies the rest of a string literal, escapes included, up to and
/// including its closing quote (or to the end of unterminated text).
fn copy_string_rest(chars: &mut impl Iterator<Item = char>, out: &mut String) {
    let mut escaped = false;
    for c in chars {
        out.push(c);
        match c {
            _ if escaped => escaped = false,
            '\\' => escaped = true,
            '"' => return,
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn laying_out_and_packing_gives_back_the_same_bytes() {
        let claims = concat!(
            r#"{"sub":"alice","role":"member","role":"admin","aud":["a","b"],"x":{},"#,
            r#""n":1.50e3,"s":"a \"quoted\", {odd} [text]: here"}"#,
        );
        assert_eq!(compact(&pretty(claims)), claims);
        assert_eq!(
            pretty(claims),
            r#"{
  "sub": "alice",
  "role": "member",
  "role": "admin",
  "aud": [
    "a",
    "b"
  ],
  "x": {},
  "n": 1.50e3,
  "s": "a \"quoted\", {odd} [text]: here"
}"#
        );
    }

    #[test]
    fn deep_nesting_stays_on_one_line_past_the_layout_depth() {
        let deep = format!("{}{}", "[".repeat(1000), "]".repeat(1000));
        let laid_out = pretty(&deep);
        assert!(
            laid_out.len() < deep.len() + 200,
            "{} bytes",
            laid_out.len()
        );
        assert_eq!(compact(&laid_out), deep);
    }

    #[test]
    fn broken_json_is_laid_out_without_a_panic() {
        for text in ["{\"a\":\"unterminated", "}}]]", "{\"a\\", ""] {
            assert_eq!(compact(&pretty(text)), compact(text));
        }
    }
}
