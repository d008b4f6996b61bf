//! sprig's reflection functions: `typeOf` (Go's `%T`), `typeIs`, `typeIsLike`, `kindOf`
//! (`reflect.Kind`), `kindIs`.

use ballast_gotemplate::{Args, Arity, FuncMap, Value};

/// Registers this group's functions.
pub fn register(m: &mut FuncMap) {
    use Arity::Exact;
    m.pure("typeOf", Exact(1), |a| Ok(Value::from(a[0].type_name())));
    m.pure("typeIs", Exact(2), |a| {
        Ok(Value::Bool(Args::string(&a[0])? == a[1].type_name()))
    });
    m.pure("typeIsLike", Exact(2), |a| {
        let (target, t) = (Args::string(&a[0])?, a[1].type_name());
        Ok(Value::Bool(target == t || t.strip_prefix('*') == Some(target)))
    });
    m.pure("kindOf", Exact(1), |a| Ok(Value::str(a[0].kind_name())));
    m.pure("kindIs", Exact(2), |a| {
        Ok(Value::Bool(Args::string(&a[0])? == a[1].kind_name()))
    });
}

#[cfg(test)]
mod tests {
    use super::super::strings::test_support::*;
    use ballast_gotemplate::Value;

    #[test]
    fn type_of_and_type_is() {
        let got: Vec<String> = [i(1), f(1.5), NIL, s("a"), l(vec![]), d(vec![]), Value::Bool(true)]
            .iter()
            .map(|v| p("typeOf", std::slice::from_ref(v)))
            .collect();
        assert_eq!(
            got,
            [
                "int",
                "float64",
                "<nil>",
                "string",
                "[]interface {}",
                "map[string]interface {}",
                "bool"
            ]
        );
        assert_eq!(p("typeIs", &[s("int"), i(1)]), "true");
        assert_eq!(p("typeIs", &[s("string"), i(1)]), "false");
        assert_eq!(p("typeIsLike", &[s("int"), i(1)]), "true");
    }

    #[test]
    fn kind_of_and_kind_is() {
        let got: Vec<String> = [i(1), NIL, l(vec![]), d(vec![]), s("a"), f(1.5)]
            .iter()
            .map(|v| p("kindOf", std::slice::from_ref(v)))
            .collect();
        assert_eq!(got, ["int", "invalid", "slice", "map", "string", "float64"]);
        assert_eq!(p("kindIs", &[s("map"), d(vec![])]), "true");
        assert_eq!(p("kindIs", &[s("invalid"), NIL]), "true");
    }
}
