//! libyaml (and so goyaml) lets the lines of a flow collection (`[...]`, `{...}`) sit at any
//! indentation; saphyr-parser, following YAML 1.2, wants them indented past the enclosing
//! block ("invalid indentation"). Charts rely on the lenient reading:
//!
//! ```yaml
//! command: [
//!   "/bin/sh",
//! ]
//! ```
//!
//! [`indent_flow_lines`] rewrites such lines with more leading spaces, which changes no value
//! (leading blanks of a flow line are not content) and no line number. Likewise libyaml takes
//! a tab after `:` or `-` as a separator; [`repair`] turns such a tab into a space.

/// A repaired text for a saphyr-parser error (`info` at char index `at`) that libyaml would
/// not raise; `None` when the error stands.
pub fn repair(src: &str, info: &str, at: usize) -> Option<String> {
    match info {
        "invalid indentation" | "invalid indentation in flow construct" => indent_flow_lines(src),
        "':' must be followed by a valid YAML whitespace" | "'-' must be followed by a valid YAML whitespace" => {
            // The tabs between the indicator and the mark become spaces.
            let mut chars: Vec<char> = src.chars().collect();
            let mut i = at.min(chars.len());
            let mut changed = false;
            while i > 0 && matches!(chars[i - 1], '\t' | ' ') {
                if chars[i - 1] == '\t' {
                    chars[i - 1] = ' ';
                    changed = true;
                }
                i -= 1;
            }
            changed.then(|| chars.into_iter().collect())
        }
        _ => None,
    }
}

/// Returns `src` with every line that starts inside a flow collection indented at least one
/// column past the line that opened the outermost collection; `None` if no line needed it.
pub fn indent_flow_lines(src: &str) -> Option<String> {
    let mut out = String::with_capacity(src.len() + 64);
    let mut changed = false;
    let mut lx = Lexer::default();
    for line in src.split_inclusive('\n') {
        let lead = line.len() - line.trim_start_matches(' ').len();
        let body = &line[lead..];
        if let Some(min) = lx.block_scalar_indent {
            let blank = body.trim().is_empty();
            if blank || lead > min {
                out.push_str(line);
                continue;
            }
            lx.block_scalar_indent = None;
        }
        if lx.depth > 0 && lx.quote.is_none() && !body.trim().is_empty() && lead <= lx.open_indent {
            for _ in lead..=lx.open_indent {
                out.push(' ');
            }
            changed = true;
        }
        out.push_str(line);
        lx.scan_line(line, lead);
    }
    changed.then_some(out)
}

#[derive(Default)]
struct Lexer {
    /// Open flow collections.
    depth: usize,
    /// Leading spaces of the line that opened the outermost flow collection.
    open_indent: usize,
    /// Inside a quoted scalar: its quote.
    quote: Option<char>,
    /// Inside a block scalar: lines indented more than this are its content.
    block_scalar_indent: Option<usize>,
}

impl Lexer {
    fn scan_line(&mut self, line: &str, lead: usize) {
        let chars: Vec<char> = line.chars().collect();
        let mut prev = ' ';
        let mut i = 0;
        let mut last_token_start = 0;
        while i < chars.len() {
            let c = chars[i];
            if let Some(q) = self.quote {
                if q == '"' && c == '\\' {
                    i += 2;
                    prev = 'x';
                    continue;
                }
                if c == q {
                    if q == '\'' && chars.get(i + 1) == Some(&'\'') {
                        i += 2;
                        continue;
                    }
                    self.quote = None;
                }
                prev = c;
                i += 1;
                continue;
            }
            let at_token_start = matches!(prev, ' ' | '\t' | '[' | '{' | ',' | ':' | '-' | '?');
            match c {
                '#' if prev == ' ' || prev == '\t' || i == 0 => break,
                '"' | '\'' if at_token_start => self.quote = Some(c),
                '[' | '{' if at_token_start || self.depth > 0 => {
                    if self.depth == 0 {
                        self.open_indent = lead;
                    }
                    self.depth += 1;
                }
                ']' | '}' if self.depth > 0 => self.depth -= 1,
                '|' | '>' if self.depth == 0 && at_token_start => {
                    // A block scalar header: the rest of the line is indicators or a comment.
                    let rest: String = chars[i + 1..].iter().collect();
                    let rest = rest.split(" #").next().unwrap_or("").trim();
                    if rest.chars().all(|c| matches!(c, '-' | '+' | '1'..='9')) {
                        self.block_scalar_indent = Some(lead);
                        return;
                    }
                }
                _ => {}
            }
            if c != ' ' && (prev == ' ' || i == 0) {
                last_token_start = i;
            }
            prev = c;
            i += 1;
        }
        let _ = last_token_start;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flow_lines_are_indented() {
        let src = "a:\n  command: [\n    \"x\",\n  ]\n";
        assert_eq!(indent_flow_lines(src).unwrap(), "a:\n  command: [\n    \"x\",\n   ]\n");
        assert_eq!(
            indent_flow_lines("a: [1,\n2]\nb: |\n  [\nc: 1\n").unwrap(),
            "a: [1,\n 2]\nb: |\n  [\nc: 1\n"
        );
        assert_eq!(indent_flow_lines("a: 'x [' \nb: [1]\n"), None);
    }
}
