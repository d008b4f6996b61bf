//! sprig v3 (as Helm v4 ships it) and Helm's own functions, one module per group.
//!
//! [`sprig`] gives every function that needs no render state; [`crate::engine`] adds `include`,
//! `tpl`, `required`, `fail` and `lookup`, which do.

use ballast_gotemplate::FuncMap;

pub mod crypto;
pub mod dates;
pub mod defaults;
pub mod dicts;
pub mod encoding;
pub mod formats;
pub mod lists;
pub mod math;
pub mod paths;
pub mod random;
pub mod regex;
pub mod semver;
pub mod strings;
pub mod types;
pub mod url;

/// sprig's functions as Helm registers them (less `env` and `expandenv`, with Helm's own
/// `toYaml`, `toJson`, `fromYaml`... replacing sprig's), without the render-state functions.
pub fn sprig() -> FuncMap {
    let mut m = FuncMap::new();
    strings::register(&mut m);
    lists::register(&mut m);
    dicts::register(&mut m);
    math::register(&mut m);
    defaults::register(&mut m);
    types::register(&mut m);
    encoding::register(&mut m);
    paths::register(&mut m);
    crypto::register(&mut m);
    dates::register(&mut m);
    random::register(&mut m);
    regex::register(&mut m);
    semver::register(&mut m);
    url::register(&mut m);
    formats::register(&mut m);
    name_slice_results(&mut m);
    m
}

/// Has the lists some functions return named as the Go slices they are (`[]string`, `[]int`)
/// in `typeOf`, `%T`, `%#v` and type errors (see `name_list_type`).
fn name_slice_results(m: &mut FuncMap) {
    for (name, slice) in [
        ("splitList", "[]string"),
        ("sortAlpha", "[]string"),
        ("keys", "[]string"),
        ("toStrings", "[]string"),
        ("regexFindAll", "[]string"),
        ("mustRegexFindAll", "[]string"),
        ("regexSplit", "[]string"),
        ("mustRegexSplit", "[]string"),
        ("until", "[]int"),
        ("untilStep", "[]int"),
        ("chunk", "[][]interface {}"),
        ("mustChunk", "[][]interface {}"),
    ] {
        let Some(func) = m.get(name).cloned() else {
            continue;
        };
        let inner = func.f.clone();
        let f: std::rc::Rc<ballast_gotemplate::func::FuncImpl> = std::rc::Rc::new(move |env, args| {
            let v = inner(env, args)?;
            ballast_gotemplate::value::name_list_type(&v, slice);
            Ok(v)
        });
        m.insert(name, ballast_gotemplate::Func { f, ..func });
    }
}
