//! How deep `include` and `template` recursion get within the default stack budget (a
//! diagnostic). Run: `cargo run --release -p ballast-gotemplate --example depth`.

use std::rc::Rc;

use ballast_gotemplate::{Arity, Func, FuncMap, Templates, Value};

fn main() {
    let mut f = FuncMap::new();
    f.insert(
        "include",
        Func::new(Arity::Exact(2), |env, a| {
            let name = a[0].as_str().unwrap_or_default().to_string();
            env.execute_template(&name, a[1].clone())
                .map(Value::from)
                .map_err(|e| e.message)
        }),
    );
    let mut t = Templates::new(Rc::new(f));
    t.parse("inc", r#"{{define "n"}}x{{include "n" .}}{{end}}{{include "n" .}}"#)
        .expect("parse");
    t.parse("tmpl", r#"{{define "r"}}x{{template "r" .}}{{end}}{{template "r" .}}"#)
        .expect("parse");
    for name in ["inc", "tmpl"] {
        match t.execute(name, &Value::Nil) {
            Ok(s) => println!("{name}: ok {}", s.len()),
            Err(e) => {
                let levels = e.message.matches("error calling include").count();
                let tail = &e.message[e.message.len().saturating_sub(120)..];
                println!("{name}: {levels} include levels; ...{tail}");
            }
        }
    }
}
