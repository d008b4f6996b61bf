//! The executor: walks a parsed tree with data, following Go's `text/template/exec.go`
//! (pipelines, fields, variables, control structures, `template` calls, Go's error texts).
//!
//! A value read out of a map or list is Go's `interface{}`: a field of such a nil value fails
//! ("nil pointer evaluating interface {}.x") where a field of an untyped nil gives nil. The
//! executor tracks that distinction as a `boxed` flag beside values it reads from collections.

use std::rc::Rc;
use std::time::Instant;

use crate::builtins::{self, Builtin};
use crate::func::{Arity, Env};
use crate::parse::{Arg, AtKind, Branch, Callee, Cmd, GoString, Node, Pipe, TemplateCall, Tree, TreeMap};
use crate::value::Value;
use crate::{Error, ErrorInfo, ErrorKind, MissingKey, Templates};

/// Non-local exits of a walk.
pub(crate) enum Flow {
    Break,
    Continue,
    Err(Box<Error>),
}

impl From<Box<Error>> for Flow {
    fn from(e: Box<Error>) -> Flow {
        Flow::Err(e)
    }
}

type R<T> = Result<T, Box<Error>>;

struct Var {
    name: Rc<str>,
    value: Value,
    boxed: bool,
}

/// One execution of a template set.
pub(crate) struct Exec<'a> {
    set: &'a Templates,
    overlays: Vec<TreeMap>,
    tree: Rc<Tree>,
    vars: Vec<Var>,
    out: String,
    depth: usize,
    iterations: u64,
    start: Instant,
    /// Wall-clock budget of this execution (the set's, unless given).
    budget: std::time::Duration,
    ticks: u32,
    dot_boxed: bool,
    stack_base: usize,
    /// The node evaluation last reached (Go's `state.node`), for errors raised after a
    /// pipeline ran: its position and kind.
    at: (usize, AtKind),
    /// The name `$`, shared by every template run's first variable.
    dollar: Rc<str>,
}

/// A function call after its arguments were evaluated.
enum Prepared {
    /// A builtin ran (or `and`/`or` short-circuited): its value.
    Done(Value),
    /// A registered function to call with these arguments (and their `boxed` flags), and
    /// whether it is pure.
    Call(Rc<crate::func::FuncImpl>, Vec<Value>, Vec<bool>, bool),
    /// [`Prepared::Call`] whose argument at this index is an empty `interface{}` given for a
    /// map parameter (see `Func::map_params`): the call fails.
    NilMap(Rc<crate::func::FuncImpl>, Vec<Value>, Vec<bool>, bool, usize),
}

/// Puts in `argv` (the values of a call's arguments `args[1..]`, then any piped value) the
/// integer for each number constant spelt as a float (`.`, `e` or `p` in its text) whose
/// value is a whole number within `int64`, as Go's parser also makes it an integer; true if
/// any was put.
fn integral_constants(args: &[Arg], argv: &mut [Value]) -> bool {
    const TWO_POW_63: f64 = 9_223_372_036_854_775_808.0;
    let mut put = false;
    for (node, v) in args.iter().skip(1).zip(argv.iter_mut()) {
        if let (Arg::Number(_, n), Value::Float(f)) = (node, &*v)
            && n.text.contains(['.', 'e', 'E', 'p', 'P'])
            && f.fract() == 0.0
            && (-TWO_POW_63..TWO_POW_63).contains(f)
        {
            *v = Value::Int(*f as i64);
            put = true;
        }
    }
    put
}

/// A node an error is reported at: its position and Go's text of it.
struct At<'n>(usize, &'n dyn GoString);

/// A node's text already rendered.
struct Text(String);

impl GoString for Text {
    fn write_go(&self, out: &mut String) {
        out.push_str(&self.0);
    }
}

const TEMPLATE_DEPTH: usize = 100_000;

impl<'a> Exec<'a> {
    pub(crate) fn new(set: &'a Templates, tree: Rc<Tree>) -> Exec<'a> {
        Exec {
            set,
            overlays: Vec::new(),
            tree,
            vars: Vec::new(),
            out: String::new(),
            depth: 0,
            iterations: 0,
            start: Instant::now(),
            budget: set.limits.time_budget,
            ticks: 0,
            dot_boxed: false,
            stack_base: crate::stack_addr(),
            at: (0, AtKind::Pipe),
            dollar: Rc::from("$"),
        }
    }

    /// The variables a template run starts with: `$`, holding `value`.
    fn root_vars(&self, value: Value) -> Vec<Var> {
        vec![Var {
            name: self.dollar.clone(),
            value,
            boxed: false,
        }]
    }

    /// Marks the node evaluation reached.
    #[inline]
    fn mark(&mut self, pos: usize, kind: AtKind) {
        self.at = (pos, kind);
    }

    /// An error at the node evaluation last reached.
    #[inline(never)]
    fn error_here(&self, msg: String) -> Box<Error> {
        let (pos, kind) = self.at;
        let text = crate::parse::find_context(&self.tree.root, pos, kind).unwrap_or_default();
        self.error_at(At(pos, &Text(text)), msg, None)
    }

    /// An error if nesting went past the depth or stack budget.
    #[inline(never)]
    fn check_depth(&self) -> Option<String> {
        let max = self.set.limits.max_depth.min(TEMPLATE_DEPTH);
        if self.depth >= max {
            return Some(format!("exceeded maximum template depth ({max})"));
        }
        let used = self.stack_base.abs_diff(crate::stack_addr());
        if used > self.set.limits.max_stack {
            return Some(format!(
                "exceeded maximum template depth: {} nested calls used the stack budget of {} bytes",
                self.depth, self.set.limits.max_stack
            ));
        }
        None
    }

    /// Gives this execution `budget` of wall-clock time instead of the set's.
    pub(crate) fn within(mut self, budget: std::time::Duration) -> Exec<'a> {
        self.budget = budget;
        self
    }

    /// Runs the current tree with `data` as `.` and `$`, returning the output.
    pub(crate) fn run(&mut self, data: &Value) -> Result<String, Error> {
        self.vars = self.root_vars(data.clone());
        let tree = self.tree.clone();
        match self.walk_list(data, &tree.root) {
            Ok(()) => Ok(std::mem::take(&mut self.out)),
            Err(Flow::Err(e)) => Err(*e),
            Err(_) => Ok(std::mem::take(&mut self.out)),
        }
    }

    fn lookup(&self, name: &str) -> Option<Rc<Tree>> {
        for o in self.overlays.iter().rev() {
            if let Some(t) = o.get(name) {
                return Some(t.clone());
            }
        }
        self.set.trees.get(name).cloned()
    }

    // ---- errors ----

    #[inline(never)]
    fn error_at(&self, at: At<'_>, msg: String, function: Option<&str>) -> Box<Error> {
        let src = &self.tree.source;
        let (line, col) = src.line_col(at.0);
        let full = at.1.go_string();
        let context = full;
        let message = format!(
            "template: {}:{}:{}: executing {} at <{}>: {}",
            src.parse_name,
            line,
            col,
            crate::fmt::quote(&self.tree.name),
            context,
            msg
        );
        Box::new(Error {
            message,
            info: Box::new(ErrorInfo {
                kind: ErrorKind::Exec,
                template: self.tree.name.to_string(),
                file: src.parse_name.clone(),
                line,
                col,
                context,
                detail: msg,
                function: function.map(str::to_string),
            }),
        })
    }

    #[inline(never)]
    fn limit_error(&self, msg: String) -> Box<Error> {
        Box::new(Error {
            message: format!("template: {}: {}", self.tree.name, msg),
            info: Box::new(ErrorInfo {
                kind: ErrorKind::Limit,
                template: self.tree.name.to_string(),
                file: self.tree.source.parse_name.clone(),
                detail: msg,
                ..ErrorInfo::default()
            }),
        })
    }

    #[inline]
    fn tick(&mut self) -> R<()> {
        self.ticks = self.ticks.wrapping_add(1);
        if self.ticks.is_multiple_of(1024) && self.start.elapsed() > self.budget {
            return Err(self.time_error());
        }
        Ok(())
    }

    #[cold]
    #[inline(never)]
    fn time_error(&self) -> Box<Error> {
        self.limit_error(format!("execution exceeded the time budget of {:?}", self.budget))
    }

    #[cold]
    #[inline(never)]
    fn output_error(&self) -> Box<Error> {
        self.limit_error(format!(
            "output exceeds the limit of {} bytes",
            self.set.limits.max_output
        ))
    }

    fn check_output(&self) -> R<()> {
        if self.out.len() > self.set.limits.max_output {
            return Err(self.output_error());
        }
        Ok(())
    }

    // ---- walking ----

    fn walk_list(&mut self, dot: &Value, list: &[Node]) -> Result<(), Flow> {
        for n in list {
            self.walk(dot, n)?;
        }
        Ok(())
    }

    fn walk(&mut self, dot: &Value, node: &Node) -> Result<(), Flow> {
        match node {
            Node::Text(t) => {
                self.out.push_str(t);
                self.check_output()?;
            }
            Node::Action(pipe) => {
                self.tick()?;
                let v = self.eval_pipeline(dot, pipe)?;
                if pipe.decl.is_empty() {
                    match &v {
                        Value::Nil => self.out.push_str("<no value>"),
                        Value::Object(o) => self.out.push_str(&o.fmt_print()),
                        v => crate::fmt::write_value(&mut self.out, v, true),
                    }
                    self.check_output()?;
                }
            }
            Node::If(b) => self.walk_if_or_with(false, dot, b)?,
            Node::With(b) => self.walk_if_or_with(true, dot, b)?,
            Node::Range(b) => self.walk_range(dot, b)?,
            Node::Template(t) => self.walk_template(dot, t)?,
            Node::Break => return Err(Flow::Break),
            Node::Continue => return Err(Flow::Continue),
        }
        Ok(())
    }

    #[inline(never)]
    fn walk_if_or_with(&mut self, with: bool, dot: &Value, b: &Branch) -> Result<(), Flow> {
        let mark = self.vars.len();
        let val = self.eval_pipeline(dot, &b.pipe)?;
        let r = if val.truthy() {
            if with {
                let saved = std::mem::replace(&mut self.dot_boxed, false);
                let r = self.walk_list(&val, &b.list);
                self.dot_boxed = saved;
                r
            } else {
                self.walk_list(dot, &b.list)
            }
        } else if let Some(e) = &b.else_list {
            self.walk_list(dot, e)
        } else {
            Ok(())
        };
        self.vars.truncate(mark);
        r
    }

    #[inline(never)]
    fn walk_range(&mut self, dot: &Value, b: &Branch) -> Result<(), Flow> {
        let mark = self.vars.len();
        let val = self.eval_pipeline(dot, &b.pipe)?;
        let body_mark = self.vars.len();
        let saved_boxed = self.dot_boxed;
        let r = self.range_items(dot, b, &val, body_mark);
        self.dot_boxed = saved_boxed;
        self.vars.truncate(mark);
        r
    }

    #[inline(never)]
    fn range_items(&mut self, dot: &Value, b: &Branch, val: &Value, mark: usize) -> Result<(), Flow> {
        let ran = match val {
            Value::List(l) => {
                for (i, e) in l.iter().enumerate() {
                    if self.iteration(b, Value::Int(i as i64), false, e, true, mark)? {
                        break;
                    }
                }
                !l.is_empty()
            }
            Value::Bytes(bytes) => {
                for (i, e) in bytes.iter().enumerate() {
                    if self.iteration(b, Value::Int(i as i64), false, &Value::Int(*e as i64), false, mark)? {
                        break;
                    }
                }
                !bytes.is_empty()
            }
            Value::Map(m) => {
                // Snapshot the entries: the body may change the map.
                let entries: Vec<(String, Value)> = m.borrow().iter().map(|(k, v)| (k.clone(), v.clone())).collect();
                for (k, v) in &entries {
                    if self.iteration(b, Value::from(k.as_str()), false, v, true, mark)? {
                        break;
                    }
                }
                !entries.is_empty()
            }
            Value::Int(_) | Value::Int64(_) | Value::Uint(_) => {
                if b.pipe.decl.len() > 1 {
                    let msg = format!("can't use {} to iterate over more than one variable", val);
                    return Err(self.error_here(msg).into());
                }
                let n: i128 = match val {
                    Value::Int(i) | Value::Int64(i) => *i as i128,
                    Value::Uint(u) => *u as i128,
                    _ => 0,
                };
                let mut i: i128 = 0;
                while i < n {
                    let v = match val {
                        Value::Int(_) => Value::Int(i as i64),
                        Value::Int64(_) => Value::Int64(i as i64),
                        _ => Value::Uint(i as u64),
                    };
                    if self.iteration(b, v.clone(), false, &v, false, mark)? {
                        break;
                    }
                    i += 1;
                }
                n > 0
            }
            Value::Nil => false,
            Value::Object(o) if o.entries().is_some() || matches!(o.kind(), "slice" | "array") => {
                return self.range_items(dot, b, &val.as_map_value(), mark);
            }
            Value::Object(o) if o.keyed_entries().is_some() => {
                let entries = o.keyed_entries().unwrap_or_default();
                for (k, v) in &entries {
                    if self.iteration(b, k.clone(), false, v, true, mark)? {
                        break;
                    }
                }
                !entries.is_empty()
            }
            _ => {
                return Err(self.error_here(format!("range can't iterate over {}", val)).into());
            }
        };
        if !ran && let Some(e) = &b.else_list {
            return self.walk_list(dot, e);
        }
        Ok(())
    }

    /// One range iteration; true when the body executed `break`.
    #[inline(never)]
    fn iteration(
        &mut self,
        b: &Branch,
        index: Value,
        index_boxed: bool,
        elem: &Value,
        elem_boxed: bool,
        mark: usize,
    ) -> Result<bool, Flow> {
        self.iterations += 1;
        if self.iterations > self.set.limits.max_iterations {
            return Err(self
                .limit_error(format!(
                    "range iterations exceed the limit of {}",
                    self.set.limits.max_iterations
                ))
                .into());
        }
        self.tick()?;
        let decl = &b.pipe.decl;
        if !decl.is_empty() {
            if b.pipe.is_assign {
                if decl.len() > 1 {
                    self.set_var(&decl[0], index.clone(), index_boxed);
                } else {
                    self.set_var(&decl[0], elem.clone(), elem_boxed);
                }
            } else {
                self.set_top_var(1, elem.clone(), elem_boxed);
            }
        }
        if decl.len() > 1 {
            if b.pipe.is_assign {
                self.set_var(&decl[1], elem.clone(), elem_boxed);
            } else {
                self.set_top_var(2, index, index_boxed);
            }
        }
        self.dot_boxed = elem_boxed;
        let r = self.walk_list(elem, &b.list);
        self.vars.truncate(mark);
        match r {
            Ok(()) | Err(Flow::Continue) => Ok(false),
            Err(Flow::Break) => Ok(true),
            Err(e) => Err(e),
        }
    }

    #[inline(never)]
    fn walk_template(&mut self, dot: &Value, t: &TemplateCall) -> Result<(), Flow> {
        let Some(tree) = self.lookup(&t.name) else {
            return Err(self
                .error_at(
                    At(t.pos, t),
                    format!("template {} not defined", crate::fmt::quote(&t.name)),
                    None,
                )
                .into());
        };
        if let Some(msg) = self.check_depth() {
            return Err(self.error_at(At(t.pos, t), msg, None).into());
        }
        let new_dot = match &t.pipe {
            Some(p) => self.eval_pipeline(dot, p)?,
            None => Value::Nil,
        };
        let root = self.root_vars(new_dot.clone());
        let saved_vars = std::mem::replace(&mut self.vars, root);
        let saved_tree = std::mem::replace(&mut self.tree, tree.clone());
        let saved_boxed = std::mem::replace(&mut self.dot_boxed, false);
        let saved_at = self.at;
        self.depth += 1;
        let r = self.walk_list(&new_dot, &tree.root);
        self.depth -= 1;
        self.at = saved_at;
        self.vars = saved_vars;
        self.tree = saved_tree;
        self.dot_boxed = saved_boxed;
        match r {
            Err(Flow::Err(e)) => Err(Flow::Err(e)),
            _ => Ok(()),
        }
    }

    // ---- variables ----

    fn set_var(&mut self, name: &str, value: Value, boxed: bool) -> bool {
        match self.vars.iter_mut().rev().find(|v| &*v.name == name) {
            Some(v) => {
                v.value = value;
                v.boxed = boxed;
                true
            }
            None => false,
        }
    }

    fn set_top_var(&mut self, n: usize, value: Value, boxed: bool) {
        let len = self.vars.len();
        if n <= len {
            let v = &mut self.vars[len - n];
            v.value = value;
            v.boxed = boxed;
        }
    }

    fn var_value(&self, name: &str) -> Option<(Value, bool)> {
        self.vars
            .iter()
            .rev()
            .find(|v| &*v.name == name)
            .map(|v| (v.value.clone(), v.boxed))
    }

    // ---- evaluation ----

    #[cold]
    #[inline(never)]
    fn stack_error(&self) -> Box<Error> {
        self.limit_error(format!(
            "exceeded maximum template depth: {} nested calls used the stack budget of {} bytes",
            self.depth, self.set.limits.max_stack
        ))
    }

    pub(crate) fn eval_pipeline(&mut self, dot: &Value, pipe: &Pipe) -> R<Value> {
        if self.stack_base.abs_diff(crate::stack_addr()) > self.set.limits.max_stack {
            return Err(self.stack_error());
        }
        self.mark(pipe.pos, AtKind::Pipe);
        let mut value: Option<Value> = None;
        for cmd in &pipe.cmds {
            value = Some(self.eval_command(dot, pipe, cmd, value)?);
        }
        let value = value.unwrap_or_default();
        for v in &pipe.decl {
            if pipe.is_assign {
                if !self.set_var(v, value.clone(), false) {
                    return Err(self.error_here(format!("undefined variable: {v}")));
                }
            } else {
                self.vars.push(Var {
                    name: v.clone(),
                    value: value.clone(),
                    boxed: false,
                });
            }
        }
        Ok(value)
    }

    #[inline(never)]
    fn not_a_function(&self, args: &[Arg], fin: &Option<Value>) -> R<()> {
        if args.len() > 1 || fin.is_some() {
            let a = &args[0];
            return Err(self.error_at(
                At(a.pos(), a),
                format!("can't give argument to non-function {}", a.go_string()),
                None,
            ));
        }
        Ok(())
    }

    fn eval_command(&mut self, dot: &Value, pipe: &Pipe, cmd: &Cmd, fin: Option<Value>) -> R<Value> {
        let first = &cmd.args[0];
        match first {
            Arg::Field(pos, idents) => {
                self.mark(*pos, AtKind::Arg);
                let boxed = self.dot_boxed;
                Ok(self
                    .eval_field_chain(dot, dot.clone(), boxed, At(*pos, first), idents, &cmd.args, fin)?
                    .0)
            }
            Arg::Chain(..) => Ok(self.eval_chain(dot, first, &cmd.args, fin)?.0),
            Arg::Ident(pos, ident) => self.eval_function(
                dot,
                At(*pos, first),
                &ident.name,
                &ident.callee,
                cmd,
                cmd.pos,
                &cmd.args,
                fin,
            ),
            Arg::Pipe(p) => {
                if cmd.args.len() > 1 || fin.is_some() {
                    let _ = pipe;
                    return Err(self.error_here(format!("can't give argument to non-function {}", first.go_string())));
                }
                self.eval_pipeline(dot, p)
            }
            Arg::Variable(..) => Ok(self.eval_variable(dot, first, &cmd.args, fin)?.0),
            _ => self.eval_literal_command(dot, cmd, fin),
        }
    }

    /// A command whose first word is a constant, `.` or `nil`.
    #[inline(never)]
    fn eval_literal_command(&mut self, dot: &Value, cmd: &Cmd, fin: Option<Value>) -> R<Value> {
        let first = &cmd.args[0];
        {
            {
                self.mark(first.pos(), AtKind::Arg);
                self.not_a_function(&cmd.args, &fin)?;
                match first {
                    Arg::Bool(_, b) => Ok(Value::Bool(*b)),
                    Arg::Dot(_) => Ok(dot.clone()),
                    Arg::Nil(p) => Err(self.error_at(At(*p, first), "nil is not a command".into(), None)),
                    Arg::Number(p, n) => self.constant(At(*p, first), n),
                    Arg::String(_, c) => Ok(c.value.clone()),
                    _ => Err(self.error_at(
                        At(first.pos(), first),
                        format!("can't evaluate command {}", crate::fmt::quote(&first.go_string())),
                        None,
                    )),
                }
            }
        }
    }

    fn constant(&self, at: At<'_>, n: &crate::parse::Number) -> R<Value> {
        match &n.value {
            Ok(v) => Ok(v.clone()),
            Err(msg) => Err(self.error_at(at, msg.clone(), None)),
        }
    }

    fn eval_chain(&mut self, dot: &Value, node: &Arg, args: &[Arg], fin: Option<Value>) -> R<(Value, bool)> {
        let Arg::Chain(pos, chain) = node else {
            return Ok((Value::Nil, false));
        };
        let (inner, fields) = (&chain.node, &chain.fields);
        if let Arg::Nil(_) = inner {
            return Err(self.error_at(
                At(*pos, node),
                format!("indirection through explicit nil in {}", node.go_string()),
                None,
            ));
        }
        self.mark(*pos, AtKind::Arg);
        let receiver = self.eval_arg(dot, inner)?;
        let (at_pos, kind) = self.at;
        let text = Text(crate::parse::find_context(&self.tree.root, at_pos, kind).unwrap_or_default());
        self.eval_field_chain(dot, receiver, false, At(at_pos, &text), fields, args, fin)
    }

    fn eval_variable(&mut self, dot: &Value, node: &Arg, args: &[Arg], fin: Option<Value>) -> R<(Value, bool)> {
        let Arg::Variable(pos, idents) = node else {
            return Ok((Value::Nil, false));
        };
        self.mark(*pos, AtKind::Arg);
        let Some((value, boxed)) = self.var_value(&idents[0]) else {
            return Err(self.error_at(At(*pos, node), format!("undefined variable: {}", idents[0]), None));
        };
        if idents.len() == 1 {
            self.not_a_function(args, &fin)?;
            return Ok((value, boxed));
        }
        self.eval_field_chain(dot, value, boxed, At(*pos, node), &idents[1..], args, fin)
    }

    #[allow(clippy::too_many_arguments)]
    fn eval_field_chain(
        &mut self,
        dot: &Value,
        mut receiver: Value,
        mut boxed: bool,
        at: At<'_>,
        idents: &[Rc<str>],
        args: &[Arg],
        fin: Option<Value>,
    ) -> R<(Value, bool)> {
        let n = idents.len();
        for ident in &idents[..n - 1] {
            (receiver, boxed) = self.eval_field(dot, ident, At(at.0, at.1), &[], None, &receiver, boxed)?;
        }
        self.eval_field(dot, &idents[n - 1], at, args, fin, &receiver, boxed)
    }

    #[allow(clippy::too_many_arguments)]
    fn eval_field(
        &mut self,
        dot: &Value,
        name: &str,
        at: At<'_>,
        args: &[Arg],
        fin: Option<Value>,
        receiver: &Value,
        boxed: bool,
    ) -> R<(Value, bool)> {
        let has_args = args.len() > 1 || fin.is_some();
        match receiver {
            Value::Nil => {
                if boxed {
                    return Err(self.error_at(at, format!("nil pointer evaluating interface {{}}.{name}"), None));
                }
                if self.set.missing_key == MissingKey::Error {
                    return Err(self.error_at(
                        at,
                        format!("nil data; no entry for key {}", crate::fmt::quote(name)),
                        None,
                    ));
                }
                Ok((Value::Nil, false))
            }
            Value::Map(m) => {
                if has_args {
                    return Err(self.error_at(at, format!("{name} is not a method but has arguments"), None));
                }
                let got = m.borrow().get(name).cloned();
                match got {
                    Some(v) => Ok((v, true)),
                    None => match self.set.missing_key {
                        MissingKey::Default => Ok((Value::Nil, false)),
                        MissingKey::Zero => Ok((Value::Nil, true)),
                        MissingKey::Error => Err(self.error_at(
                            at,
                            format!("map has no entry for key {}", crate::fmt::quote(name)),
                            None,
                        )),
                    },
                }
            }
            Value::Object(o) => {
                let o = o.clone();
                if !has_args && let Some(v) = o.field(name) {
                    return Ok((v, false));
                }
                let mut argv = Vec::with_capacity(args.len());
                for a in args.iter().skip(1) {
                    argv.push(self.eval_arg(dot, a)?);
                }
                if let Some(f) = fin {
                    argv.push(f);
                }
                match o.method(name, &argv) {
                    Some(Ok(v)) => Ok((v, false)),
                    Some(Err(e)) => Err(self.error_at(at, format!("error calling {name}: {e}"), Some(name))),
                    None => {
                        if o.field(name).is_some() {
                            return Err(self.error_at(
                                at,
                                format!("{name} has arguments but cannot be invoked as function"),
                                None,
                            ));
                        }
                        let typ = if boxed {
                            "interface {}".to_string()
                        } else {
                            o.type_name()
                        };
                        Err(self.error_at(at, format!("can't evaluate field {name} in type {typ}"), None))
                    }
                }
            }
            other => {
                let typ = if boxed {
                    "interface {}".to_string()
                } else {
                    other.type_name()
                };
                Err(self.error_at(at, format!("can't evaluate field {name} in type {typ}"), None))
            }
        }
    }

    /// Calls a function: its arguments are evaluated in [`Exec::prepare_call`], out of line, so
    /// that the frame live during the call (which may run templates) stays small.
    #[allow(clippy::too_many_arguments)]
    fn eval_function(
        &mut self,
        dot: &Value,
        at: At<'_>,
        name: &str,
        callee: &Callee,
        cmd: &dyn GoString,
        cmd_pos: usize,
        args: &[Arg],
        fin: Option<Value>,
    ) -> R<Value> {
        let (f, mut argv, boxed, pure) = match self.prepare_call(dot, &at, name, callee, cmd, cmd_pos, args, fin)? {
            Prepared::Done(v) => return Ok(v),
            Prepared::Call(f, argv, boxed, pure) => (f, argv, boxed, pure),
            Prepared::NilMap(f, argv, boxed, pure, j) => {
                return Err(self.nil_map_error(&f, argv, &boxed, pure, j, &at, name, cmd, cmd_pos, args));
            }
        };
        self.depth += 1;
        let mut r = match self.check_depth() {
            Some(msg) => Err(msg),
            None => f(self, &argv),
        };
        // An integer parameter refused a number constant spelt as a float with an integral
        // value (`1e3`, `2.0`): Go takes it as that integer (its `NumberNode.IsInt`), so the
        // call is made again with the integer in its place.
        if let Err(e) = &r
            && e.starts_with("wrong type for value; expected int")
            && integral_constants(args, &mut argv)
        {
            r = f(self, &argv);
        }
        self.depth -= 1;
        match r {
            Ok(Value::String(s)) if s.len() > self.set.limits.max_output => Err(self.value_too_big(s.len())),
            Ok(v) => Ok(v),
            Err(e) => {
                let arg_nodes = if args.is_empty() { args } else { &args[1..] };
                let e = if pure {
                    self.first_type_error(&f, &argv, &boxed, e)
                } else {
                    e
                };
                Err(self.call_error(e, &at, name, cmd, cmd_pos, args, arg_nodes, &argv, &boxed))
            }
        }
    }

    /// Checks arity, evaluates the arguments, and runs builtins; a registered function is
    /// returned with its arguments for [`Exec::eval_function`] to call.
    #[allow(clippy::too_many_arguments)]
    #[inline(never)]
    fn prepare_call(
        &mut self,
        dot: &Value,
        at: &At<'_>,
        name: &str,
        callee: &Callee,
        cmd: &dyn GoString,
        cmd_pos: usize,
        args: &[Arg],
        fin: Option<Value>,
    ) -> R<Prepared> {
        self.mark(at.0, AtKind::Arg);
        let arg_nodes = if args.is_empty() { args } else { &args[1..] };
        let num_in = arg_nodes.len() + usize::from(fin.is_some());
        let arity = match callee {
            Callee::Builtin(b) => b.arity(),
            Callee::Func(f) => f.arity,
        };
        let bad_arity = match arity {
            Arity::Exact(n) => num_in != n,
            Arity::AtLeast(n) => num_in < n,
        };
        if bad_arity {
            return Err(self.arity_error(At(at.0, at.1), name, arity, num_in, arg_nodes.len()));
        }
        if let Callee::Builtin(b @ (Builtin::And | Builtin::Or)) = callee {
            let is_or = *b == Builtin::Or;
            let mut v = Value::Nil;
            for a in arg_nodes {
                v = self.eval_arg(dot, a)?;
                if v.truthy() == is_or {
                    return Ok(Prepared::Done(v));
                }
            }
            if let Some(f) = fin {
                v = f;
            }
            return Ok(Prepared::Done(v));
        }
        if let Callee::Builtin(Builtin::Printf) = callee
            && let Some(first) = arg_nodes.first()
            && matches!(first, Arg::Bool(..) | Arg::Number(..) | Arg::Nil(_))
        {
            return Err(self.printf_constant_error(first));
        }
        let mut argv = Vec::with_capacity(num_in);
        let mut boxed = Vec::with_capacity(arg_nodes.len());
        for a in arg_nodes {
            let (v, b) = self.eval_arg_boxed(dot, a)?;
            boxed.push(b);
            argv.push(v);
        }
        let first_boxed = boxed.first().copied().unwrap_or(false);
        if let Some(f) = fin {
            argv.push(f);
        }
        // Functions taking `interface{}` (all registered ones, and the printing builtins) get
        // a copy of a struct, no longer addressable (see `Object::boxed`).
        if matches!(
            callee,
            Callee::Func(_)
                | Callee::Builtin(
                    Builtin::Print
                        | Builtin::Printf
                        | Builtin::Println
                        | Builtin::Html
                        | Builtin::Js
                        | Builtin::Urlquery
                )
        ) {
            for v in argv.iter_mut() {
                if let Value::Object(o) = v
                    && let Some(copy) = o.boxed()
                {
                    *v = copy;
                }
            }
        }
        let b = match callee {
            Callee::Func(f) => {
                // An empty interface{} given for a map parameter: Go fails while it
                // evaluates the arguments (see `Func::map_params`).
                let nil_map = || {
                    boxed
                        .iter()
                        .enumerate()
                        .position(|(i, b)| *b && f.map_params.contains(&i) && argv[i].is_nil())
                };
                if !f.map_params.is_empty()
                    && let Some(j) = nil_map()
                {
                    return Ok(Prepared::NilMap(f.f.clone(), argv, boxed, f.pure, j));
                }
                return Ok(Prepared::Call(f.f.clone(), argv, boxed, f.pure));
            }
            Callee::Builtin(b) => *b,
        };
        if matches!(b, Builtin::Printf | Builtin::Call) {
            self.builtin_arg_checks(callee, at, cmd, cmd_pos, args, arg_nodes, &argv, &boxed)?;
        }
        let result = match b {
            // len of an untyped nil makes Go's reflection fail; of an interface{} nil, a message.
            Builtin::Len if argv[0].is_nil() && !first_boxed => {
                Err("reflect: call of reflect.Value.Type on zero Value".to_string())
            }
            b => builtins::call(b, &argv),
        };
        match result {
            Ok(Value::String(s)) if s.len() > self.set.limits.max_output => Err(self.value_too_big(s.len())),
            Ok(v) => Ok(Prepared::Done(v)),
            Err(e) => Err(self.call_error(e, at, name, cmd, cmd_pos, args, arg_nodes, &argv, &boxed)),
        }
    }

    #[cold]
    #[inline(never)]
    fn arity_error(&self, at: At<'_>, name: &str, arity: Arity, num_in: usize, num_args: usize) -> Box<Error> {
        let msg = match arity {
            Arity::Exact(n) => format!("wrong number of args for {name}: want {n} got {num_in}"),
            Arity::AtLeast(n) => format!("wrong number of args for {name}: want at least {n} got {num_args}"),
        };
        self.error_at(at, msg, None)
    }

    #[cold]
    #[inline(never)]
    fn printf_constant_error(&self, first: &Arg) -> Box<Error> {
        let msg = match first {
            Arg::Nil(_) => "cannot assign nil to string".to_string(),
            _ => format!("expected string; found {}", first.go_string()),
        };
        self.error_at(At(first.pos(), first), msg, None)
    }

    #[cold]
    #[inline(never)]
    fn value_too_big(&self, len: usize) -> Box<Error> {
        self.limit_error(format!(
            "a value of {len} bytes exceeds the output limit of {} bytes",
            self.set.limits.max_output
        ))
    }

    /// `printf`'s format must be a string; `call` needs a function (templates have none).
    #[allow(clippy::too_many_arguments)]
    #[inline(never)]
    fn builtin_arg_checks(
        &self,
        callee: &Callee,
        at: &At<'_>,
        cmd: &dyn GoString,
        cmd_pos: usize,
        args: &[Arg],
        arg_nodes: &[Arg],
        argv: &[Value],
        boxed: &[bool],
    ) -> R<()> {
        if let Callee::Builtin(Builtin::Printf) = callee
            && !matches!(argv[0], Value::String(_))
        {
            return Err(match arg_nodes.first() {
                None => self.error_at(
                    At(at.0, at.1),
                    format!("wrong type for value; expected string; got {}", argv[0].type_name()),
                    None,
                ),
                Some(first) => {
                    // A nil read out of a map is an empty interface{}; a literal nil is none.
                    let msg = if argv[0].is_nil() && boxed.first() == Some(&true) {
                        "wrong type for value; expected string; got interface {}".to_string()
                    } else if argv[0].is_nil() {
                        "invalid value; expected string".to_string()
                    } else {
                        format!("wrong type for value; expected string; got {}", argv[0].type_name())
                    };
                    let shown = last_evaluated(first);
                    self.error_at(At(shown.pos(), shown), msg, None)
                }
            });
        }
        if let Callee::Builtin(Builtin::Call) = callee
            && !argv[0].is_nil()
        {
            let what = arg_nodes
                .first()
                .map(|a| format!("{} ", a.go_string()))
                .unwrap_or_default();
            let msg = format!("non-function {what}of type {}", argv[0].type_name());
            let pos = if args.is_empty() { at.0 } else { cmd_pos };
            return Err(self.error_at(At(pos, cmd), format!("error calling call: {msg}"), Some("call")));
        }
        Ok(())
    }

    /// The error for a function that returned `Err(e)`: Go's "error calling NAME: e", or an
    /// argument type error.
    #[allow(clippy::too_many_arguments)]
    #[cold]
    #[inline(never)]
    fn call_error(
        &self,
        e: String,
        at: &At<'_>,
        name: &str,
        cmd: &dyn GoString,
        cmd_pos: usize,
        args: &[Arg],
        arg_nodes: &[Arg],
        argv: &[Value],
        boxed: &[bool],
    ) -> Box<Error> {
        if let Some(err) = self.argument_type_error(&e, arg_nodes, argv, boxed) {
            return err;
        }
        let e = match e.strip_prefix(ARG_MARK).and_then(|m| m.split_once(':')) {
            Some((_, m)) => m.to_string(),
            None => e,
        };
        let pos = if args.is_empty() { at.0 } else { cmd_pos };
        self.error_at(At(pos, cmd), format!("error calling {name}: {e}"), Some(name))
    }

    /// The error of a call whose argument `j` is an empty `interface{}` given for a map
    /// parameter ([`Prepared::NilMap`]): "wrong type for value; expected map[string]interface
    /// {}; got interface {}" at that argument, unless an argument before it has a type the
    /// function refuses (Go checks them in order): a pure function is called to find out.
    #[allow(clippy::too_many_arguments)]
    #[cold]
    fn nil_map_error(
        &mut self,
        f: &Rc<crate::func::FuncImpl>,
        argv: Vec<Value>,
        boxed: &[bool],
        pure: bool,
        j: usize,
        at: &At<'_>,
        name: &str,
        cmd: &dyn GoString,
        cmd_pos: usize,
        args: &[Arg],
    ) -> Box<Error> {
        let arg_nodes = if args.is_empty() { args } else { &args[1..] };
        let mut e =
            format!("{ARG_MARK}{j}:wrong type for value; expected map[string]interface {{}}; got interface {{}}");
        if pure && let Err(refused) = f(self, &argv) {
            let refused = self.first_type_error(f, &argv, boxed, refused);
            let earlier = refused
                .strip_prefix(ARG_MARK)
                .and_then(|m| m.split_once(':'))
                .and_then(|(i, _)| i.parse::<usize>().ok())
                .is_some_and(|i| i < j);
            if earlier {
                e = refused;
            }
        }
        self.call_error(e, at, name, cmd, cmd_pos, args, arg_nodes, &argv, boxed)
    }

    /// For a pure function that rejected an argument's type: the type error of the argument Go
    /// would reject first. Go checks arguments in order (the piped value last) before the
    /// call, where a function checks its parameters in its own order; so each rejected
    /// argument is found (calling the function again with it replaced by a value of the type
    /// wanted, and keeping it as found when that call gets past it) until the call succeeds,
    /// and the error of the first in Go's order is returned with that argument's index. Any
    /// doubt leaves the function's own error.
    #[cold]
    #[inline(never)]
    fn first_type_error(&mut self, f: &Rc<crate::func::FuncImpl>, argv: &[Value], boxed: &[bool], e: String) -> String {
        let mut args = argv.to_vec();
        let mut found: Vec<(usize, String)> = Vec::new();
        let mut err = e.clone();
        for _ in 0..argv.len() {
            let Some((want, got)) = type_error_parts(&err) else {
                break;
            };
            let Some(fill) = zero_of(want) else { break };
            let fits = |i: usize, v: &Value| match got {
                None => v.is_nil(),
                Some(g) => {
                    (!v.is_nil() && v.type_name() == g)
                        || (v.is_nil() && g == "interface {}" && boxed.get(i) == Some(&true))
                }
            };
            let candidates: Vec<usize> = (0..args.len())
                .filter(|i| !found.iter().any(|(j, _)| j == i) && fits(*i, &args[*i]))
                .collect();
            // The reverse mismatch, made by putting a `want` value where a `got` one belongs.
            let reverse = got.map(|g| format!("wrong type for value; expected {g}; got {}", fill.type_name()));
            let mut culprit = None;
            let mut next = None;
            for &c in &candidates {
                let mut probe = args.clone();
                probe[c] = fill.clone();
                let r = f(self, &probe);
                let gets_past = match &r {
                    Ok(_) => true,
                    Err(e2) => *e2 != err && reverse.as_deref() != Some(e2.as_str()),
                };
                if gets_past || candidates.len() == 1 {
                    culprit = Some(c);
                    next = Some((probe, r));
                    break;
                }
            }
            // Every candidate replaced, the same error: more than one is rejected for that
            // type; the first is one of them.
            if culprit.is_none()
                && let Some(&c) = candidates.first()
            {
                let mut probe = args.clone();
                probe[c] = fill.clone();
                let r = f(self, &probe);
                if r.as_ref().err() == Some(&err) {
                    culprit = Some(c);
                    next = Some((probe, r));
                }
            }
            let (Some(c), Some((probe, r))) = (culprit, next) else {
                break;
            };
            found.push((c, err.clone()));
            args = probe;
            match r {
                Err(e2) => err = e2,
                Ok(_) => break,
            }
        }
        match found.iter().min_by_key(|(i, _)| *i) {
            Some((i, msg)) => format!("{ARG_MARK}{i}:{msg}"),
            None => e,
        }
    }

    /// A function that rejected an argument's type ([`crate::Args`]'s "wrong type for value;
    /// expected T; got U" or "invalid value; expected T") fails, in Go, while its arguments
    /// are evaluated: the error names the argument, not the call. Finds the argument and words
    /// the error as Go's evaluator does (constants: "expected string; found 1").
    #[inline(never)]
    fn argument_type_error(&self, msg: &str, nodes: &[Arg], argv: &[Value], boxed: &[bool]) -> Option<Box<Error>> {
        // The argument found by [`Exec::first_type_error`], or the first that has the type.
        let (known, msg) = match msg.strip_prefix(ARG_MARK).and_then(|m| m.split_once(':')) {
            Some((i, m)) => (i.parse::<usize>().ok(), m),
            None => (None, msg),
        };
        let (want, got) = type_error_parts(msg)?;
        let i = match known {
            Some(i) => i,
            None => argv.iter().enumerate().position(|(i, v)| match got {
                None => v.is_nil(),
                Some(u) => {
                    (!v.is_nil() && v.type_name() == u)
                        || (v.is_nil() && u == "interface {}" && boxed.get(i) == Some(&true))
                }
            })?,
        };
        let Some(node) = nodes.get(i) else {
            // The piped value: Go reports it at the node evaluation last reached.
            return Some(self.error_here(msg.to_string()));
        };
        // A parenthesized pipeline is reported at the node evaluated last inside it.
        let shown = last_evaluated(node);
        let text = match node {
            Arg::Nil(_) => format!("cannot assign nil to {want}"),
            Arg::Number(..) | Arg::String(..) | Arg::Bool(..) => {
                let what = match want {
                    "string" => "string",
                    "bool" => "bool",
                    "float64" | "float32" => "float",
                    t if t.starts_with("uint") => "unsigned integer",
                    t if t.starts_with("int") => "integer",
                    _ => {
                        return Some(self.error_at(
                            At(shown.pos(), shown),
                            format!("can't handle {} for arg of type {want}", node.go_string()),
                            None,
                        ));
                    }
                };
                format!("expected {what}; found {}", node.go_string())
            }
            _ if argv[i].is_nil() && boxed.get(i) == Some(&true) => {
                format!("wrong type for value; expected {want}; got interface {{}}")
            }
            _ => msg.to_string(),
        };
        Some(self.error_at(At(shown.pos(), shown), text, None))
    }

    fn eval_arg(&mut self, dot: &Value, arg: &Arg) -> R<Value> {
        Ok(self.eval_arg_boxed(dot, arg)?.0)
    }

    /// An argument's value, and whether it is an `interface{}` read out of a collection.
    fn eval_arg_boxed(&mut self, dot: &Value, arg: &Arg) -> R<(Value, bool)> {
        let kind = if matches!(arg, Arg::Pipe(_)) {
            AtKind::Pipe
        } else {
            AtKind::Arg
        };
        self.mark(arg.pos(), kind);
        match arg {
            Arg::Dot(_) => Ok((dot.clone(), self.dot_boxed)),
            Arg::Nil(_) => Ok((Value::Nil, false)),
            Arg::Field(pos, idents) => {
                let boxed = self.dot_boxed;
                let one = std::slice::from_ref(arg);
                self.eval_field_chain(dot, dot.clone(), boxed, At(*pos, arg), idents, one, None)
            }
            Arg::Variable(..) => self.eval_variable(dot, arg, &[], None),
            Arg::Pipe(p) => Ok((self.eval_pipeline(dot, p)?, false)),
            Arg::Ident(pos, ident) => Ok((
                self.eval_function(dot, At(*pos, arg), &ident.name, &ident.callee, arg, *pos, &[], None)?,
                false,
            )),
            Arg::Chain(..) => self.eval_chain(dot, arg, &[], None),
            Arg::Bool(_, b) => Ok((Value::Bool(*b), false)),
            Arg::Number(p, n) => Ok((self.constant(At(*p, arg), n)?, false)),
            Arg::String(_, c) => Ok((c.value.clone(), false)),
        }
    }

    // ---- nested executions (for Env) ----

    fn run_nested(&mut self, tree: Rc<Tree>, data: Value) -> Result<String, Error> {
        if let Some(msg) = self.check_depth() {
            return Err(*self.limit_error(msg));
        }
        let root = self.root_vars(data.clone());
        let saved_vars = std::mem::replace(&mut self.vars, root);
        let saved_tree = std::mem::replace(&mut self.tree, tree.clone());
        let saved_boxed = std::mem::replace(&mut self.dot_boxed, false);
        let saved_out = std::mem::take(&mut self.out);
        let saved_at = self.at;
        self.depth += 1;
        let r = self.walk_list(&data, &tree.root);
        self.depth -= 1;
        self.at = saved_at;
        let out = std::mem::replace(&mut self.out, saved_out);
        self.vars = saved_vars;
        self.tree = saved_tree;
        self.dot_boxed = saved_boxed;
        match r {
            Err(Flow::Err(e)) => Err(*e),
            _ => Ok(out),
        }
    }
}

impl Env for Exec<'_> {
    fn execute_template(&mut self, name: &str, data: Value) -> Result<String, Error> {
        let Some(tree) = self.lookup(name) else {
            return Err(Error::msg(format!(
                "template: no template {} associated with template {}",
                crate::fmt::quote(name),
                crate::fmt::quote(&self.set.root_name)
            )));
        };
        self.run_nested(tree, data)
    }

    fn execute_source(&mut self, name: &str, src: &str, data: Value) -> Result<String, Error> {
        let cached = self.set.sources.borrow().get(name, src);
        let trees = match cached {
            Some(t) => t,
            None => {
                let t: crate::ParsedSource = crate::parse::parse(name, src, &self.set.funcs)
                    .map_err(Error::parse)?
                    .into();
                self.set.sources.borrow_mut().put(name, src, t.clone());
                t
            }
        };
        // Go executes the parsed template itself; the set (here an overlay on it) takes each
        // tree unless it is empty and the name is already defined.
        let mut own = None;
        let mut overlay = TreeMap::default();
        for (n, t) in trees.iter().cloned() {
            if &*n == name {
                own = Some(t.clone());
            }
            let exists = overlay.contains_key(&n) || self.lookup(&n).is_some();
            if exists && crate::parse::is_empty_tree(&t.root) {
                continue;
            }
            overlay.insert(n, t);
        }
        let Some(tree) = own else {
            return Err(Error::msg(format!("template: {name}: no such template")));
        };
        self.overlays.push(overlay);
        let r = self.run_nested(tree, data);
        self.overlays.pop();
        r
    }
}

/// The node Go's evaluator reaches last in evaluating `arg`: inside a parenthesized
/// pipeline, its last command's last argument (its function or operand when it has none).
fn last_evaluated(arg: &Arg) -> &Arg {
    match arg {
        Arg::Pipe(p) => match p.cmds.last().and_then(|c| c.args.last()) {
            Some(a) => last_evaluated(a),
            None => arg,
        },
        _ => arg,
    }
}

/// Marks a type error [`Exec::first_type_error`] has tied to an argument: `MARK<index>:<error>`.
const ARG_MARK: &str = "\u{0}arg ";

/// The wanted and given types of an argument type error ("wrong type for value; expected T;
/// got U", or "invalid value; expected T" for a nil).
fn type_error_parts(msg: &str) -> Option<(&str, Option<&str>)> {
    if let Some(rest) = msg.strip_prefix("wrong type for value; expected ") {
        let (t, u) = rest.split_once("; got ")?;
        Some((t, Some(u)))
    } else {
        Some((msg.strip_prefix("invalid value; expected ")?, None))
    }
}

/// A value of Go type `t` (for a parameter of that type), for the types functions check.
fn zero_of(t: &str) -> Option<Value> {
    Some(match t {
        "int" => Value::Int(0),
        "int64" => Value::Int64(0),
        "float64" => Value::Float(0.0),
        "string" => Value::str(""),
        "bool" => Value::Bool(false),
        "map[string]interface {}" => Value::empty_map(),
        "[]interface {}" => Value::list(Vec::new()),
        _ => return None,
    })
}
