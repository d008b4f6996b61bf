//! Parses template files and prints each template of the set in canonical form, for
//! comparison with Go's parser (a diagnostic). Arguments: a file listing function names and a
//! file listing template paths. Run:
//! `cargo run -p ballast-gotemplate --example parse_files -- names.txt files.txt`.

use std::rc::Rc;

use ballast_gotemplate::{Arity, FuncMap, Templates, Value};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let names = std::fs::read_to_string(&args[1]).expect("names");
    let files = std::fs::read_to_string(&args[2]).expect("files");
    let names: Vec<&'static str> = names
        .split_whitespace()
        .map(|n| &*Box::leak(n.to_string().into_boxed_str()))
        .collect();
    let mut funcs = FuncMap::new();
    for n in names {
        funcs.pure(n, Arity::AtLeast(0), |_| Ok(Value::Nil));
    }
    let funcs = Rc::new(funcs);
    for path in files.lines() {
        let src = std::fs::read_to_string(path).expect("file");
        let mut t = Templates::new(funcs.clone());
        match t.parse(path, &src) {
            Err(e) => println!("{path}\tERR\t{}", e.message.replace('\n', "\\n")),
            Ok(()) => {
                let mut all: Vec<&str> = t.names().collect();
                all.sort();
                for name in all {
                    let text = t.canonical(name).unwrap_or_default();
                    println!("{path}\t{name}\t{}", text.replace('\\', "\\\\").replace('\n', "\\n"));
                }
            }
        }
    }
}
