//! The goyaml emitters Helm's `toYaml` (goyaml.v2 over sigs.k8s.io/yaml's JSON form) and
//! `toYamlPretty` (yaml.v3, indent 2) use: a port of libyaml's block emitter for the events a
//! Go map/slice/scalar tree produces (block mappings and sequences, `{}`/`[]` when empty,
//! scalars in plain, single-quoted, double-quoted or literal style).

use std::cmp::Ordering;

use ballast_gotemplate::Value;

use super::resolve::{Scalar, resolve};

/// Which goyaml flavour is emitted.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Flavor {
    /// goyaml.v2: plain and quoted strings folded past column 80, sequences under a key not
    /// indented, tabs force double quotes.
    V2,
    /// yaml.v3 with `SetIndent(2)`: no folding, sequences indented, tabs allowed in literals.
    V3,
}

/// How the encoder asks for a string to be written.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Style {
    Plain,
    Double,
    Literal,
}

/// A node as the encoder hands it to the emitter.
enum Node {
    Scalar(String, Style),
    Seq(Vec<Node>),
    Map(Vec<(Node, Node)>),
}

/// sigs.k8s.io/yaml `Marshal`: JSON (`Object`s via their JSON form, `[]byte` as base64), read
/// back by goyaml.v2 (integers stay integers, other numbers floats) and emitted by goyaml.v2.
/// The output ends with a newline. Fails as `json.Marshal` fails (NaN, ±Inf).
pub fn to_yaml(v: &Value) -> Result<String, String> {
    let node = v2_node(v, 0)?;
    Ok(emit(&node, Flavor::V2))
}

/// Builds the v2 node of a value after its JSON round trip.
fn v2_node(v: &Value, depth: usize) -> Result<Node, String> {
    if depth > 10_000 {
        return Err("json: unsupported value: encountered a cycle".into());
    }
    Ok(match v {
        Value::Nil => plain("null"),
        Value::Bool(b) => plain(if *b { "true" } else { "false" }),
        Value::Int(i) | Value::Int64(i) => Node::Scalar(i.to_string(), Style::Plain),
        Value::Uint(u) => Node::Scalar(u.to_string(), Style::Plain),
        Value::Float(f) => {
            let text = crate::json::format_float(*f)?;
            Node::Scalar(number_from_json(&text), Style::Plain)
        }
        Value::String(s) => string_node(&fold_nel(s), Flavor::V2),
        Value::Bytes(b) => {
            use base64::Engine as _;
            string_node(&base64::engine::general_purpose::STANDARD.encode(b), Flavor::V2)
        }
        Value::List(l) => Node::Seq(l.iter().map(|i| v2_node(i, depth + 1)).collect::<Result<_, _>>()?),
        Value::Map(m) => {
            let m = m
                .try_borrow()
                .map_err(|_| "json: unsupported value: encountered a cycle".to_string())?;
            let mut out = Vec::with_capacity(m.len());
            for (k, item) in sorted_entries(&m) {
                out.push((string_node(&fold_nel(k), Flavor::V2), v2_node(item, depth + 1)?));
            }
            Node::Map(out)
        }
        Value::Object(o) => v2_node(&o.to_data(), depth + 1)?,
    })
}

/// yaml.v3's `Encoder` with `SetIndent(2)` over the Go value (no JSON step: floats print in
/// `%g` form, `1e+06`). The output ends with a newline.
pub fn to_yaml_pretty(v: &Value) -> Result<String, String> {
    let node = v3_node(v, 0)?;
    Ok(emit(&node, Flavor::V3))
}

fn v3_node(v: &Value, depth: usize) -> Result<Node, String> {
    if depth > 10_000 {
        return Err("yaml: exceeded max depth".into());
    }
    Ok(match v {
        Value::Nil => plain("null"),
        Value::Bool(b) => plain(if *b { "true" } else { "false" }),
        Value::Int(i) | Value::Int64(i) => Node::Scalar(i.to_string(), Style::Plain),
        Value::Uint(u) => Node::Scalar(u.to_string(), Style::Plain),
        Value::Float(f) => Node::Scalar(go_yaml_float(*f), Style::Plain),
        Value::String(s) => string_node(s, Flavor::V3),
        Value::Bytes(b) => Node::Seq(b.iter().map(|x| Node::Scalar(x.to_string(), Style::Plain)).collect()),
        Value::List(l) => Node::Seq(l.iter().map(|i| v3_node(i, depth + 1)).collect::<Result<_, _>>()?),
        Value::Map(m) => {
            let m = m.try_borrow().map_err(|_| "yaml: exceeded max depth".to_string())?;
            let mut out = Vec::with_capacity(m.len());
            for (k, item) in sorted_entries(&m) {
                out.push((string_node(k, Flavor::V3), v3_node(item, depth + 1)?));
            }
            Node::Map(out)
        }
        Value::Object(o) => v3_node(&o.to_data(), depth + 1)?,
    })
}

fn plain(s: &str) -> Node {
    Node::Scalar(s.to_string(), Style::Plain)
}

/// goyaml's float: `strconv.FormatFloat(f, 'g', -1, 64)`, `.inf`/`-.inf`/`.nan`.
fn go_yaml_float(f: f64) -> String {
    if f.is_nan() {
        ".nan".into()
    } else if f.is_infinite() {
        if f > 0.0 { ".inf".into() } else { "-.inf".into() }
    } else {
        format_g_shortest(&format!("{f:e}"))
    }
}

/// A JSON number's text as goyaml.v2 reads and re-prints it: integers (int64 or uint64) as
/// they are, anything else as a float64 in `%g` form (`1e+20`, `1.2345675e+06`).
fn number_from_json(text: &str) -> String {
    match resolve(None, text) {
        Ok(Scalar::Int(i)) => i.to_string(),
        Ok(Scalar::Uint(u)) => u.to_string(),
        Ok(Scalar::Float(f)) => go_yaml_float(f),
        _ => text.to_string(),
    }
}

/// A raw U+0085 survives json.Marshal unescaped and goyaml.v2 then reads it as a line break
/// inside a double-quoted scalar: folded to a space (or n-1 newlines for n in a row), with
/// the blanks around it dropped.
fn fold_nel(s: &str) -> std::borrow::Cow<'_, str> {
    if !s.contains('\u{85}') {
        return std::borrow::Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len());
    let chars: Vec<char> = s.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        if chars[i] == '\u{85}' {
            while out.ends_with([' ', '\t']) {
                out.pop();
            }
            let mut n = 0;
            while i < chars.len() && matches!(chars[i], '\u{85}' | ' ' | '\t') {
                if chars[i] == '\u{85}' {
                    n += 1;
                }
                i += 1;
            }
            if n == 1 {
                out.push(' ');
            } else {
                out.extend(std::iter::repeat_n('\n', n - 1));
            }
        } else {
            out.push(chars[i]);
            i += 1;
        }
    }
    std::borrow::Cow::Owned(out)
}

/// The encoder's choice of style for a string: literal if it has a newline, plain if it
/// would read back as the same string, else double-quoted.
fn string_node(s: &str, flavor: Flavor) -> Node {
    let style = if s.contains('\n') {
        Style::Literal
    } else if plain_reads_back(s, flavor) {
        Style::Plain
    } else {
        Style::Double
    };
    Node::Scalar(s.to_string(), style)
}

fn plain_reads_back(s: &str, flavor: Flavor) -> bool {
    if is_base60_float(s) {
        return false;
    }
    match flavor {
        Flavor::V2 => matches!(resolve(None, s), Ok(Scalar::Str)) && !super::resolve::is_timestamp(s),
        Flavor::V3 => v3_plain_is_string(s),
    }
}

/// yaml.v3's resolver (YAML 1.2 core plus timestamps), and its quoting of the YAML 1.1
/// booleans (`yes`, `on`, `n`...).
fn v3_plain_is_string(s: &str) -> bool {
    if matches!(
        s,
        "y" | "Y" | "yes" | "Yes" | "YES" | "on" | "On" | "ON" | "n" | "N" | "no" | "No" | "NO" | "off" | "Off" | "OFF"
    ) {
        return false;
    }
    // Apart from the 1.1 booleans, v3 resolves the plain forms a string can take as v2 does.
    matches!(resolve(None, s), Ok(Scalar::Str)) && !super::resolve::is_timestamp(s)
}

/// `^[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?$`
fn is_base60_float(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = 0;
    if matches!(b.first(), Some(b'+' | b'-')) {
        i = 1;
    }
    if !matches!(b.get(i), Some(b'0'..=b'9')) {
        return false;
    }
    i += 1;
    while matches!(b.get(i), Some(b'0'..=b'9' | b'_')) {
        i += 1;
    }
    let mut groups = 0;
    while b.get(i) == Some(&b':') {
        i += 1;
        let start = i;
        while i < b.len() && b[i].is_ascii_digit() && i - start < 2 {
            i += 1;
        }
        let g = &b[start..i];
        let ok = match g.len() {
            1 => true,
            2 => g[0] <= b'5',
            _ => false,
        };
        if !ok {
            return false;
        }
        groups += 1;
    }
    if groups == 0 {
        return false;
    }
    if b.get(i) == Some(&b'.') {
        i += 1;
        while matches!(b.get(i), Some(b'0'..=b'9' | b'_')) {
            i += 1;
        }
    }
    i == b.len()
}

/// A map's entries in goyaml's key order, each key decoded to chars once.
fn sorted_entries(m: &ballast_gotemplate::value::Map) -> Vec<(&String, &Value)> {
    let mut keyed: Vec<(Vec<char>, &String, &Value)> = m.iter().map(|(k, v)| (k.chars().collect(), k, v)).collect();
    keyed.sort_by(|a, b| key_order(&a.0, &b.0));
    keyed.into_iter().map(|(_, k, v)| (k, v)).collect()
}

/// goyaml's map key order: numbers compared as numbers inside strings, non-letters before
/// letters, letters by code point.
fn key_order(ar: &[char], br: &[char]) -> Ordering {
    for i in 0..ar.len().min(br.len()) {
        if ar[i] == br[i] {
            continue;
        }
        let al = ar[i].is_alphabetic();
        let bl = br[i].is_alphabetic();
        if al && bl {
            return ar[i].cmp(&br[i]);
        }
        if al || bl {
            return if bl { Ordering::Less } else { Ordering::Greater };
        }
        let (mut an, mut bn): (i64, i64) = (0, 0);
        if ar[i] == '0' || br[i] == '0' {
            let mut j = i;
            while j > 0 && ar[j - 1].is_ascii_digit() {
                j -= 1;
                if ar[j] != '0' {
                    an = 1;
                    bn = 1;
                    break;
                }
            }
        }
        let mut ai = i;
        while ai < ar.len() && ar[ai].is_ascii_digit() {
            an = an.wrapping_mul(10).wrapping_add(i64::from(ar[ai] as u8 - b'0'));
            ai += 1;
        }
        let mut bi = i;
        while bi < br.len() && br[bi].is_ascii_digit() {
            bn = bn.wrapping_mul(10).wrapping_add(i64::from(br[bi] as u8 - b'0'));
            bi += 1;
        }
        if an != bn {
            return an.cmp(&bn);
        }
        if ai != bi {
            return ai.cmp(&bi);
        }
        return ar[i].cmp(&br[i]);
    }
    ar.len().cmp(&br.len())
}

/// What libyaml's `analyze_scalar` learns about a scalar.
struct Analysis {
    multiline: bool,
    flow_plain_allowed: bool,
    block_plain_allowed: bool,
    single_quoted_allowed: bool,
    block_allowed: bool,
}

fn is_printable(c: char) -> bool {
    matches!(c as u32, 0x0A | 0x20..=0x7E | 0xA0..=0xD7FF | 0xE000..=0xFFFD) && c != '\u{FEFF}'
}

fn is_break(c: char) -> bool {
    matches!(c, '\r' | '\n' | '\u{85}' | '\u{2028}' | '\u{2029}')
}

fn is_blank_or_end(c: Option<char>) -> bool {
    match c {
        None => true,
        Some(c) => c == ' ' || c == '\t' || is_break(c) || c == '\0',
    }
}

fn analyze(value: &str, flavor: Flavor) -> Analysis {
    if value.is_empty() {
        return Analysis {
            multiline: false,
            flow_plain_allowed: false,
            block_plain_allowed: true,
            single_quoted_allowed: true,
            block_allowed: false,
        };
    }
    let mut block_indicators = false;
    let mut flow_indicators = false;
    let mut line_breaks = false;
    let mut special = false;
    let mut tabs = false;
    let (mut leading_space, mut leading_break, mut trailing_space, mut trailing_break) = (false, false, false, false);
    let (mut break_space, mut space_break) = (false, false);
    let (mut previous_space, mut previous_break) = (false, false);
    if value.starts_with("---") || value.starts_with("...") {
        block_indicators = true;
        flow_indicators = true;
    }
    let mut preceded_by_whitespace = true;
    let chars: Vec<char> = value.chars().collect();
    let n = chars.len();
    for i in 0..n {
        let c = chars[i];
        let followed_by_whitespace = is_blank_or_end(chars.get(i + 1).copied());
        if i == 0 {
            match c {
                '#' | ',' | '[' | ']' | '{' | '}' | '&' | '*' | '!' | '|' | '>' | '\'' | '"' | '%' | '@' | '`' => {
                    flow_indicators = true;
                    block_indicators = true;
                }
                '?' | ':' => {
                    flow_indicators = true;
                    if followed_by_whitespace {
                        block_indicators = true;
                    }
                }
                '-' if followed_by_whitespace => {
                    flow_indicators = true;
                    block_indicators = true;
                }
                _ => {}
            }
        } else {
            match c {
                ',' | '?' | '[' | ']' | '{' | '}' => flow_indicators = true,
                ':' => {
                    flow_indicators = true;
                    if followed_by_whitespace {
                        block_indicators = true;
                    }
                }
                '#' if preceded_by_whitespace => {
                    flow_indicators = true;
                    block_indicators = true;
                }
                _ => {}
            }
        }
        if flavor == Flavor::V3 && c == '\t' {
            tabs = true;
        } else if !is_printable(c) {
            special = true;
        }
        if c == ' ' {
            if i == 0 {
                leading_space = true;
            }
            if i + 1 == n {
                trailing_space = true;
            }
            if previous_break {
                break_space = true;
            }
            previous_space = true;
            previous_break = false;
        } else if is_break(c) {
            line_breaks = true;
            if i == 0 {
                leading_break = true;
            }
            if i + 1 == n {
                trailing_break = true;
            }
            if previous_space {
                space_break = true;
            }
            previous_space = false;
            previous_break = true;
        } else {
            previous_space = false;
            previous_break = false;
        }
        preceded_by_whitespace = is_blank_or_end(Some(c));
    }
    let mut a = Analysis {
        multiline: line_breaks,
        flow_plain_allowed: true,
        block_plain_allowed: true,
        single_quoted_allowed: true,
        block_allowed: true,
    };
    if leading_space || leading_break || trailing_space || trailing_break {
        a.flow_plain_allowed = false;
        a.block_plain_allowed = false;
    }
    if trailing_space {
        a.block_allowed = false;
    }
    if break_space {
        a.flow_plain_allowed = false;
        a.block_plain_allowed = false;
        a.single_quoted_allowed = false;
    }
    if space_break || tabs || special {
        a.flow_plain_allowed = false;
        a.block_plain_allowed = false;
        a.single_quoted_allowed = false;
    }
    if space_break || special {
        a.block_allowed = false;
    }
    if line_breaks {
        a.flow_plain_allowed = false;
        a.block_plain_allowed = false;
    }
    if flow_indicators {
        a.flow_plain_allowed = false;
    }
    if block_indicators {
        a.block_plain_allowed = false;
    }
    a
}

/// The final style libyaml writes a scalar in.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Written {
    Plain,
    Single,
    Double,
    Literal,
}

struct Emitter {
    flavor: Flavor,
    out: String,
    column: usize,
    indent: i64,
    indents: Vec<i64>,
    whitespace: bool,
    indention: bool,
    best_width: usize,
    /// The state after the node being emitted is a block sequence item (v3's indent rule).
    in_sequence_item: bool,
}

/// Emits one document holding `node`, as goyaml's `Marshal` does (no `---`, newline at end).
fn emit(node: &Node, flavor: Flavor) -> String {
    let mut e = Emitter {
        flavor,
        out: String::new(),
        column: 0,
        indent: -1,
        indents: Vec::new(),
        whitespace: true,
        indention: true,
        best_width: if flavor == Flavor::V2 { 80 } else { usize::MAX },
        in_sequence_item: false,
    };
    e.node(
        node,
        Ctx {
            mapping: false,
            simple_key: false,
            root: true,
        },
    );
    e.write_indent();
    e.out
}

#[derive(Clone, Copy)]
struct Ctx {
    mapping: bool,
    simple_key: bool,
    root: bool,
}

impl Emitter {
    fn put(&mut self, c: char) {
        self.out.push(c);
        self.column += 1;
    }
    fn put_break(&mut self) {
        self.out.push('\n');
        self.column = 0;
    }
    fn write_str(&mut self, s: &str) {
        for c in s.chars() {
            self.put(c);
        }
    }

    fn increase_indent(&mut self, flow: bool, indentless: bool) {
        self.indents.push(self.indent);
        if self.indent < 0 {
            self.indent = if flow { 2 } else { 0 };
        } else if !indentless {
            self.indent += 2;
        }
    }
    fn pop_indent(&mut self) {
        self.indent = self.indents.pop().unwrap_or(-1);
    }

    fn write_indent(&mut self) {
        let indent = self.indent.max(0) as usize;
        if !self.indention || self.column > indent || (self.column == indent && !self.whitespace) {
            self.put_break();
        }
        while self.column < indent {
            self.put(' ');
        }
        self.whitespace = true;
        self.indention = true;
    }

    fn write_indicator(&mut self, ind: &str, need_whitespace: bool, is_whitespace: bool, is_indention: bool) {
        if need_whitespace && !self.whitespace {
            self.put(' ');
        }
        self.write_str(ind);
        self.whitespace = is_whitespace;
        self.indention = self.indention && is_indention;
    }

    fn node(&mut self, node: &Node, ctx: Ctx) {
        let _ = ctx.root;
        match node {
            Node::Scalar(s, style) => self.scalar(s, *style, ctx),
            Node::Seq(items) => {
                if items.is_empty() {
                    self.write_indicator("[", true, true, false);
                    self.write_indicator("]", false, false, false);
                    return;
                }
                let indentless = self.flavor == Flavor::V2 && ctx.mapping && !self.indention;
                self.increase_indent(false, indentless);
                for item in items {
                    self.write_indent();
                    self.write_indicator("-", true, false, true);
                    let saved = self.in_sequence_item;
                    self.in_sequence_item = true;
                    self.node(
                        item,
                        Ctx {
                            mapping: false,
                            simple_key: false,
                            root: false,
                        },
                    );
                    self.in_sequence_item = saved;
                }
                self.pop_indent();
            }
            Node::Map(entries) => {
                if entries.is_empty() {
                    self.write_indicator("{", true, true, false);
                    self.write_indicator("}", false, false, false);
                    return;
                }
                self.increase_indent(false, false);
                for (k, v) in entries {
                    self.write_indent();
                    let simple = match k {
                        Node::Scalar(s, _) => s.len() <= 128 && !analyze(s, self.flavor).multiline,
                        _ => false,
                    };
                    self.in_sequence_item = false;
                    if simple {
                        self.node(
                            k,
                            Ctx {
                                mapping: true,
                                simple_key: true,
                                root: false,
                            },
                        );
                        self.write_indicator(":", false, false, false);
                    } else {
                        self.write_indicator("?", true, false, true);
                        self.node(
                            k,
                            Ctx {
                                mapping: true,
                                simple_key: false,
                                root: false,
                            },
                        );
                        self.write_indent();
                        self.write_indicator(":", true, false, true);
                    }
                    self.in_sequence_item = false;
                    self.node(
                        v,
                        Ctx {
                            mapping: true,
                            simple_key: false,
                            root: false,
                        },
                    );
                }
                self.pop_indent();
            }
        }
    }

    fn select_style(&self, a: &Analysis, style: Style, ctx: Ctx, empty: bool) -> Written {
        let mut w = match style {
            Style::Plain => Written::Plain,
            Style::Double => Written::Double,
            Style::Literal => Written::Literal,
        };
        if ctx.simple_key && a.multiline {
            w = Written::Double;
        }
        if w == Written::Plain && (!a.block_plain_allowed || (empty && ctx.simple_key)) {
            w = Written::Single;
        }
        if w == Written::Single && !a.single_quoted_allowed {
            w = Written::Double;
        }
        if w == Written::Literal && (!a.block_allowed || ctx.simple_key) {
            w = Written::Double;
        }
        w
    }

    fn scalar(&mut self, s: &str, style: Style, ctx: Ctx) {
        let a = analyze(s, self.flavor);
        let written = self.select_style(&a, style, ctx, s.is_empty());
        // v3 aligns a scalar's continuation lines differently inside sequence items only
        // through the block indent; scalars take parent + 2.
        self.increase_indent(true, false);
        let allow_breaks = !ctx.simple_key;
        match written {
            Written::Plain => self.write_plain(s, allow_breaks),
            Written::Single => self.write_single(s, allow_breaks),
            Written::Double => self.write_double(s, allow_breaks),
            Written::Literal => self.write_literal(s),
        }
        self.pop_indent();
    }

    fn write_plain(&mut self, s: &str, allow_breaks: bool) {
        if !self.whitespace {
            self.put(' ');
        }
        let chars: Vec<char> = s.chars().collect();
        let mut spaces = false;
        for i in 0..chars.len() {
            let c = chars[i];
            if c == ' ' {
                if allow_breaks && !spaces && self.column > self.best_width && chars.get(i + 1) != Some(&' ') {
                    self.write_indent();
                } else {
                    self.put(c);
                }
                spaces = true;
            } else {
                self.put(c);
                self.indention = false;
                spaces = false;
            }
        }
        self.whitespace = false;
        self.indention = false;
    }

    fn write_single(&mut self, s: &str, allow_breaks: bool) {
        self.write_indicator("'", true, false, false);
        let chars: Vec<char> = s.chars().collect();
        let n = chars.len();
        let mut spaces = false;
        let mut breaks = false;
        for i in 0..n {
            let c = chars[i];
            if c == ' ' {
                if allow_breaks
                    && !spaces
                    && self.column > self.best_width
                    && i > 0
                    && i + 1 < n
                    && chars.get(i + 1) != Some(&' ')
                {
                    self.write_indent();
                } else {
                    self.put(c);
                }
                spaces = true;
            } else if is_break(c) {
                if !breaks && c == '\n' {
                    self.put_break();
                }
                if c == '\n' {
                    self.put_break();
                } else {
                    self.out.push(c);
                    self.column = 0;
                }
                self.indention = true;
                breaks = true;
            } else {
                if breaks {
                    self.write_indent();
                }
                if c == '\'' {
                    self.put('\'');
                }
                self.put(c);
                self.indention = false;
                spaces = false;
                breaks = false;
            }
        }
        self.write_indicator("'", false, false, false);
        self.whitespace = false;
        self.indention = false;
    }

    fn write_double(&mut self, s: &str, allow_breaks: bool) {
        self.write_indicator("\"", true, false, false);
        let chars: Vec<char> = s.chars().collect();
        let n = chars.len();
        let mut spaces = false;
        for i in 0..n {
            let c = chars[i];
            if !is_printable(c) || c == '\u{FEFF}' || is_break(c) || c == '"' || c == '\\' {
                self.put('\\');
                let esc = match c {
                    '\0' => Some('0'),
                    '\u{7}' => Some('a'),
                    '\u{8}' => Some('b'),
                    '\t' => Some('t'),
                    '\n' => Some('n'),
                    '\u{b}' => Some('v'),
                    '\u{c}' => Some('f'),
                    '\r' => Some('r'),
                    '\u{1b}' => Some('e'),
                    '"' => Some('"'),
                    '\\' => Some('\\'),
                    '\u{85}' => Some('N'),
                    '\u{a0}' => Some('_'),
                    '\u{2028}' => Some('L'),
                    '\u{2029}' => Some('P'),
                    _ => None,
                };
                match esc {
                    Some(e) => self.put(e),
                    None => {
                        let v = c as u32;
                        let text = if v <= 0xFF {
                            format!("x{v:02X}")
                        } else if v <= 0xFFFF {
                            format!("u{v:04X}")
                        } else {
                            format!("U{v:08X}")
                        };
                        self.write_str(&text);
                    }
                }
                spaces = false;
            } else if c == ' ' {
                if allow_breaks && !spaces && self.column > self.best_width && i > 0 && i + 1 < n {
                    self.write_indent();
                    if chars.get(i + 1) == Some(&' ') {
                        self.put('\\');
                    }
                } else {
                    self.put(c);
                }
                spaces = true;
            } else {
                self.put(c);
                spaces = false;
            }
        }
        self.write_indicator("\"", false, false, false);
        self.whitespace = false;
        self.indention = false;
    }

    fn write_literal(&mut self, s: &str) {
        self.write_indicator("|", true, false, false);
        // Block scalar hints: an indentation indicator when the text starts with a space or
        // a break, a chomping indicator from its trailing breaks.
        let first = s.chars().next();
        if first.is_some_and(|c| c == ' ' || is_break(c)) {
            self.write_indicator("2", false, false, false);
        }
        let mut rev = s.chars().rev();
        let last = rev.next();
        let chomp = match last {
            None => Some("-"),
            Some(c) if !is_break(c) => Some("-"),
            Some(_) => match rev.next() {
                None => Some("+"),
                Some(c) if is_break(c) => Some("+"),
                Some(_) => None,
            },
        };
        if let Some(ch) = chomp {
            self.write_indicator(ch, false, false, false);
        }
        self.put_break();
        self.indention = true;
        self.whitespace = true;
        let mut breaks = true;
        for c in s.chars() {
            if is_break(c) {
                if c == '\n' {
                    self.put_break();
                } else {
                    self.out.push(c);
                    self.column = 0;
                }
                self.indention = true;
                breaks = true;
            } else {
                if breaks {
                    self.write_indent();
                }
                self.put(c);
                self.indention = false;
                breaks = false;
            }
        }
    }
}

/// Go's shortest `%g` layout from Rust's `{:e}` text (`"1.5e6"` → `"1.5e+06"`, `"1e-1"` →
/// `"0.1"`): exponent form when the exponent is below -4 or at least 6.
pub(crate) fn format_g_shortest(sci: &str) -> String {
    let (mantissa, exp) = sci.split_once('e').unwrap_or((sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let (neg, mantissa) = match mantissa.strip_prefix('-') {
        Some(m) => (true, m),
        None => (false, mantissa),
    };
    let digits: String = mantissa.chars().filter(|c| *c != '.').collect();
    let mut out = String::new();
    if neg {
        out.push('-');
    }
    if digits == "0" {
        out.push('0');
        return out;
    }
    if !(-4..6).contains(&exp) {
        out.push_str(&digits[..1]);
        if digits.len() > 1 {
            out.push('.');
            out.push_str(&digits[1..]);
        }
        out.push('e');
        out.push(if exp < 0 { '-' } else { '+' });
        let a = exp.unsigned_abs();
        if a < 10 {
            out.push('0');
        }
        out.push_str(&a.to_string());
    } else {
        plain_digits(&mut out, &digits, exp);
    }
    out
}

/// Writes the digits `d1d2...` with the decimal point after position `exp + 1`, without an
/// exponent.
pub(crate) fn plain_digits(out: &mut String, digits: &str, exp: i32) {
    if exp < 0 {
        out.push_str("0.");
        for _ in 0..(-exp - 1) {
            out.push('0');
        }
        out.push_str(digits);
    } else {
        let point = exp as usize + 1;
        if digits.len() <= point {
            out.push_str(digits);
            for _ in digits.len()..point {
                out.push('0');
            }
        } else {
            out.push_str(&digits[..point]);
            out.push('.');
            out.push_str(&digits[point..]);
        }
    }
}
