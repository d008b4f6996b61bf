//! sprig's reflection functions: `typeOf` (Go's `%T`), `typeIs`, `typeIsLike`, `kindOf`
//! (`reflect.Kind`), `kindIs`.

use ballast_gotemplate::{Args, Arity, FuncMap, Value};

/// Registers this group's functions.
pub fn register(m: &mut FuncMap) {
    use Arity::Exact;
    m.pure("typeOf", Exact(1), |a| Ok(Value::from(a[0].type_name())));
    m.pure("typeIs", Exact(2), |a| Ok(Value::Bool(Args::string(&a[0])? == a[1].type_name())));
    m.pure("typeIsLike", Exact(2), |a| {
        let (target, t) = (Args::string(&a[0])?, a[1].type_name());
        Ok(Value::Bool(target == t || t.strip_prefix('*') == Some(target)))
    });
    m.pure("kindOf", Exact(1), |a| Ok(Value::str(a[0].kind_name())));
    m.pure("kindIs", Exact(2), |a| Ok(Value::Bool(Args::string(&a[0])? == a[1].kind_name())));
}
