//! Go's `url.Parse` (Go 1.19) on generated URLs, as sprig's urlParse reports them.

pub(super) const GO_CASES: &[(&str, Result<&str, &str>)] = &[
    (
        "1x://u:p:q@h//x?#",
        Err("unable to parse url: parse \"1x://u:p:q@h//x?\": first path segment in URL cannot contain colon"),
    ),
    (
        "http:///%zz?ü#a#b",
        Err("unable to parse url: parse \"http:///%zz?ü\": invalid URL escape \"%zz\""),
    ),
    (
        "//?a?b",
        Ok("map[fragment: host: hostname: opaque: path: query:a?b scheme: userinfo:]"),
    ),
    (
        "//host/ü?a?b#",
        Ok("map[fragment: host:host hostname:host opaque: path:/ü query:a?b scheme: userinfo:]"),
    ),
    (
        "://a b/a/b?ü#%zz",
        Err("unable to parse url: parse \"://a b/a/b?ü\": missing protocol scheme"),
    ),
    (
        "a+b://a:b/c?ü#",
        Err("unable to parse url: parse \"a+b://a:b/c?ü\": invalid port \":b\" after host"),
    ),
    (
        "a+b://ü.example/?x=1&y=%20#%zz",
        Err("unable to parse url: parse \"a+b://ü.example/?x=1&y=%20#%zz\": invalid URL escape \"%zz\""),
    ),
    (
        "1x:#",
        Err("unable to parse url: parse \"1x:\": first path segment in URL cannot contain colon"),
    ),
    (
        "http://u@h/ü?a?b#",
        Ok("map[fragment: host:h hostname:h opaque: path:/ü query:a?b scheme:http userinfo:u]"),
    ),
    (
        "a+b://ü.example/ü?ü#ü!",
        Ok("map[fragment:ü! host:ü.example hostname:ü.example opaque: path:/ü query:ü scheme:a+b userinfo:]"),
    ),
    (
        "://u@h/ü?a?b#",
        Err("unable to parse url: parse \"://u@h/ü?a?b\": missing protocol scheme"),
    ),
    (
        "a+b://u@h/?x=1&y=%20#f",
        Ok("map[fragment:f host:h hostname:h opaque: path:/ query:x=1&y=%20 scheme:a+b userinfo:u]"),
    ),
    (
        "1x://u@h//x?ü#f%20g",
        Err("unable to parse url: parse \"1x://u@h//x?ü\": first path segment in URL cannot contain colon"),
    ),
    (
        "a+b://host/a%2Fb",
        Ok("map[fragment: host:host hostname:host opaque: path:/a/b query: scheme:a+b userinfo:]"),
    ),
    (
        "http://u%20x:p%3A@h/a/b#a#b",
        Ok("map[fragment:a#b host:h hostname:h opaque: path:/a/b query: scheme:http userinfo:u%20x:p%3A]"),
    ),
    (
        "HTTPS://u%20x:p%3A@ha:b/c?a?b#f",
        Err("unable to parse url: parse \"HTTPS://u%20x:p%3A@ha:b/c?a?b\": invalid port \":b\" after host"),
    ),
    (
        "a+b://u@h/ü#%zz",
        Err("unable to parse url: parse \"a+b://u@h/ü#%zz\": invalid URL escape \"%zz\""),
    ),
    (
        "HTTPS:///?ü#ü!",
        Ok("map[fragment:ü! host: hostname: opaque: path:/ query:ü scheme:https userinfo:]"),
    ),
    (
        "HTTPS://u:p@h:1/a b?x=1&y=%20#ü!",
        Ok("map[fragment:ü! host:h:1 hostname:h opaque: path:/a b query:x=1&y=%20 scheme:https userinfo:u:p]"),
    ),
    (
        "mailto://u@h/a b#",
        Ok("map[fragment: host:h hostname:h opaque: path:/a b query: scheme:mailto userinfo:u]"),
    ),
    (
        "http://h:8080?ü#a#b",
        Ok("map[fragment:a#b host:h:8080 hostname:h opaque: path: query:ü scheme:http userinfo:]"),
    ),
    (
        "HTTPS://u%20x:p%3A@h?a?b#",
        Ok("map[fragment: host:h hostname:h opaque: path: query:a?b scheme:https userinfo:u%20x:p%3A]"),
    ),
    (
        "a+b://u:p:q@h/%zz#",
        Err("unable to parse url: parse \"a+b://u:p:q@h/%zz\": invalid URL escape \"%zz\""),
    ),
    (
        "a+b://ü.example/a%2Fb?a?b#",
        Ok("map[fragment: host:ü.example hostname:ü.example opaque: path:/a/b query:a?b scheme:a+b userinfo:]"),
    ),
    (
        "mailto://ü.example/a?b?ü#a#b",
        Ok("map[fragment:a#b host:ü.example hostname:ü.example opaque: path:/a query:b?ü scheme:mailto userinfo:]"),
    ),
    (
        "a+b://a b?#%zz",
        Err("unable to parse url: parse \"a+b://a b?\": invalid character \" \" in host name"),
    ),
    (
        "http://host//x?#",
        Ok("map[fragment: host:host hostname:host opaque: path://x query: scheme:http userinfo:]"),
    ),
    (
        "1x://h:8080?ü#",
        Err("unable to parse url: parse \"1x://h:8080?ü\": first path segment in URL cannot contain colon"),
    ),
    (
        "a+b://u:p:q@ha:b/c#ü!",
        Err("unable to parse url: parse \"a+b://u:p:q@ha:b/c\": invalid port \":b\" after host"),
    ),
    (
        "1x:/%zz?ü#f%20g",
        Err("unable to parse url: parse \"1x:/%zz?ü\": first path segment in URL cannot contain colon"),
    ),
    (
        ":///?ü#",
        Err("unable to parse url: parse \":///?ü\": missing protocol scheme"),
    ),
    (
        "a+b://u:p:q@h/a%2Fb?ü",
        Ok("map[fragment: host:h hostname:h opaque: path:/a/b query:ü scheme:a+b userinfo:u:p%3Aq]"),
    ),
    (
        "a+b://u:p@h:1rel/x?a?b",
        Err("unable to parse url: parse \"a+b://u:p@h:1rel/x?a?b\": invalid port \":1rel\" after host"),
    ),
    (
        "://host/ü#a#b",
        Err("unable to parse url: parse \"://host/ü\": missing protocol scheme"),
    ),
    (
        "HTTPS://host/a/b?x=1&y=%20#f%20g",
        Ok("map[fragment:f g host:host hostname:host opaque: path:/a/b query:x=1&y=%20 scheme:https userinfo:]"),
    ),
    (
        "mailto:///a/b?a?b#a#b",
        Ok("map[fragment:a#b host: hostname: opaque: path:/a/b query:a?b scheme:mailto userinfo:]"),
    ),
    (
        "a+b://a brel/x?#f%20g",
        Err("unable to parse url: parse \"a+b://a brel/x?\": invalid character \" \" in host name"),
    ),
    (
        "http://h%41?ü#f%20g",
        Err("unable to parse url: parse \"http://h%41?ü\": invalid URL escape \"%41\""),
    ),
    (
        "HTTPS:/a/b?ü#a#b",
        Ok("map[fragment:a#b host: hostname: opaque: path:/a/b query:ü scheme:https userinfo:]"),
    ),
    (
        "mailto://h:x/a?b?#f",
        Err("unable to parse url: parse \"mailto://h:x/a?b?\": invalid port \":x\" after host"),
    ),
    (
        "://host?#a#b",
        Err("unable to parse url: parse \"://host?\": missing protocol scheme"),
    ),
    (
        "://h:8080/a b#a#b",
        Err("unable to parse url: parse \"://h:8080/a b\": missing protocol scheme"),
    ),
    (
        "mailto://u%20x:p%3A@h/a b#",
        Ok("map[fragment: host:h hostname:h opaque: path:/a b query: scheme:mailto userinfo:u%20x:p%3A]"),
    ),
    (
        "HTTPS://u%20x:p%3A@h/a/b?x=1&y=%20#f",
        Ok("map[fragment:f host:h hostname:h opaque: path:/a/b query:x=1&y=%20 scheme:https userinfo:u%20x:p%3A]"),
    ),
    (
        "http://u%20x:p%3A@h/?#f%20g",
        Ok("map[fragment:f g host:h hostname:h opaque: path:/ query: scheme:http userinfo:u%20x:p%3A]"),
    ),
    (
        "a+b://rel/x?#ü!",
        Ok("map[fragment:ü! host:rel hostname:rel opaque: path:/x query: scheme:a+b userinfo:]"),
    ),
    (
        "a+b://u:p@h:1/%zz?a?b#a#b",
        Err("unable to parse url: parse \"a+b://u:p@h:1/%zz?a?b\": invalid URL escape \"%zz\""),
    ),
    (
        ":///ü?ü#a#b",
        Err("unable to parse url: parse \":///ü?ü\": missing protocol scheme"),
    ),
    (
        "://u:p@h:1/a b?x=1&y=%20#",
        Err("unable to parse url: parse \"://u:p@h:1/a b?x=1&y=%20\": missing protocol scheme"),
    ),
    (
        "1x://ü.example/",
        Err("unable to parse url: parse \"1x://ü.example/\": first path segment in URL cannot contain colon"),
    ),
    (
        "://u%20x:p%3A@h/a/b?a?b#f%20g",
        Err("unable to parse url: parse \"://u%20x:p%3A@h/a/b?a?b\": missing protocol scheme"),
    ),
    (
        "://u:p:q@h//x?a?b",
        Err("unable to parse url: parse \"://u:p:q@h//x?a?b\": missing protocol scheme"),
    ),
    (
        "1x://u:p@h:1/%zz?#ü!",
        Err("unable to parse url: parse \"1x://u:p@h:1/%zz?\": first path segment in URL cannot contain colon"),
    ),
    (
        "//h:x/a?b?ü#a#b",
        Err("unable to parse url: parse \"//h:x/a?b?ü\": invalid port \":x\" after host"),
    ),
    (
        "HTTPS://ü.example/ü?ü#%zz",
        Err("unable to parse url: parse \"HTTPS://ü.example/ü?ü#%zz\": invalid URL escape \"%zz\""),
    ),
    (
        "//ü.example/a/b?a?b#%zz",
        Err("unable to parse url: parse \"//ü.example/a/b?a?b#%zz\": invalid URL escape \"%zz\""),
    ),
    (
        "1x:/ü?#f",
        Err("unable to parse url: parse \"1x:/ü?\": first path segment in URL cannot contain colon"),
    ),
    (
        "mailto://h:8080/a b#f%20g",
        Ok("map[fragment:f g host:h:8080 hostname:h opaque: path:/a b query: scheme:mailto userinfo:]"),
    ),
    (
        "HTTPS://u:p:q@hrel/x?x=1&y=%20#",
        Ok("map[fragment: host:hrel hostname:hrel opaque: path:/x query:x=1&y=%20 scheme:https userinfo:u:p%3Aq]"),
    ),
    (
        "://host/?x=1&y=%20#f%20g",
        Err("unable to parse url: parse \"://host/?x=1&y=%20\": missing protocol scheme"),
    ),
    (
        "//u%20x:p%3A@h/a?b?a?b#",
        Ok("map[fragment: host:h hostname:h opaque: path:/a query:b?a?b scheme: userinfo:u%20x:p%3A]"),
    ),
    (
        "://h:8080/#%zz",
        Err("unable to parse url: parse \"://h:8080/\": missing protocol scheme"),
    ),
    (
        "http://host/?x=1&y=%20#a#b",
        Ok("map[fragment:a#b host:host hostname:host opaque: path:/ query:x=1&y=%20 scheme:http userinfo:]"),
    ),
    (
        "HTTPS://u:p@h:1rel/x?x=1&y=%20#f%20g",
        Err("unable to parse url: parse \"HTTPS://u:p@h:1rel/x?x=1&y=%20\": invalid port \":1rel\" after host"),
    ),
    (
        "mailto:///a/b?a?b#f%20g",
        Ok("map[fragment:f g host: hostname: opaque: path:/a/b query:a?b scheme:mailto userinfo:]"),
    ),
    (
        "http://h:8080/a%2Fb#%zz",
        Err("unable to parse url: parse \"http://h:8080/a%2Fb#%zz\": invalid URL escape \"%zz\""),
    ),
    (
        "mailto://ü.example/a%2Fb#",
        Ok("map[fragment: host:ü.example hostname:ü.example opaque: path:/a/b query: scheme:mailto userinfo:]"),
    ),
    (
        "HTTPS://a b?#ü!",
        Err("unable to parse url: parse \"HTTPS://a b?\": invalid character \" \" in host name"),
    ),
    (
        "HTTPS:///a b?a?b#%zz",
        Err("unable to parse url: parse \"HTTPS:///a b?a?b#%zz\": invalid URL escape \"%zz\""),
    ),
    (
        "://h%41/ü?#f",
        Err("unable to parse url: parse \"://h%41/ü?\": missing protocol scheme"),
    ),
    (
        "a+b://u%20x:p%3A@h//x?x=1&y=%20#%zz",
        Err("unable to parse url: parse \"a+b://u%20x:p%3A@h//x?x=1&y=%20#%zz\": invalid URL escape \"%zz\""),
    ),
    (
        "://u%20x:p%3A@h?#a#b",
        Err("unable to parse url: parse \"://u%20x:p%3A@h?\": missing protocol scheme"),
    ),
    (
        "1x://u@h//x#%zz",
        Err("unable to parse url: parse \"1x://u@h//x\": first path segment in URL cannot contain colon"),
    ),
    (
        "1x:///a%2Fb?#f",
        Err("unable to parse url: parse \"1x:///a%2Fb?\": first path segment in URL cannot contain colon"),
    ),
    (
        "1x://u@h/a?b?#f",
        Err("unable to parse url: parse \"1x://u@h/a?b?\": first path segment in URL cannot contain colon"),
    ),
    (
        "://u%20x:p%3A@h/a/b?ü",
        Err("unable to parse url: parse \"://u%20x:p%3A@h/a/b?ü\": missing protocol scheme"),
    ),
    (
        "://host/a?b#%zz",
        Err("unable to parse url: parse \"://host/a?b\": missing protocol scheme"),
    ),
    (
        "http://h%41/?#f",
        Err("unable to parse url: parse \"http://h%41/?\": invalid URL escape \"%41\""),
    ),
    (
        "a+b://h%41//x?ü#f",
        Err("unable to parse url: parse \"a+b://h%41//x?ü\": invalid URL escape \"%41\""),
    ),
    (
        "HTTPS://u%20x:p%3A@h/?a?b#",
        Ok("map[fragment: host:h hostname:h opaque: path:/ query:a?b scheme:https userinfo:u%20x:p%3A]"),
    ),
    (
        "1x://h:8080#f",
        Err("unable to parse url: parse \"1x://h:8080\": first path segment in URL cannot contain colon"),
    ),
    (
        "//ü.example/a%2Fb?#a#b",
        Ok("map[fragment:a#b host:ü.example hostname:ü.example opaque: path:/a/b query: scheme: userinfo:]"),
    ),
    (
        "HTTPS://u%20x:p%3A@h/a?b?ü#",
        Ok("map[fragment: host:h hostname:h opaque: path:/a query:b?ü scheme:https userinfo:u%20x:p%3A]"),
    ),
    (
        "a+b://u%20x:p%3A@h/a%2Fb?#%zz",
        Err("unable to parse url: parse \"a+b://u%20x:p%3A@h/a%2Fb?#%zz\": invalid URL escape \"%zz\""),
    ),
    (
        "http://a b/a?b?ü#",
        Err("unable to parse url: parse \"http://a b/a?b?ü\": invalid character \" \" in host name"),
    ),
    (
        "://h:x//x?ü#f",
        Err("unable to parse url: parse \"://h:x//x?ü\": missing protocol scheme"),
    ),
    (
        "://h:x/?#f%20g",
        Err("unable to parse url: parse \"://h:x/?\": missing protocol scheme"),
    ),
    (
        "HTTPS://u%20x:p%3A@h/a%2Fb?x=1&y=%20#",
        Ok("map[fragment: host:h hostname:h opaque: path:/a/b query:x=1&y=%20 scheme:https userinfo:u%20x:p%3A]"),
    ),
    (
        "://host/a b?#",
        Err("unable to parse url: parse \"://host/a b?\": missing protocol scheme"),
    ),
    (
        "//ü.examplerel/x#%zz",
        Err("unable to parse url: parse \"//ü.examplerel/x#%zz\": invalid URL escape \"%zz\""),
    ),
    (
        "//h%41/ü?ü",
        Err("unable to parse url: parse \"//h%41/ü?ü\": invalid URL escape \"%41\""),
    ),
    (
        "//a b/a/b?a?b#f%20g",
        Err("unable to parse url: parse \"//a b/a/b?a?b\": invalid character \" \" in host name"),
    ),
    (
        "HTTPS://h:xrel/x?a?b",
        Err("unable to parse url: parse \"HTTPS://h:xrel/x?a?b\": invalid port \":xrel\" after host"),
    ),
    (
        "://u:p@h:1?a?b#a#b",
        Err("unable to parse url: parse \"://u:p@h:1?a?b\": missing protocol scheme"),
    ),
    (
        "http://u:p@h:1/%zz?#",
        Err("unable to parse url: parse \"http://u:p@h:1/%zz?\": invalid URL escape \"%zz\""),
    ),
    (
        "a+b://u%20x:p%3A@hrel/x?a?b#f",
        Ok("map[fragment:f host:hrel hostname:hrel opaque: path:/x query:a?b scheme:a+b userinfo:u%20x:p%3A]"),
    ),
    (
        "HTTPS://ü.examplerel/x?ü#%zz",
        Err("unable to parse url: parse \"HTTPS://ü.examplerel/x?ü#%zz\": invalid URL escape \"%zz\""),
    ),
    (
        "://u:p:q@ha:b/c?x=1&y=%20#",
        Err("unable to parse url: parse \"://u:p:q@ha:b/c?x=1&y=%20\": missing protocol scheme"),
    ),
    (
        "mailto://h%41/a/b?x=1&y=%20#a#b",
        Err("unable to parse url: parse \"mailto://h%41/a/b?x=1&y=%20\": invalid URL escape \"%41\""),
    ),
    (
        "1x://h:x?a?b#",
        Err("unable to parse url: parse \"1x://h:x?a?b\": first path segment in URL cannot contain colon"),
    ),
    (
        "a+b://u:p:q@h/ü?#f",
        Ok("map[fragment:f host:h hostname:h opaque: path:/ü query: scheme:a+b userinfo:u:p%3Aq]"),
    ),
    (
        "1x://a b/%zz?a?b#",
        Err("unable to parse url: parse \"1x://a b/%zz?a?b\": first path segment in URL cannot contain colon"),
    ),
    (
        "mailto://u@h/ü?",
        Ok("map[fragment: host:h hostname:h opaque: path:/ü query: scheme:mailto userinfo:u]"),
    ),
    (
        "http:?a?b#",
        Ok("map[fragment: host: hostname: opaque: path: query:a?b scheme:http userinfo:]"),
    ),
    (
        "http://u%20x:p%3A@h/a%2Fb?#",
        Ok("map[fragment: host:h hostname:h opaque: path:/a/b query: scheme:http userinfo:u%20x:p%3A]"),
    ),
    (
        "mailto://h%41/a?b?x=1&y=%20#a#b",
        Err("unable to parse url: parse \"mailto://h%41/a?b?x=1&y=%20\": invalid URL escape \"%41\""),
    ),
    (
        "http://h%41rel/x#",
        Err("unable to parse url: parse \"http://h%41rel/x\": invalid URL escape \"%41\""),
    ),
    (
        "http://h:8080//x?ü#a#b",
        Ok("map[fragment:a#b host:h:8080 hostname:h opaque: path://x query:ü scheme:http userinfo:]"),
    ),
    (
        "HTTPS:/a%2Fb#",
        Ok("map[fragment: host: hostname: opaque: path:/a/b query: scheme:https userinfo:]"),
    ),
    (
        "HTTPS://hosta:b/c?a?b#f%20g",
        Err("unable to parse url: parse \"HTTPS://hosta:b/c?a?b\": invalid port \":b\" after host"),
    ),
    (
        "mailto:///a/b#",
        Ok("map[fragment: host: hostname: opaque: path:/a/b query: scheme:mailto userinfo:]"),
    ),
    (
        "a+b://h:8080//x?#ü!",
        Ok("map[fragment:ü! host:h:8080 hostname:h opaque: path://x query: scheme:a+b userinfo:]"),
    ),
    (
        "://host/a b",
        Err("unable to parse url: parse \"://host/a b\": missing protocol scheme"),
    ),
    (
        "://ü.examplerel/x?#f",
        Err("unable to parse url: parse \"://ü.examplerel/x?\": missing protocol scheme"),
    ),
    (
        "://host/a%2Fb#f%20g",
        Err("unable to parse url: parse \"://host/a%2Fb\": missing protocol scheme"),
    ),
    (
        "://u%20x:p%3A@h/a?b?ü#",
        Err("unable to parse url: parse \"://u%20x:p%3A@h/a?b?ü\": missing protocol scheme"),
    ),
    (
        "//h:x#",
        Err("unable to parse url: parse \"//h:x\": invalid port \":x\" after host"),
    ),
    (
        "mailto://host/ü?#",
        Ok("map[fragment: host:host hostname:host opaque: path:/ü query: scheme:mailto userinfo:]"),
    ),
    (
        "a+b://h:xrel/x?ü#%zz",
        Err("unable to parse url: parse \"a+b://h:xrel/x?ü\": invalid port \":xrel\" after host"),
    ),
    (
        "http://u@h/ü?#",
        Ok("map[fragment: host:h hostname:h opaque: path:/ü query: scheme:http userinfo:u]"),
    ),
    (
        "a+b:////x",
        Ok("map[fragment: host: hostname: opaque: path://x query: scheme:a+b userinfo:]"),
    ),
    (
        "1x:///a?b?#f",
        Err("unable to parse url: parse \"1x:///a?b?\": first path segment in URL cannot contain colon"),
    ),
    (
        "HTTPS://h%41a:b/c?ü#f",
        Err("unable to parse url: parse \"HTTPS://h%41a:b/c?ü\": invalid port \":b\" after host"),
    ),
    (
        "a+b:///a b?x=1&y=%20#f",
        Ok("map[fragment:f host: hostname: opaque: path:/a b query:x=1&y=%20 scheme:a+b userinfo:]"),
    ),
    (
        "http://ü.example//x?x=1&y=%20#a#b",
        Ok(
            "map[fragment:a#b host:ü.example hostname:ü.example opaque: path://x query:x=1&y=%20 scheme:http userinfo:]",
        ),
    ),
    (
        "a+b://host/%zz?a?b#ü!",
        Err("unable to parse url: parse \"a+b://host/%zz?a?b\": invalid URL escape \"%zz\""),
    ),
    (
        "http://u:p@h:1/ü?x=1&y=%20",
        Ok("map[fragment: host:h:1 hostname:h opaque: path:/ü query:x=1&y=%20 scheme:http userinfo:u:p]"),
    ),
    (
        "mailto://u%20x:p%3A@h//x?ü#",
        Ok("map[fragment: host:h hostname:h opaque: path://x query:ü scheme:mailto userinfo:u%20x:p%3A]"),
    ),
    (
        "://ü.example/a b?ü",
        Err("unable to parse url: parse \"://ü.example/a b?ü\": missing protocol scheme"),
    ),
    (
        "1x://h%41/?#f",
        Err("unable to parse url: parse \"1x://h%41/?\": first path segment in URL cannot contain colon"),
    ),
    (
        "mailto://u@hrel/x?#%zz",
        Err("unable to parse url: parse \"mailto://u@hrel/x?#%zz\": invalid URL escape \"%zz\""),
    ),
    (
        "mailto://h:8080/ü#%zz",
        Err("unable to parse url: parse \"mailto://h:8080/ü#%zz\": invalid URL escape \"%zz\""),
    ),
    (
        "HTTPS://host?x=1&y=%20#",
        Ok("map[fragment: host:host hostname:host opaque: path: query:x=1&y=%20 scheme:https userinfo:]"),
    ),
    (
        "://u:p@h:1/ü?#f",
        Err("unable to parse url: parse \"://u:p@h:1/ü?\": missing protocol scheme"),
    ),
    (
        "1x://h:8080/a%2Fb?a?b#a#b",
        Err("unable to parse url: parse \"1x://h:8080/a%2Fb?a?b\": first path segment in URL cannot contain colon"),
    ),
    (
        "HTTPS://u:p@h:1/?#ü!",
        Ok("map[fragment:ü! host:h:1 hostname:h opaque: path:/ query: scheme:https userinfo:u:p]"),
    ),
    (
        "//u%20x:p%3A@h?ü#f%20g",
        Ok("map[fragment:f g host:h hostname:h opaque: path: query:ü scheme: userinfo:u%20x:p%3A]"),
    ),
    (
        "http://h%41/ü#f%20g",
        Err("unable to parse url: parse \"http://h%41/ü\": invalid URL escape \"%41\""),
    ),
    (
        "mailto://a ba:b/c#f%20g",
        Err("unable to parse url: parse \"mailto://a ba:b/c\": invalid port \":b\" after host"),
    ),
    (
        "http://u@h//x?#a#b",
        Ok("map[fragment:a#b host:h hostname:h opaque: path://x query: scheme:http userinfo:u]"),
    ),
    (
        "//h%41/a%2Fb?ü#a#b",
        Err("unable to parse url: parse \"//h%41/a%2Fb?ü\": invalid URL escape \"%41\""),
    ),
    (
        "HTTPS://h:x?x=1&y=%20#",
        Err("unable to parse url: parse \"HTTPS://h:x?x=1&y=%20\": invalid port \":x\" after host"),
    ),
    (
        "//host/#f",
        Ok("map[fragment:f host:host hostname:host opaque: path:/ query: scheme: userinfo:]"),
    ),
    (
        "//h%41/a/b?x=1&y=%20",
        Err("unable to parse url: parse \"//h%41/a/b?x=1&y=%20\": invalid URL escape \"%41\""),
    ),
    (
        "mailto://ü.example/ü?ü#",
        Ok("map[fragment: host:ü.example hostname:ü.example opaque: path:/ü query:ü scheme:mailto userinfo:]"),
    ),
    (
        "//u%20x:p%3A@h/a%2Fb#f%20g",
        Ok("map[fragment:f g host:h hostname:h opaque: path:/a/b query: scheme: userinfo:u%20x:p%3A]"),
    ),
    (
        "HTTPS://h:8080#a#b",
        Ok("map[fragment:a#b host:h:8080 hostname:h opaque: path: query: scheme:https userinfo:]"),
    ),
    (
        "1x://u@h/ü#ü!",
        Err("unable to parse url: parse \"1x://u@h/ü\": first path segment in URL cannot contain colon"),
    ),
    (
        "1x://u:p@h:1/a b?x=1&y=%20#%zz",
        Err(
            "unable to parse url: parse \"1x://u:p@h:1/a b?x=1&y=%20\": first path segment in URL cannot contain colon",
        ),
    ),
    (
        "a+b://ü.examplerel/x?#a#b",
        Ok("map[fragment:a#b host:ü.examplerel hostname:ü.examplerel opaque: path:/x query: scheme:a+b userinfo:]"),
    ),
    (
        "://h%41/?x=1&y=%20#f%20g",
        Err("unable to parse url: parse \"://h%41/?x=1&y=%20\": missing protocol scheme"),
    ),
    (
        "1x://u:p:q@h/a b?#f%20g",
        Err("unable to parse url: parse \"1x://u:p:q@h/a b?\": first path segment in URL cannot contain colon"),
    ),
    (
        "://u%20x:p%3A@h//x?a?b#f",
        Err("unable to parse url: parse \"://u%20x:p%3A@h//x?a?b\": missing protocol scheme"),
    ),
    (
        "http://h%41/a b#f%20g",
        Err("unable to parse url: parse \"http://h%41/a b\": invalid URL escape \"%41\""),
    ),
    (
        "http:/?x=1&y=%20#%zz",
        Err("unable to parse url: parse \"http:/?x=1&y=%20#%zz\": invalid URL escape \"%zz\""),
    ),
    (
        "/ü#%zz",
        Err("unable to parse url: parse \"/ü#%zz\": invalid URL escape \"%zz\""),
    ),
    (
        ":/a%2Fb?x=1&y=%20#ü!",
        Err("unable to parse url: parse \":/a%2Fb?x=1&y=%20\": missing protocol scheme"),
    ),
    (
        "1x:/a b?ü#a#b",
        Err("unable to parse url: parse \"1x:/a b?ü\": first path segment in URL cannot contain colon"),
    ),
    (
        "1x://u:p@h:1/?ü#a#b",
        Err("unable to parse url: parse \"1x://u:p@h:1/?ü\": first path segment in URL cannot contain colon"),
    ),
    (
        "HTTPS://u%20x:p%3A@h?a?b#%zz",
        Err("unable to parse url: parse \"HTTPS://u%20x:p%3A@h?a?b#%zz\": invalid URL escape \"%zz\""),
    ),
    (
        "mailto://ü.example/a b#f",
        Ok("map[fragment:f host:ü.example hostname:ü.example opaque: path:/a b query: scheme:mailto userinfo:]"),
    ),
    (
        "HTTPS://ü.example/a%2Fb?x=1&y=%20#a#b",
        Ok(
            "map[fragment:a#b host:ü.example hostname:ü.example opaque: path:/a/b query:x=1&y=%20 scheme:https userinfo:]",
        ),
    ),
    (
        "//a b/%zz?#%zz",
        Err("unable to parse url: parse \"//a b/%zz?\": invalid character \" \" in host name"),
    ),
    (
        "1x://a b/a b#f%20g",
        Err("unable to parse url: parse \"1x://a b/a b\": first path segment in URL cannot contain colon"),
    ),
    (
        "http://u@h/?x=1&y=%20",
        Ok("map[fragment: host:h hostname:h opaque: path:/ query:x=1&y=%20 scheme:http userinfo:u]"),
    ),
    (
        "http://u@h/?#ü!",
        Ok("map[fragment:ü! host:h hostname:h opaque: path:/ query: scheme:http userinfo:u]"),
    ),
    (
        "://u@h/a/b?ü#",
        Err("unable to parse url: parse \"://u@h/a/b?ü\": missing protocol scheme"),
    ),
    (
        "mailto://u%20x:p%3A@h/a%2Fb?a?b#f%20g",
        Ok("map[fragment:f g host:h hostname:h opaque: path:/a/b query:a?b scheme:mailto userinfo:u%20x:p%3A]"),
    ),
    (
        "mailto://u:p@h:1/a?b?#ü!",
        Ok("map[fragment:ü! host:h:1 hostname:h opaque: path:/a query:b? scheme:mailto userinfo:u:p]"),
    ),
    (
        "HTTPS://ü.example/a b?",
        Ok("map[fragment: host:ü.example hostname:ü.example opaque: path:/a b query: scheme:https userinfo:]"),
    ),
    (
        "mailto://h:8080rel/x?#",
        Err("unable to parse url: parse \"mailto://h:8080rel/x?\": invalid port \":8080rel\" after host"),
    ),
    (
        "HTTPS:///%zz?ü#%zz",
        Err("unable to parse url: parse \"HTTPS:///%zz?ü\": invalid URL escape \"%zz\""),
    ),
    (
        "mailto://u%20x:p%3A@h/?ü#f",
        Ok("map[fragment:f host:h hostname:h opaque: path:/ query:ü scheme:mailto userinfo:u%20x:p%3A]"),
    ),
    (
        "a+b://u@h/%zz?#",
        Err("unable to parse url: parse \"a+b://u@h/%zz?\": invalid URL escape \"%zz\""),
    ),
    (
        "//ü.example/a/b?#",
        Ok("map[fragment: host:ü.example hostname:ü.example opaque: path:/a/b query: scheme: userinfo:]"),
    ),
    (
        "://h:x/a/b?ü#f",
        Err("unable to parse url: parse \"://h:x/a/b?ü\": missing protocol scheme"),
    ),
    (
        "HTTPS://u%20x:p%3A@h/a/b?ü#ü!",
        Ok("map[fragment:ü! host:h hostname:h opaque: path:/a/b query:ü scheme:https userinfo:u%20x:p%3A]"),
    ),
    (
        "://host/ü?a?b#a#b",
        Err("unable to parse url: parse \"://host/ü?a?b\": missing protocol scheme"),
    ),
    (
        "://h:x/ü?a?b#ü!",
        Err("unable to parse url: parse \"://h:x/ü?a?b\": missing protocol scheme"),
    ),
    (
        "http://u:p@h:1/ü?#a#b",
        Ok("map[fragment:a#b host:h:1 hostname:h opaque: path:/ü query: scheme:http userinfo:u:p]"),
    ),
    (
        "a+b://h%41/ü?x=1&y=%20#",
        Err("unable to parse url: parse \"a+b://h%41/ü?x=1&y=%20\": invalid URL escape \"%41\""),
    ),
    (
        "http://u:p@h:1?x=1&y=%20#",
        Ok("map[fragment: host:h:1 hostname:h opaque: path: query:x=1&y=%20 scheme:http userinfo:u:p]"),
    ),
    (
        "1x://ü.example/ü?a?b#%zz",
        Err("unable to parse url: parse \"1x://ü.example/ü?a?b\": first path segment in URL cannot contain colon"),
    ),
    (
        "a+b://u:p:q@h?x=1&y=%20",
        Ok("map[fragment: host:h hostname:h opaque: path: query:x=1&y=%20 scheme:a+b userinfo:u:p%3Aq]"),
    ),
    (
        "http:///ü?a?b#ü!",
        Ok("map[fragment:ü! host: hostname: opaque: path:/ü query:a?b scheme:http userinfo:]"),
    ),
    (
        "http://h:8080/%zz#f",
        Err("unable to parse url: parse \"http://h:8080/%zz\": invalid URL escape \"%zz\""),
    ),
    (
        "HTTPS://h:8080/?#ü!",
        Ok("map[fragment:ü! host:h:8080 hostname:h opaque: path:/ query: scheme:https userinfo:]"),
    ),
    (
        "mailto://host/a%2Fb?ü#f%20g",
        Ok("map[fragment:f g host:host hostname:host opaque: path:/a/b query:ü scheme:mailto userinfo:]"),
    ),
    (
        "a+b://h:xa:b/c?#%zz",
        Err("unable to parse url: parse \"a+b://h:xa:b/c?\": invalid port \":b\" after host"),
    ),
    (
        "a+b://host/a?b#a#b",
        Ok("map[fragment:a#b host:host hostname:host opaque: path:/a query:b scheme:a+b userinfo:]"),
    ),
    (
        "://h%41/?ü#a#b",
        Err("unable to parse url: parse \"://h%41/?ü\": missing protocol scheme"),
    ),
    (
        "HTTPS://host/%zz?x=1&y=%20#ü!",
        Err("unable to parse url: parse \"HTTPS://host/%zz?x=1&y=%20\": invalid URL escape \"%zz\""),
    ),
    (
        "//u:p:q@h/ü?x=1&y=%20#ü!",
        Ok("map[fragment:ü! host:h hostname:h opaque: path:/ü query:x=1&y=%20 scheme: userinfo:u:p%3Aq]"),
    ),
    (
        "/ü?ü",
        Ok("map[fragment: host: hostname: opaque: path:/ü query:ü scheme: userinfo:]"),
    ),
    (
        "http://h:x/%zz#a#b",
        Err("unable to parse url: parse \"http://h:x/%zz\": invalid port \":x\" after host"),
    ),
    (
        "1x://h:8080/a b?ü",
        Err("unable to parse url: parse \"1x://h:8080/a b?ü\": first path segment in URL cannot contain colon"),
    ),
    (
        "HTTPS://u%20x:p%3A@h?#%zz",
        Err("unable to parse url: parse \"HTTPS://u%20x:p%3A@h?#%zz\": invalid URL escape \"%zz\""),
    ),
    (
        "mailto:rel/x?ü#",
        Ok("map[fragment: host: hostname: opaque:rel/x path: query:ü scheme:mailto userinfo:]"),
    ),
    (
        "a+b://u@h?x=1&y=%20#f",
        Ok("map[fragment:f host:h hostname:h opaque: path: query:x=1&y=%20 scheme:a+b userinfo:u]"),
    ),
    (
        "mailto://h:8080/?a?b#%zz",
        Err("unable to parse url: parse \"mailto://h:8080/?a?b#%zz\": invalid URL escape \"%zz\""),
    ),
    (
        "//h:xa:b/c#%zz",
        Err("unable to parse url: parse \"//h:xa:b/c\": invalid port \":b\" after host"),
    ),
    (
        "HTTPS://u:p@h:1/a/b?a?b#",
        Ok("map[fragment: host:h:1 hostname:h opaque: path:/a/b query:a?b scheme:https userinfo:u:p]"),
    ),
    (
        "a+b://hosta:b/c",
        Err("unable to parse url: parse \"a+b://hosta:b/c\": invalid port \":b\" after host"),
    ),
    (
        "HTTPS://h:8080/a%2Fb?ü#ü!",
        Ok("map[fragment:ü! host:h:8080 hostname:h opaque: path:/a/b query:ü scheme:https userinfo:]"),
    ),
    (
        "//h:x/a%2Fb?#%zz",
        Err("unable to parse url: parse \"//h:x/a%2Fb?\": invalid port \":x\" after host"),
    ),
    (
        "HTTPS://u@h?ü",
        Ok("map[fragment: host:h hostname:h opaque: path: query:ü scheme:https userinfo:u]"),
    ),
    (
        "/?#a#b",
        Ok("map[fragment:a#b host: hostname: opaque: path:/ query: scheme: userinfo:]"),
    ),
    (
        "1x://rel/x#a#b",
        Err("unable to parse url: parse \"1x://rel/x\": first path segment in URL cannot contain colon"),
    ),
    (
        "1x://a b/a%2Fb?ü#f%20g",
        Err("unable to parse url: parse \"1x://a b/a%2Fb?ü\": first path segment in URL cannot contain colon"),
    ),
    (
        "1x://u:p@h:1rel/x?a?b#%zz",
        Err("unable to parse url: parse \"1x://u:p@h:1rel/x?a?b\": first path segment in URL cannot contain colon"),
    ),
    (
        "a+b://u%20x:p%3A@h/a%2Fb?x=1&y=%20#",
        Ok("map[fragment: host:h hostname:h opaque: path:/a/b query:x=1&y=%20 scheme:a+b userinfo:u%20x:p%3A]"),
    ),
    (
        "a+b:/%zz?ü#ü!",
        Err("unable to parse url: parse \"a+b:/%zz?ü\": invalid URL escape \"%zz\""),
    ),
    (
        "http://u:p@h:1/%zz?x=1&y=%20#a#b",
        Err("unable to parse url: parse \"http://u:p@h:1/%zz?x=1&y=%20\": invalid URL escape \"%zz\""),
    ),
    (
        "http://host/a b?#ü!",
        Ok("map[fragment:ü! host:host hostname:host opaque: path:/a b query: scheme:http userinfo:]"),
    ),
    (
        "1x://u:p@h:1/%zz?ü#",
        Err("unable to parse url: parse \"1x://u:p@h:1/%zz?ü\": first path segment in URL cannot contain colon"),
    ),
    (
        "http:///?#a#b",
        Ok("map[fragment:a#b host: hostname: opaque: path:/ query: scheme:http userinfo:]"),
    ),
    (
        "HTTPS://u:p:q@h?a?b",
        Ok("map[fragment: host:h hostname:h opaque: path: query:a?b scheme:https userinfo:u:p%3Aq]"),
    ),
    (
        "HTTPS://u%20x:p%3A@ha:b/c?ü#%zz",
        Err("unable to parse url: parse \"HTTPS://u%20x:p%3A@ha:b/c?ü\": invalid port \":b\" after host"),
    ),
    (
        "HTTPS://host/?x=1&y=%20#ü!",
        Ok("map[fragment:ü! host:host hostname:host opaque: path:/ query:x=1&y=%20 scheme:https userinfo:]"),
    ),
    (
        "http://h:8080/a/b?ü#%zz",
        Err("unable to parse url: parse \"http://h:8080/a/b?ü#%zz\": invalid URL escape \"%zz\""),
    ),
    (
        "////x?x=1&y=%20#f",
        Ok("map[fragment:f host: hostname: opaque: path:////x query:x=1&y=%20 scheme: userinfo:]"),
    ),
    (
        "mailto://a b/?a?b#f",
        Err("unable to parse url: parse \"mailto://a b/?a?b\": invalid character \" \" in host name"),
    ),
    (
        "a+b:///a?b?#f",
        Ok("map[fragment:f host: hostname: opaque: path:/a query:b? scheme:a+b userinfo:]"),
    ),
    (
        "://u%20x:p%3A@h/ü",
        Err("unable to parse url: parse \"://u%20x:p%3A@h/ü\": missing protocol scheme"),
    ),
    (
        "://u@h/a b?ü#f%20g",
        Err("unable to parse url: parse \"://u@h/a b?ü\": missing protocol scheme"),
    ),
    (
        "HTTPS://u:p@h:1a:b/c?ü#%zz",
        Err("unable to parse url: parse \"HTTPS://u:p@h:1a:b/c?ü\": invalid port \":b\" after host"),
    ),
    (
        "mailto://h:x/a/b#f%20g",
        Err("unable to parse url: parse \"mailto://h:x/a/b\": invalid port \":x\" after host"),
    ),
    (
        "mailto://h%41/a%2Fb",
        Err("unable to parse url: parse \"mailto://h%41/a%2Fb\": invalid URL escape \"%41\""),
    ),
    (
        "//u%20x:p%3A@h/ü?#f",
        Ok("map[fragment:f host:h hostname:h opaque: path:/ü query: scheme: userinfo:u%20x:p%3A]"),
    ),
    (
        "a+b://h%41//x?#",
        Err("unable to parse url: parse \"a+b://h%41//x?\": invalid URL escape \"%41\""),
    ),
    (
        "http://a b/a b?x=1&y=%20#a#b",
        Err("unable to parse url: parse \"http://a b/a b?x=1&y=%20\": invalid character \" \" in host name"),
    ),
    (
        "mailto:/a?b#",
        Ok("map[fragment: host: hostname: opaque: path:/a query:b scheme:mailto userinfo:]"),
    ),
    (
        "HTTPS://u:p@h:1/%zz#",
        Err("unable to parse url: parse \"HTTPS://u:p@h:1/%zz\": invalid URL escape \"%zz\""),
    ),
    (
        "a+b://h:8080/a%2Fb?#ü!",
        Ok("map[fragment:ü! host:h:8080 hostname:h opaque: path:/a/b query: scheme:a+b userinfo:]"),
    ),
    (
        "http:///a b?#ü!",
        Ok("map[fragment:ü! host: hostname: opaque: path:/a b query: scheme:http userinfo:]"),
    ),
    (
        "1x://a ba:b/c?x=1&y=%20#ü!",
        Err("unable to parse url: parse \"1x://a ba:b/c?x=1&y=%20\": first path segment in URL cannot contain colon"),
    ),
    (
        "1x://h:8080#f",
        Err("unable to parse url: parse \"1x://h:8080\": first path segment in URL cannot contain colon"),
    ),
    (
        "a+b:///a b?",
        Ok("map[fragment: host: hostname: opaque: path:/a b query: scheme:a+b userinfo:]"),
    ),
    (
        "a+b://h:8080/%zz?ü#",
        Err("unable to parse url: parse \"a+b://h:8080/%zz?ü\": invalid URL escape \"%zz\""),
    ),
    (
        "http://u@h/ü#f",
        Ok("map[fragment:f host:h hostname:h opaque: path:/ü query: scheme:http userinfo:u]"),
    ),
    (
        "://h%41/ü?ü#a#b",
        Err("unable to parse url: parse \"://h%41/ü?ü\": missing protocol scheme"),
    ),
    (
        "1x:/%zz#f%20g",
        Err("unable to parse url: parse \"1x:/%zz\": first path segment in URL cannot contain colon"),
    ),
    (
        "//h:8080?ü#",
        Ok("map[fragment: host:h:8080 hostname:h opaque: path: query:ü scheme: userinfo:]"),
    ),
    (
        "HTTPS:/a%2Fb?a?b#ü!",
        Ok("map[fragment:ü! host: hostname: opaque: path:/a/b query:a?b scheme:https userinfo:]"),
    ),
    (
        "HTTPS://host/a?b?x=1&y=%20#a#b",
        Ok("map[fragment:a#b host:host hostname:host opaque: path:/a query:b?x=1&y=%20 scheme:https userinfo:]"),
    ),
    (
        "//u%20x:p%3A@h/%zz?#%zz",
        Err("unable to parse url: parse \"//u%20x:p%3A@h/%zz?\": invalid URL escape \"%zz\""),
    ),
    (
        "HTTPS://u%20x:p%3A@h?ü",
        Ok("map[fragment: host:h hostname:h opaque: path: query:ü scheme:https userinfo:u%20x:p%3A]"),
    ),
    (
        "1x://u:p:q@h/ü?a?b#ü!",
        Err("unable to parse url: parse \"1x://u:p:q@h/ü?a?b\": first path segment in URL cannot contain colon"),
    ),
    (
        "//u:p@h:1/a?b?x=1&y=%20#ü!",
        Ok("map[fragment:ü! host:h:1 hostname:h opaque: path:/a query:b?x=1&y=%20 scheme: userinfo:u:p]"),
    ),
    (
        "a+b://u:p@h:1/?ü#a#b",
        Ok("map[fragment:a#b host:h:1 hostname:h opaque: path:/ query:ü scheme:a+b userinfo:u:p]"),
    ),
    (
        "://u:p:q@h/?x=1&y=%20#f%20g",
        Err("unable to parse url: parse \"://u:p:q@h/?x=1&y=%20\": missing protocol scheme"),
    ),
    (
        "://u@h/a b#%zz",
        Err("unable to parse url: parse \"://u@h/a b\": missing protocol scheme"),
    ),
    (
        "mailto://h:8080//x?ü#a#b",
        Ok("map[fragment:a#b host:h:8080 hostname:h opaque: path://x query:ü scheme:mailto userinfo:]"),
    ),
    (
        "HTTPS://u%20x:p%3A@h/?x=1&y=%20#a#b",
        Ok("map[fragment:a#b host:h hostname:h opaque: path:/ query:x=1&y=%20 scheme:https userinfo:u%20x:p%3A]"),
    ),
    (
        "HTTPS://h%41a:b/c#ü!",
        Err("unable to parse url: parse \"HTTPS://h%41a:b/c\": invalid port \":b\" after host"),
    ),
    (
        "//h%41//x?ü#",
        Err("unable to parse url: parse \"//h%41//x?ü\": invalid URL escape \"%41\""),
    ),
    (
        "http://rel/x?a?b#f",
        Ok("map[fragment:f host:rel hostname:rel opaque: path:/x query:a?b scheme:http userinfo:]"),
    ),
    (
        "a+b://u:p@h:1/%zz?ü#ü!",
        Err("unable to parse url: parse \"a+b://u:p@h:1/%zz?ü\": invalid URL escape \"%zz\""),
    ),
    (
        "mailto:?#a#b",
        Ok("map[fragment:a#b host: hostname: opaque: path: query: scheme:mailto userinfo:]"),
    ),
    (
        "HTTPS://h%41/a?b?a?b#a#b",
        Err("unable to parse url: parse \"HTTPS://h%41/a?b?a?b\": invalid URL escape \"%41\""),
    ),
    (
        "a+b://host//x#ü!",
        Ok("map[fragment:ü! host:host hostname:host opaque: path://x query: scheme:a+b userinfo:]"),
    ),
    (
        "//host/a?b?x=1&y=%20#ü!",
        Ok("map[fragment:ü! host:host hostname:host opaque: path:/a query:b?x=1&y=%20 scheme: userinfo:]"),
    ),
    (
        "a+b://u:p:q@h//x?x=1&y=%20#%zz",
        Err("unable to parse url: parse \"a+b://u:p:q@h//x?x=1&y=%20#%zz\": invalid URL escape \"%zz\""),
    ),
    (
        "mailto:/#%zz",
        Err("unable to parse url: parse \"mailto:/#%zz\": invalid URL escape \"%zz\""),
    ),
    (
        "a+b://h%41/a b?ü#f%20g",
        Err("unable to parse url: parse \"a+b://h%41/a b?ü\": invalid URL escape \"%41\""),
    ),
    (
        "://u:p:q@h/?ü#a#b",
        Err("unable to parse url: parse \"://u:p:q@h/?ü\": missing protocol scheme"),
    ),
    (
        "://a ba:b/c?#%zz",
        Err("unable to parse url: parse \"://a ba:b/c?\": missing protocol scheme"),
    ),
    (
        "HTTPS://a b/#a#b",
        Err("unable to parse url: parse \"HTTPS://a b/\": invalid character \" \" in host name"),
    ),
    (
        "http://u@h?ü#ü!",
        Ok("map[fragment:ü! host:h hostname:h opaque: path: query:ü scheme:http userinfo:u]"),
    ),
    (
        "http://h:x/a b#f",
        Err("unable to parse url: parse \"http://h:x/a b\": invalid port \":x\" after host"),
    ),
    (
        "1x://u:p:q@h?#%zz",
        Err("unable to parse url: parse \"1x://u:p:q@h?\": first path segment in URL cannot contain colon"),
    ),
    (
        "//host/a?b?a?b",
        Ok("map[fragment: host:host hostname:host opaque: path:/a query:b?a?b scheme: userinfo:]"),
    ),
    (
        "1x://u%20x:p%3A@h/a%2Fb?a?b#%zz",
        Err(
            "unable to parse url: parse \"1x://u%20x:p%3A@h/a%2Fb?a?b\": first path segment in URL cannot contain colon",
        ),
    ),
    (
        "a+b://u@h?x=1&y=%20#ü!",
        Ok("map[fragment:ü! host:h hostname:h opaque: path: query:x=1&y=%20 scheme:a+b userinfo:u]"),
    ),
    (
        "mailto:///a%2Fb?a?b#a#b",
        Ok("map[fragment:a#b host: hostname: opaque: path:/a/b query:a?b scheme:mailto userinfo:]"),
    ),
    (
        "a+b://u:p@h:1rel/x?a?b#f",
        Err("unable to parse url: parse \"a+b://u:p@h:1rel/x?a?b\": invalid port \":1rel\" after host"),
    ),
    (
        "1x://u:p@h:1/a b?a?b",
        Err("unable to parse url: parse \"1x://u:p@h:1/a b?a?b\": first path segment in URL cannot contain colon"),
    ),
    (
        "://h:x/a%2Fb?a?b#ü!",
        Err("unable to parse url: parse \"://h:x/a%2Fb?a?b\": missing protocol scheme"),
    ),
    (
        "http://u:p:q@h/a b?a?b#ü!",
        Ok("map[fragment:ü! host:h hostname:h opaque: path:/a b query:a?b scheme:http userinfo:u:p%3Aq]"),
    ),
    (
        "HTTPS://u@h/a%2Fb",
        Ok("map[fragment: host:h hostname:h opaque: path:/a/b query: scheme:https userinfo:u]"),
    ),
    (
        "HTTPS://h:x/a/b?ü#",
        Err("unable to parse url: parse \"HTTPS://h:x/a/b?ü\": invalid port \":x\" after host"),
    ),
    (
        "a+b://u:p:q@h#",
        Ok("map[fragment: host:h hostname:h opaque: path: query: scheme:a+b userinfo:u:p%3Aq]"),
    ),
    (
        "1x://u%20x:p%3A@hrel/x?ü",
        Err("unable to parse url: parse \"1x://u%20x:p%3A@hrel/x?ü\": first path segment in URL cannot contain colon"),
    ),
    (
        "mailto://host?a?b#%zz",
        Err("unable to parse url: parse \"mailto://host?a?b#%zz\": invalid URL escape \"%zz\""),
    ),
    (
        "a+b://ü.example/a?b#",
        Ok("map[fragment: host:ü.example hostname:ü.example opaque: path:/a query:b scheme:a+b userinfo:]"),
    ),
    (
        "//h%41/a?b?ü#",
        Err("unable to parse url: parse \"//h%41/a?b?ü\": invalid URL escape \"%41\""),
    ),
    (
        "mailto:rel/x?#f%20g",
        Ok("map[fragment:f g host: hostname: opaque:rel/x path: query: scheme:mailto userinfo:]"),
    ),
    (
        "://u@h?a?b#a#b",
        Err("unable to parse url: parse \"://u@h?a?b\": missing protocol scheme"),
    ),
    (
        "://h%41/a%2Fb?x=1&y=%20#f",
        Err("unable to parse url: parse \"://h%41/a%2Fb?x=1&y=%20\": missing protocol scheme"),
    ),
    (
        "mailto://ü.examplea:b/c?a?b#a#b",
        Err("unable to parse url: parse \"mailto://ü.examplea:b/c?a?b\": invalid port \":b\" after host"),
    ),
    (
        "HTTPS://ü.examplea:b/c?a?b#%zz",
        Err("unable to parse url: parse \"HTTPS://ü.examplea:b/c?a?b\": invalid port \":b\" after host"),
    ),
    (
        "HTTPS:///a%2Fb?x=1&y=%20#%zz",
        Err("unable to parse url: parse \"HTTPS:///a%2Fb?x=1&y=%20#%zz\": invalid URL escape \"%zz\""),
    ),
    (
        "//a ba:b/c#ü!",
        Err("unable to parse url: parse \"//a ba:b/c\": invalid port \":b\" after host"),
    ),
    (
        "http://hosta:b/c?#%zz",
        Err("unable to parse url: parse \"http://hosta:b/c?\": invalid port \":b\" after host"),
    ),
    (
        "HTTPS:a:b/c?ü#a#b",
        Ok("map[fragment:a#b host: hostname: opaque:a:b/c path: query:ü scheme:https userinfo:]"),
    ),
    (
        "//a b/%zz?x=1&y=%20#",
        Err("unable to parse url: parse \"//a b/%zz?x=1&y=%20\": invalid character \" \" in host name"),
    ),
    (
        "a+b:/ü#",
        Ok("map[fragment: host: hostname: opaque: path:/ü query: scheme:a+b userinfo:]"),
    ),
    (
        "mailto:///%zz#ü!",
        Err("unable to parse url: parse \"mailto:///%zz\": invalid URL escape \"%zz\""),
    ),
    (
        "http:///a?b?a?b",
        Ok("map[fragment: host: hostname: opaque: path:/a query:b?a?b scheme:http userinfo:]"),
    ),
    (
        "://u:p@h:1/a/b#f%20g",
        Err("unable to parse url: parse \"://u:p@h:1/a/b\": missing protocol scheme"),
    ),
    (
        "mailto://u:p@h:1/a?b?a?b",
        Ok("map[fragment: host:h:1 hostname:h opaque: path:/a query:b?a?b scheme:mailto userinfo:u:p]"),
    ),
    (
        "HTTPS:///%zz?x=1&y=%20#",
        Err("unable to parse url: parse \"HTTPS:///%zz?x=1&y=%20\": invalid URL escape \"%zz\""),
    ),
    (
        "1x://a b/a b?#",
        Err("unable to parse url: parse \"1x://a b/a b?\": first path segment in URL cannot contain colon"),
    ),
    (
        "1x://h:8080a:b/c?ü#",
        Err("unable to parse url: parse \"1x://h:8080a:b/c?ü\": first path segment in URL cannot contain colon"),
    ),
    (
        "mailto://h:x/?x=1&y=%20#ü!",
        Err("unable to parse url: parse \"mailto://h:x/?x=1&y=%20\": invalid port \":x\" after host"),
    ),
    (
        "HTTPS://h%41?a?b#%zz",
        Err("unable to parse url: parse \"HTTPS://h%41?a?b\": invalid URL escape \"%41\""),
    ),
    (
        "1x://u%20x:p%3A@hrel/x?ü#%zz",
        Err("unable to parse url: parse \"1x://u%20x:p%3A@hrel/x?ü\": first path segment in URL cannot contain colon"),
    ),
    (
        "a+b://a b/a?b#ü!",
        Err("unable to parse url: parse \"a+b://a b/a?b\": invalid character \" \" in host name"),
    ),
    (
        "http://u:p@h:1/?a?b#%zz",
        Err("unable to parse url: parse \"http://u:p@h:1/?a?b#%zz\": invalid URL escape \"%zz\""),
    ),
    (
        "a+b://rel/x?x=1&y=%20#ü!",
        Ok("map[fragment:ü! host:rel hostname:rel opaque: path:/x query:x=1&y=%20 scheme:a+b userinfo:]"),
    ),
    (
        "a+b://x?ü#a#b",
        Ok("map[fragment:a#b host:x hostname:x opaque: path: query:ü scheme:a+b userinfo:]"),
    ),
    (
        "1x://a brel/x?#f",
        Err("unable to parse url: parse \"1x://a brel/x?\": first path segment in URL cannot contain colon"),
    ),
    (
        "http://host/a b?#ü!",
        Ok("map[fragment:ü! host:host hostname:host opaque: path:/a b query: scheme:http userinfo:]"),
    ),
    (
        "://u:p@h:1rel/x?ü#%zz",
        Err("unable to parse url: parse \"://u:p@h:1rel/x?ü\": missing protocol scheme"),
    ),
    (
        "://h:8080a:b/c?a?b#a#b",
        Err("unable to parse url: parse \"://h:8080a:b/c?a?b\": missing protocol scheme"),
    ),
    (
        "http://u@h?#f%20g",
        Ok("map[fragment:f g host:h hostname:h opaque: path: query: scheme:http userinfo:u]"),
    ),
    (
        "a+b://h:x/a b?ü#f",
        Err("unable to parse url: parse \"a+b://h:x/a b?ü\": invalid port \":x\" after host"),
    ),
    (
        "HTTPS://a b/a/b?x=1&y=%20",
        Err("unable to parse url: parse \"HTTPS://a b/a/b?x=1&y=%20\": invalid character \" \" in host name"),
    ),
    (
        "a+b://a:b/c?ü",
        Err("unable to parse url: parse \"a+b://a:b/c?ü\": invalid port \":b\" after host"),
    ),
    (
        "//a b//x?x=1&y=%20#f%20g",
        Err("unable to parse url: parse \"//a b//x?x=1&y=%20\": invalid character \" \" in host name"),
    ),
    (
        "http://u@hrel/x?#ü!",
        Ok("map[fragment:ü! host:hrel hostname:hrel opaque: path:/x query: scheme:http userinfo:u]"),
    ),
    (
        "1x:///a/b?x=1&y=%20#",
        Err("unable to parse url: parse \"1x:///a/b?x=1&y=%20\": first path segment in URL cannot contain colon"),
    ),
    (
        ":///a b?",
        Err("unable to parse url: parse \":///a b?\": missing protocol scheme"),
    ),
    (
        "1x:///a/b#ü!",
        Err("unable to parse url: parse \"1x:///a/b\": first path segment in URL cannot contain colon"),
    ),
    (
        "://u:p:q@h/%zz#f%20g",
        Err("unable to parse url: parse \"://u:p:q@h/%zz\": missing protocol scheme"),
    ),
    (
        "mailto:///a/b?a?b#%zz",
        Err("unable to parse url: parse \"mailto:///a/b?a?b#%zz\": invalid URL escape \"%zz\""),
    ),
    (
        "a+b://ü.example/a/b?a?b#ü!",
        Ok("map[fragment:ü! host:ü.example hostname:ü.example opaque: path:/a/b query:a?b scheme:a+b userinfo:]"),
    ),
    (
        "1x:rel/x?a?b#%zz",
        Err("unable to parse url: parse \"1x:rel/x?a?b\": first path segment in URL cannot contain colon"),
    ),
    (
        "mailto:/ü?ü#f",
        Ok("map[fragment:f host: hostname: opaque: path:/ü query:ü scheme:mailto userinfo:]"),
    ),
    (
        "http://h:x?ü#",
        Err("unable to parse url: parse \"http://h:x?ü\": invalid port \":x\" after host"),
    ),
    (
        "1x://u@h/%zz?#ü!",
        Err("unable to parse url: parse \"1x://u@h/%zz?\": first path segment in URL cannot contain colon"),
    ),
    (
        "://host?ü#f%20g",
        Err("unable to parse url: parse \"://host?ü\": missing protocol scheme"),
    ),
    (
        "mailto://u:p:q@h#f",
        Ok("map[fragment:f host:h hostname:h opaque: path: query: scheme:mailto userinfo:u:p%3Aq]"),
    ),
    (
        "http://u:p:q@h/a%2Fb?a?b#ü!",
        Ok("map[fragment:ü! host:h hostname:h opaque: path:/a/b query:a?b scheme:http userinfo:u:p%3Aq]"),
    ),
    (
        "HTTPS://a ba:b/c#a#b",
        Err("unable to parse url: parse \"HTTPS://a ba:b/c\": invalid port \":b\" after host"),
    ),
    (
        "HTTPS://h:8080a:b/c?a?b#f%20g",
        Err("unable to parse url: parse \"HTTPS://h:8080a:b/c?a?b\": invalid port \":b\" after host"),
    ),
    (
        "//u:p:q@h/a b?ü#",
        Ok("map[fragment: host:h hostname:h opaque: path:/a b query:ü scheme: userinfo:u:p%3Aq]"),
    ),
    (
        ":///a/b?x=1&y=%20#f%20g",
        Err("unable to parse url: parse \":///a/b?x=1&y=%20\": missing protocol scheme"),
    ),
    (
        "HTTPS://ü.example//x?ü#%zz",
        Err("unable to parse url: parse \"HTTPS://ü.example//x?ü#%zz\": invalid URL escape \"%zz\""),
    ),
    (
        "//host/%zz?x=1&y=%20#%zz",
        Err("unable to parse url: parse \"//host/%zz?x=1&y=%20\": invalid URL escape \"%zz\""),
    ),
    (
        "mailto://u%20x:p%3A@h/a b?x=1&y=%20#ü!",
        Ok("map[fragment:ü! host:h hostname:h opaque: path:/a b query:x=1&y=%20 scheme:mailto userinfo:u%20x:p%3A]"),
    ),
    (
        "http://u%20x:p%3A@h/a%2Fb?#",
        Ok("map[fragment: host:h hostname:h opaque: path:/a/b query: scheme:http userinfo:u%20x:p%3A]"),
    ),
    (
        "http://u@h/a b?ü#%zz",
        Err("unable to parse url: parse \"http://u@h/a b?ü#%zz\": invalid URL escape \"%zz\""),
    ),
    (
        "://ü.example/a%2Fb?ü#ü!",
        Err("unable to parse url: parse \"://ü.example/a%2Fb?ü\": missing protocol scheme"),
    ),
    (
        "mailto://u%20x:p%3A@h?x=1&y=%20#f",
        Ok("map[fragment:f host:h hostname:h opaque: path: query:x=1&y=%20 scheme:mailto userinfo:u%20x:p%3A]"),
    ),
    (
        "mailto://h:xa:b/c?ü#f",
        Err("unable to parse url: parse \"mailto://h:xa:b/c?ü\": invalid port \":b\" after host"),
    ),
    (
        "mailto://u:p@h:1rel/x?#ü!",
        Err("unable to parse url: parse \"mailto://u:p@h:1rel/x?\": invalid port \":1rel\" after host"),
    ),
    (
        "a+b://a brel/x?",
        Err("unable to parse url: parse \"a+b://a brel/x?\": invalid character \" \" in host name"),
    ),
    (
        "://ü.example/?a?b#f",
        Err("unable to parse url: parse \"://ü.example/?a?b\": missing protocol scheme"),
    ),
    (
        "//h:xrel/x#a#b",
        Err("unable to parse url: parse \"//h:xrel/x\": invalid port \":xrel\" after host"),
    ),
    (
        "a+b://rel/x#f%20g",
        Ok("map[fragment:f g host:rel hostname:rel opaque: path:/x query: scheme:a+b userinfo:]"),
    ),
    (
        "://h:8080//x?x=1&y=%20#a#b",
        Err("unable to parse url: parse \"://h:8080//x?x=1&y=%20\": missing protocol scheme"),
    ),
    (
        "mailto://a b/%zz?x=1&y=%20#f",
        Err("unable to parse url: parse \"mailto://a b/%zz?x=1&y=%20\": invalid character \" \" in host name"),
    ),
    (
        "http://u:p@h:1/%zz?#f%20g",
        Err("unable to parse url: parse \"http://u:p@h:1/%zz?\": invalid URL escape \"%zz\""),
    ),
    (
        "HTTPS://u:p:q@h/a?b?a?b#f",
        Ok("map[fragment:f host:h hostname:h opaque: path:/a query:b?a?b scheme:https userinfo:u:p%3Aq]"),
    ),
    (
        "//ü.example//x?#f%20g",
        Ok("map[fragment:f g host:ü.example hostname:ü.example opaque: path://x query: scheme: userinfo:]"),
    ),
    (
        "http://h:8080/%zz?x=1&y=%20#a#b",
        Err("unable to parse url: parse \"http://h:8080/%zz?x=1&y=%20\": invalid URL escape \"%zz\""),
    ),
    (
        "////x?#ü!",
        Ok("map[fragment:ü! host: hostname: opaque: path:////x query: scheme: userinfo:]"),
    ),
    (
        "HTTPS://u@h/?#f%20g",
        Ok("map[fragment:f g host:h hostname:h opaque: path:/ query: scheme:https userinfo:u]"),
    ),
    (
        "://u:p@h:1/ü?x=1&y=%20#a#b",
        Err("unable to parse url: parse \"://u:p@h:1/ü?x=1&y=%20\": missing protocol scheme"),
    ),
    (
        "mailto://host/?x=1&y=%20#f%20g",
        Ok("map[fragment:f g host:host hostname:host opaque: path:/ query:x=1&y=%20 scheme:mailto userinfo:]"),
    ),
    (
        "a+b://u%20x:p%3A@ha:b/c?x=1&y=%20#ü!",
        Err("unable to parse url: parse \"a+b://u%20x:p%3A@ha:b/c?x=1&y=%20\": invalid port \":b\" after host"),
    ),
    (
        "mailto://a ba:b/c?a?b",
        Err("unable to parse url: parse \"mailto://a ba:b/c?a?b\": invalid port \":b\" after host"),
    ),
    (
        "://ü.example/a b?x=1&y=%20#f%20g",
        Err("unable to parse url: parse \"://ü.example/a b?x=1&y=%20\": missing protocol scheme"),
    ),
    (
        "mailto://u@h/ü?a?b#f%20g",
        Ok("map[fragment:f g host:h hostname:h opaque: path:/ü query:a?b scheme:mailto userinfo:u]"),
    ),
    (
        "http://h:8080/a%2Fb?a?b#a#b",
        Ok("map[fragment:a#b host:h:8080 hostname:h opaque: path:/a/b query:a?b scheme:http userinfo:]"),
    ),
    (
        "HTTPS://ü.example/ü?ü",
        Ok("map[fragment: host:ü.example hostname:ü.example opaque: path:/ü query:ü scheme:https userinfo:]"),
    ),
    (
        "mailto://h:x?x=1&y=%20#a#b",
        Err("unable to parse url: parse \"mailto://h:x?x=1&y=%20\": invalid port \":x\" after host"),
    ),
    (
        "//a b/a%2Fb?x=1&y=%20#f",
        Err("unable to parse url: parse \"//a b/a%2Fb?x=1&y=%20\": invalid character \" \" in host name"),
    ),
    (
        "HTTPS://u%20x:p%3A@h/%zz?ü#",
        Err("unable to parse url: parse \"HTTPS://u%20x:p%3A@h/%zz?ü\": invalid URL escape \"%zz\""),
    ),
    (
        "1x://u@h?#ü!",
        Err("unable to parse url: parse \"1x://u@h?\": first path segment in URL cannot contain colon"),
    ),
    (
        "mailto://h:xa:b/c?#%zz",
        Err("unable to parse url: parse \"mailto://h:xa:b/c?\": invalid port \":b\" after host"),
    ),
    (
        "http://a brel/x?a?b#a#b",
        Err("unable to parse url: parse \"http://a brel/x?a?b\": invalid character \" \" in host name"),
    ),
    (
        "mailto://host/%zz?ü#",
        Err("unable to parse url: parse \"mailto://host/%zz?ü\": invalid URL escape \"%zz\""),
    ),
    (
        "1x://u@h/a?b#",
        Err("unable to parse url: parse \"1x://u@h/a?b\": first path segment in URL cannot contain colon"),
    ),
    (
        "1x://h%41/a b?#f%20g",
        Err("unable to parse url: parse \"1x://h%41/a b?\": first path segment in URL cannot contain colon"),
    ),
    (
        "://h:8080/ü?x=1&y=%20#f%20g",
        Err("unable to parse url: parse \"://h:8080/ü?x=1&y=%20\": missing protocol scheme"),
    ),
    (
        "http://host/a?b",
        Ok("map[fragment: host:host hostname:host opaque: path:/a query:b scheme:http userinfo:]"),
    ),
    (
        "http://ü.example//x?ü#ü!",
        Ok("map[fragment:ü! host:ü.example hostname:ü.example opaque: path://x query:ü scheme:http userinfo:]"),
    ),
    (
        "http://u@h/#ü!",
        Ok("map[fragment:ü! host:h hostname:h opaque: path:/ query: scheme:http userinfo:u]"),
    ),
    (
        "://u:p:q@h/ü?x=1&y=%20#f%20g",
        Err("unable to parse url: parse \"://u:p:q@h/ü?x=1&y=%20\": missing protocol scheme"),
    ),
    (
        "a+b://u:p@h:1rel/x#",
        Err("unable to parse url: parse \"a+b://u:p@h:1rel/x\": invalid port \":1rel\" after host"),
    ),
    (
        "a+b://h%41?x=1&y=%20#ü!",
        Err("unable to parse url: parse \"a+b://h%41?x=1&y=%20\": invalid URL escape \"%41\""),
    ),
    (
        "a+b://u@h?ü#",
        Ok("map[fragment: host:h hostname:h opaque: path: query:ü scheme:a+b userinfo:u]"),
    ),
    (
        "http://u%20x:p%3A@h/a%2Fb?a?b#",
        Ok("map[fragment: host:h hostname:h opaque: path:/a/b query:a?b scheme:http userinfo:u%20x:p%3A]"),
    ),
    (
        "://h:8080rel/x?a?b#",
        Err("unable to parse url: parse \"://h:8080rel/x?a?b\": missing protocol scheme"),
    ),
    (
        "//u:p@h:1rel/x?a?b#",
        Err("unable to parse url: parse \"//u:p@h:1rel/x?a?b\": invalid port \":1rel\" after host"),
    ),
    (
        "HTTPS:/a/b?ü#f",
        Ok("map[fragment:f host: hostname: opaque: path:/a/b query:ü scheme:https userinfo:]"),
    ),
    (
        "a+b://u:p:q@h/a/b?x=1&y=%20",
        Ok("map[fragment: host:h hostname:h opaque: path:/a/b query:x=1&y=%20 scheme:a+b userinfo:u:p%3Aq]"),
    ),
    (
        "mailto://u:p@h:1a:b/c?a?b#a#b",
        Err("unable to parse url: parse \"mailto://u:p@h:1a:b/c?a?b\": invalid port \":b\" after host"),
    ),
    (
        "://u:p@h:1/a?b?#f%20g",
        Err("unable to parse url: parse \"://u:p@h:1/a?b?\": missing protocol scheme"),
    ),
    (
        "mailto://host/a%2Fb?x=1&y=%20#f%20g",
        Ok("map[fragment:f g host:host hostname:host opaque: path:/a/b query:x=1&y=%20 scheme:mailto userinfo:]"),
    ),
    (
        "://h:8080/a b?#ü!",
        Err("unable to parse url: parse \"://h:8080/a b?\": missing protocol scheme"),
    ),
    (
        "http://host/",
        Ok("map[fragment: host:host hostname:host opaque: path:/ query: scheme:http userinfo:]"),
    ),
    (
        "a+b://rel/x?ü#%zz",
        Err("unable to parse url: parse \"a+b://rel/x?ü#%zz\": invalid URL escape \"%zz\""),
    ),
    (
        "://a b/?x=1&y=%20#",
        Err("unable to parse url: parse \"://a b/?x=1&y=%20\": missing protocol scheme"),
    ),
    (
        "http:///a/b?x=1&y=%20#f",
        Ok("map[fragment:f host: hostname: opaque: path:/a/b query:x=1&y=%20 scheme:http userinfo:]"),
    ),
    (
        "//u@h#",
        Ok("map[fragment: host:h hostname:h opaque: path: query: scheme: userinfo:u]"),
    ),
    (
        "//h:8080rel/x#f%20g",
        Err("unable to parse url: parse \"//h:8080rel/x\": invalid port \":8080rel\" after host"),
    ),
    (
        "mailto://u%20x:p%3A@ha:b/c#%zz",
        Err("unable to parse url: parse \"mailto://u%20x:p%3A@ha:b/c\": invalid port \":b\" after host"),
    ),
    (
        "mailto://ü.example?#ü!",
        Ok("map[fragment:ü! host:ü.example hostname:ü.example opaque: path: query: scheme:mailto userinfo:]"),
    ),
    (
        "//a b/a b?#f",
        Err("unable to parse url: parse \"//a b/a b?\": invalid character \" \" in host name"),
    ),
    (
        "a+b:/ü#f",
        Ok("map[fragment:f host: hostname: opaque: path:/ü query: scheme:a+b userinfo:]"),
    ),
    (
        "HTTPS://u:p@h:1//x?x=1&y=%20#",
        Ok("map[fragment: host:h:1 hostname:h opaque: path://x query:x=1&y=%20 scheme:https userinfo:u:p]"),
    ),
    (
        "a+b://u%20x:p%3A@hrel/x#",
        Ok("map[fragment: host:hrel hostname:hrel opaque: path:/x query: scheme:a+b userinfo:u%20x:p%3A]"),
    ),
    (
        ":/%zz?x=1&y=%20",
        Err("unable to parse url: parse \":/%zz?x=1&y=%20\": missing protocol scheme"),
    ),
    (
        "1x://u%20x:p%3A@h//x?x=1&y=%20#a#b",
        Err(
            "unable to parse url: parse \"1x://u%20x:p%3A@h//x?x=1&y=%20\": first path segment in URL cannot contain colon",
        ),
    ),
    (
        "HTTPS://u:p@h:1/#%zz",
        Err("unable to parse url: parse \"HTTPS://u:p@h:1/#%zz\": invalid URL escape \"%zz\""),
    ),
    (
        "http://h:8080?ü#f%20g",
        Ok("map[fragment:f g host:h:8080 hostname:h opaque: path: query:ü scheme:http userinfo:]"),
    ),
    (
        "a+b://ü.example/a/b?ü#ü!",
        Ok("map[fragment:ü! host:ü.example hostname:ü.example opaque: path:/a/b query:ü scheme:a+b userinfo:]"),
    ),
    (
        "http://a b/%zz#ü!",
        Err("unable to parse url: parse \"http://a b/%zz\": invalid character \" \" in host name"),
    ),
    (
        "//ü.examplerel/x?ü#%zz",
        Err("unable to parse url: parse \"//ü.examplerel/x?ü#%zz\": invalid URL escape \"%zz\""),
    ),
    (
        "mailto://ü.examplerel/x?a?b#%zz",
        Err("unable to parse url: parse \"mailto://ü.examplerel/x?a?b#%zz\": invalid URL escape \"%zz\""),
    ),
    (
        "mailto://h:8080/a b?ü#%zz",
        Err("unable to parse url: parse \"mailto://h:8080/a b?ü#%zz\": invalid URL escape \"%zz\""),
    ),
    (
        "1x://u:p:q@h/ü?ü#ü!",
        Err("unable to parse url: parse \"1x://u:p:q@h/ü?ü\": first path segment in URL cannot contain colon"),
    ),
    (
        "//h:8080/a b?x=1&y=%20",
        Ok("map[fragment: host:h:8080 hostname:h opaque: path:/a b query:x=1&y=%20 scheme: userinfo:]"),
    ),
    (
        "mailto://u:p@h:1//x?a?b#",
        Ok("map[fragment: host:h:1 hostname:h opaque: path://x query:a?b scheme:mailto userinfo:u:p]"),
    ),
    (
        "//hosta:b/c?ü#ü!",
        Err("unable to parse url: parse \"//hosta:b/c?ü\": invalid port \":b\" after host"),
    ),
    (
        "://u:p@h:1/a%2Fb?ü#%zz",
        Err("unable to parse url: parse \"://u:p@h:1/a%2Fb?ü\": missing protocol scheme"),
    ),
    (
        "//h%41/a/b?a?b#",
        Err("unable to parse url: parse \"//h%41/a/b?a?b\": invalid URL escape \"%41\""),
    ),
    (
        "a+b://x?a?b#f",
        Ok("map[fragment:f host:x hostname:x opaque: path: query:a?b scheme:a+b userinfo:]"),
    ),
    (
        "/a%2Fb?#f",
        Ok("map[fragment:f host: hostname: opaque: path:/a/b query: scheme: userinfo:]"),
    ),
    (
        "///a?b?#f%20g",
        Ok("map[fragment:f g host: hostname: opaque: path:///a query:b? scheme: userinfo:]"),
    ),
    (
        "a+b://h:8080/a b?ü#ü!",
        Ok("map[fragment:ü! host:h:8080 hostname:h opaque: path:/a b query:ü scheme:a+b userinfo:]"),
    ),
    (
        "://u@h//x?a?b#f",
        Err("unable to parse url: parse \"://u@h//x?a?b\": missing protocol scheme"),
    ),
    (
        ":///a?b?x=1&y=%20#ü!",
        Err("unable to parse url: parse \":///a?b?x=1&y=%20\": missing protocol scheme"),
    ),
    (
        "1x://hostrel/x?a?b",
        Err("unable to parse url: parse \"1x://hostrel/x?a?b\": first path segment in URL cannot contain colon"),
    ),
    (
        "HTTPS://h:8080//x?#%zz",
        Err("unable to parse url: parse \"HTTPS://h:8080//x?#%zz\": invalid URL escape \"%zz\""),
    ),
    (
        "HTTPS://u:p@h:1/#ü!",
        Ok("map[fragment:ü! host:h:1 hostname:h opaque: path:/ query: scheme:https userinfo:u:p]"),
    ),
    (
        "1x://u%20x:p%3A@h/a b?ü#a#b",
        Err("unable to parse url: parse \"1x://u%20x:p%3A@h/a b?ü\": first path segment in URL cannot contain colon"),
    ),
    (
        "HTTPS:///%zz#",
        Err("unable to parse url: parse \"HTTPS:///%zz\": invalid URL escape \"%zz\""),
    ),
    (
        "mailto://h:x/%zz#a#b",
        Err("unable to parse url: parse \"mailto://h:x/%zz\": invalid port \":x\" after host"),
    ),
    (
        "HTTPS://a b/%zz#",
        Err("unable to parse url: parse \"HTTPS://a b/%zz\": invalid character \" \" in host name"),
    ),
    (
        "//h:8080a:b/c?a?b#",
        Err("unable to parse url: parse \"//h:8080a:b/c?a?b\": invalid port \":b\" after host"),
    ),
    (
        "mailto://u%20x:p%3A@h/a?b#",
        Ok("map[fragment: host:h hostname:h opaque: path:/a query:b scheme:mailto userinfo:u%20x:p%3A]"),
    ),
    (
        "1x://u:p@h:1rel/x?a?b#f",
        Err("unable to parse url: parse \"1x://u:p@h:1rel/x?a?b\": first path segment in URL cannot contain colon"),
    ),
    (
        "mailto://u%20x:p%3A@h/ü?#a#b",
        Ok("map[fragment:a#b host:h hostname:h opaque: path:/ü query: scheme:mailto userinfo:u%20x:p%3A]"),
    ),
    (
        "mailto://h:x//x#a#b",
        Err("unable to parse url: parse \"mailto://h:x//x\": invalid port \":x\" after host"),
    ),
    (
        "http://a:b/c?#",
        Err("unable to parse url: parse \"http://a:b/c?\": invalid port \":b\" after host"),
    ),
    (
        "://host//x?a?b#ü!",
        Err("unable to parse url: parse \"://host//x?a?b\": missing protocol scheme"),
    ),
    (
        "a+b://u%20x:p%3A@h//x?ü",
        Ok("map[fragment: host:h hostname:h opaque: path://x query:ü scheme:a+b userinfo:u%20x:p%3A]"),
    ),
    (
        "http://a b/a/b?ü#%zz",
        Err("unable to parse url: parse \"http://a b/a/b?ü\": invalid character \" \" in host name"),
    ),
    (
        ":a:b/c?a?b#f",
        Err("unable to parse url: parse \":a:b/c?a?b\": missing protocol scheme"),
    ),
    (
        "//u:p:q@h?ü#",
        Ok("map[fragment: host:h hostname:h opaque: path: query:ü scheme: userinfo:u:p%3Aq]"),
    ),
    (
        "http://ü.examplea:b/c?x=1&y=%20#a#b",
        Err("unable to parse url: parse \"http://ü.examplea:b/c?x=1&y=%20\": invalid port \":b\" after host"),
    ),
    (
        "http://host/#f%20g",
        Ok("map[fragment:f g host:host hostname:host opaque: path:/ query: scheme:http userinfo:]"),
    ),
    (
        "mailto://ü.example/a/b#f%20g",
        Ok("map[fragment:f g host:ü.example hostname:ü.example opaque: path:/a/b query: scheme:mailto userinfo:]"),
    ),
    (
        "http://h:8080/a/b#f%20g",
        Ok("map[fragment:f g host:h:8080 hostname:h opaque: path:/a/b query: scheme:http userinfo:]"),
    ),
    (
        "1x://u%20x:p%3A@h/a%2Fb?#f",
        Err("unable to parse url: parse \"1x://u%20x:p%3A@h/a%2Fb?\": first path segment in URL cannot contain colon"),
    ),
    (
        "///a/b?ü#",
        Ok("map[fragment: host: hostname: opaque: path:///a/b query:ü scheme: userinfo:]"),
    ),
    (
        "mailto://u@hrel/x?a?b#a#b",
        Ok("map[fragment:a#b host:hrel hostname:hrel opaque: path:/x query:a?b scheme:mailto userinfo:u]"),
    ),
    (
        "http://ü.example/a b?#",
        Ok("map[fragment: host:ü.example hostname:ü.example opaque: path:/a b query: scheme:http userinfo:]"),
    ),
    (
        "//?#ü!",
        Ok("map[fragment:ü! host: hostname: opaque: path: query: scheme: userinfo:]"),
    ),
    (
        "http://ü.example/ü#a#b",
        Ok("map[fragment:a#b host:ü.example hostname:ü.example opaque: path:/ü query: scheme:http userinfo:]"),
    ),
    (
        "mailto://u:p:q@hrel/x#%zz",
        Err("unable to parse url: parse \"mailto://u:p:q@hrel/x#%zz\": invalid URL escape \"%zz\""),
    ),
    (
        "mailto:////x?a?b#f",
        Ok("map[fragment:f host: hostname: opaque: path://x query:a?b scheme:mailto userinfo:]"),
    ),
    (
        "//u:p:q@ha:b/c?ü#ü!",
        Err("unable to parse url: parse \"//u:p:q@ha:b/c?ü\": invalid port \":b\" after host"),
    ),
    (
        "://u%20x:p%3A@h?x=1&y=%20",
        Err("unable to parse url: parse \"://u%20x:p%3A@h?x=1&y=%20\": missing protocol scheme"),
    ),
    (
        "HTTPS:/?ü",
        Ok("map[fragment: host: hostname: opaque: path:/ query:ü scheme:https userinfo:]"),
    ),
    (
        "mailto://u@hrel/x?x=1&y=%20#%zz",
        Err("unable to parse url: parse \"mailto://u@hrel/x?x=1&y=%20#%zz\": invalid URL escape \"%zz\""),
    ),
    (
        "HTTPS://h%41/a?b?a?b#a#b",
        Err("unable to parse url: parse \"HTTPS://h%41/a?b?a?b\": invalid URL escape \"%41\""),
    ),
    (
        "HTTPS://u:p:q@hrel/x?a?b",
        Ok("map[fragment: host:hrel hostname:hrel opaque: path:/x query:a?b scheme:https userinfo:u:p%3Aq]"),
    ),
    (
        "a+b://?ü#a#b",
        Ok("map[fragment:a#b host: hostname: opaque: path: query:ü scheme:a+b userinfo:]"),
    ),
    (
        "/a%2Fb?#ü!",
        Ok("map[fragment:ü! host: hostname: opaque: path:/a/b query: scheme: userinfo:]"),
    ),
    (
        "http://a b/?ü#",
        Err("unable to parse url: parse \"http://a b/?ü\": invalid character \" \" in host name"),
    ),
    (
        "a+b://u%20x:p%3A@h/a b?a?b#f",
        Ok("map[fragment:f host:h hostname:h opaque: path:/a b query:a?b scheme:a+b userinfo:u%20x:p%3A]"),
    ),
    (
        "http://host/?#",
        Ok("map[fragment: host:host hostname:host opaque: path:/ query: scheme:http userinfo:]"),
    ),
    (
        "http://host/#%zz",
        Err("unable to parse url: parse \"http://host/#%zz\": invalid URL escape \"%zz\""),
    ),
    (
        ":/a/b?ü#ü!",
        Err("unable to parse url: parse \":/a/b?ü\": missing protocol scheme"),
    ),
    (
        "1x://u:p@h:1a:b/c?ü#",
        Err("unable to parse url: parse \"1x://u:p@h:1a:b/c?ü\": first path segment in URL cannot contain colon"),
    ),
    (
        "//h%41/a/b#f",
        Err("unable to parse url: parse \"//h%41/a/b\": invalid URL escape \"%41\""),
    ),
    (
        "HTTPS://h:8080/a b?#",
        Ok("map[fragment: host:h:8080 hostname:h opaque: path:/a b query: scheme:https userinfo:]"),
    ),
    (
        "http:///a b?a?b",
        Ok("map[fragment: host: hostname: opaque: path:/a b query:a?b scheme:http userinfo:]"),
    ),
    (
        "1x://h:x/#a#b",
        Err("unable to parse url: parse \"1x://h:x/\": first path segment in URL cannot contain colon"),
    ),
    (
        "HTTPS://a b//x?x=1&y=%20#%zz",
        Err("unable to parse url: parse \"HTTPS://a b//x?x=1&y=%20\": invalid character \" \" in host name"),
    ),
    (
        "http://ü.example//x",
        Ok("map[fragment: host:ü.example hostname:ü.example opaque: path://x query: scheme:http userinfo:]"),
    ),
    (
        "mailto://u@h?#f%20g",
        Ok("map[fragment:f g host:h hostname:h opaque: path: query: scheme:mailto userinfo:u]"),
    ),
    (
        "http://hosta:b/c?x=1&y=%20#%zz",
        Err("unable to parse url: parse \"http://hosta:b/c?x=1&y=%20\": invalid port \":b\" after host"),
    ),
    (
        "http://u%20x:p%3A@ha:b/c?ü#ü!",
        Err("unable to parse url: parse \"http://u%20x:p%3A@ha:b/c?ü\": invalid port \":b\" after host"),
    ),
    (
        "1x://h:x/a/b?ü#a#b",
        Err("unable to parse url: parse \"1x://h:x/a/b?ü\": first path segment in URL cannot contain colon"),
    ),
    (
        "a+b://h%41rel/x#f%20g",
        Err("unable to parse url: parse \"a+b://h%41rel/x\": invalid URL escape \"%41\""),
    ),
    (
        "://u:p@h:1/#ü!",
        Err("unable to parse url: parse \"://u:p@h:1/\": missing protocol scheme"),
    ),
    (
        "a+b://rel/x#a#b",
        Ok("map[fragment:a#b host:rel hostname:rel opaque: path:/x query: scheme:a+b userinfo:]"),
    ),
    (
        "1x://u%20x:p%3A@h#f%20g",
        Err("unable to parse url: parse \"1x://u%20x:p%3A@h\": first path segment in URL cannot contain colon"),
    ),
    (
        "a+b://u:p@h:1a:b/c?ü#ü!",
        Err("unable to parse url: parse \"a+b://u:p@h:1a:b/c?ü\": invalid port \":b\" after host"),
    ),
    (
        "http://u:p@h:1/a?b?x=1&y=%20#f%20g",
        Ok("map[fragment:f g host:h:1 hostname:h opaque: path:/a query:b?x=1&y=%20 scheme:http userinfo:u:p]"),
    ),
    (
        "1x://host#",
        Err("unable to parse url: parse \"1x://host\": first path segment in URL cannot contain colon"),
    ),
    (
        "http://u:p:q@h/ü?a?b",
        Ok("map[fragment: host:h hostname:h opaque: path:/ü query:a?b scheme:http userinfo:u:p%3Aq]"),
    ),
    (
        "http://u%20x:p%3A@h/a/b?ü",
        Ok("map[fragment: host:h hostname:h opaque: path:/a/b query:ü scheme:http userinfo:u%20x:p%3A]"),
    ),
    (
        "://u:p:q@h/%zz?ü#",
        Err("unable to parse url: parse \"://u:p:q@h/%zz?ü\": missing protocol scheme"),
    ),
    (
        "HTTPS://h%41/ü?a?b#a#b",
        Err("unable to parse url: parse \"HTTPS://h%41/ü?a?b\": invalid URL escape \"%41\""),
    ),
    (
        "://u@h/a%2Fb?ü#f",
        Err("unable to parse url: parse \"://u@h/a%2Fb?ü\": missing protocol scheme"),
    ),
    (
        "://u:p@h:1/a?b?ü#f",
        Err("unable to parse url: parse \"://u:p@h:1/a?b?ü\": missing protocol scheme"),
    ),
    (
        "HTTPS://rel/x?",
        Ok("map[fragment: host:rel hostname:rel opaque: path:/x query: scheme:https userinfo:]"),
    ),
    (
        "//u%20x:p%3A@h/%zz?x=1&y=%20#ü!",
        Err("unable to parse url: parse \"//u%20x:p%3A@h/%zz?x=1&y=%20\": invalid URL escape \"%zz\""),
    ),
    (
        "://h:8080/a%2Fb?a?b#%zz",
        Err("unable to parse url: parse \"://h:8080/a%2Fb?a?b\": missing protocol scheme"),
    ),
    (
        "mailto://h:8080/?ü#f",
        Ok("map[fragment:f host:h:8080 hostname:h opaque: path:/ query:ü scheme:mailto userinfo:]"),
    ),
    (
        "1x://u:p:q@ha:b/c?x=1&y=%20#ü!",
        Err(
            "unable to parse url: parse \"1x://u:p:q@ha:b/c?x=1&y=%20\": first path segment in URL cannot contain colon",
        ),
    ),
    (
        "a+b:///?x=1&y=%20#",
        Ok("map[fragment: host: hostname: opaque: path:/ query:x=1&y=%20 scheme:a+b userinfo:]"),
    ),
    (
        "//u:p@h:1rel/x?ü",
        Err("unable to parse url: parse \"//u:p@h:1rel/x?ü\": invalid port \":1rel\" after host"),
    ),
    (
        "/ü?a?b",
        Ok("map[fragment: host: hostname: opaque: path:/ü query:a?b scheme: userinfo:]"),
    ),
    (
        "http:///a b?a?b#f",
        Ok("map[fragment:f host: hostname: opaque: path:/a b query:a?b scheme:http userinfo:]"),
    ),
    (
        "mailto://u:p@h:1/%zz?x=1&y=%20#f",
        Err("unable to parse url: parse \"mailto://u:p@h:1/%zz?x=1&y=%20\": invalid URL escape \"%zz\""),
    ),
    (
        "//h:8080/%zz?ü#",
        Err("unable to parse url: parse \"//h:8080/%zz?ü\": invalid URL escape \"%zz\""),
    ),
    (
        "://a brel/x?#",
        Err("unable to parse url: parse \"://a brel/x?\": missing protocol scheme"),
    ),
    (
        "mailto://h:xrel/x?ü",
        Err("unable to parse url: parse \"mailto://h:xrel/x?ü\": invalid port \":xrel\" after host"),
    ),
    (
        "a+b://h:x/a b?a?b",
        Err("unable to parse url: parse \"a+b://h:x/a b?a?b\": invalid port \":x\" after host"),
    ),
    (
        "//u:p@h:1a:b/c?a?b#ü!",
        Err("unable to parse url: parse \"//u:p@h:1a:b/c?a?b\": invalid port \":b\" after host"),
    ),
    (
        "a+b://hosta:b/c?x=1&y=%20",
        Err("unable to parse url: parse \"a+b://hosta:b/c?x=1&y=%20\": invalid port \":b\" after host"),
    ),
    (
        "mailto:/a?b?a?b",
        Ok("map[fragment: host: hostname: opaque: path:/a query:b?a?b scheme:mailto userinfo:]"),
    ),
    (
        "a+b://hostrel/x?#f%20g",
        Ok("map[fragment:f g host:hostrel hostname:hostrel opaque: path:/x query: scheme:a+b userinfo:]"),
    ),
    (
        "mailto://u:p@h:1/%zz?x=1&y=%20#f%20g",
        Err("unable to parse url: parse \"mailto://u:p@h:1/%zz?x=1&y=%20\": invalid URL escape \"%zz\""),
    ),
    (
        "://h%41/a b#a#b",
        Err("unable to parse url: parse \"://h%41/a b\": missing protocol scheme"),
    ),
    (
        "://u:p:q@h/a b?#f%20g",
        Err("unable to parse url: parse \"://u:p:q@h/a b?\": missing protocol scheme"),
    ),
    (
        "http://h:8080/a b?x=1&y=%20",
        Ok("map[fragment: host:h:8080 hostname:h opaque: path:/a b query:x=1&y=%20 scheme:http userinfo:]"),
    ),
    (
        "HTTPS://ü.example/ü?x=1&y=%20#ü!",
        Ok("map[fragment:ü! host:ü.example hostname:ü.example opaque: path:/ü query:x=1&y=%20 scheme:https userinfo:]"),
    ),
    (
        "://u%20x:p%3A@h//x#f%20g",
        Err("unable to parse url: parse \"://u%20x:p%3A@h//x\": missing protocol scheme"),
    ),
    (
        "http:///a%2Fb?#",
        Ok("map[fragment: host: hostname: opaque: path:/a/b query: scheme:http userinfo:]"),
    ),
    (
        "//h%41/?#f%20g",
        Err("unable to parse url: parse \"//h%41/?\": invalid URL escape \"%41\""),
    ),
    (
        "1x://rel/x?a?b#",
        Err("unable to parse url: parse \"1x://rel/x?a?b\": first path segment in URL cannot contain colon"),
    ),
    (
        "//ü.example/a?b?x=1&y=%20#f",
        Ok("map[fragment:f host:ü.example hostname:ü.example opaque: path:/a query:b?x=1&y=%20 scheme: userinfo:]"),
    ),
    (
        "mailto://a brel/x?x=1&y=%20#a#b",
        Err("unable to parse url: parse \"mailto://a brel/x?x=1&y=%20\": invalid character \" \" in host name"),
    ),
    (
        "HTTPS://u:p@h:1rel/x?",
        Err("unable to parse url: parse \"HTTPS://u:p@h:1rel/x?\": invalid port \":1rel\" after host"),
    ),
    (
        "http://rel/x?#",
        Ok("map[fragment: host:rel hostname:rel opaque: path:/x query: scheme:http userinfo:]"),
    ),
    (
        "a+b://?a?b#a#b",
        Ok("map[fragment:a#b host: hostname: opaque: path: query:a?b scheme:a+b userinfo:]"),
    ),
    (
        "1x://ü.example/ü?ü#a#b",
        Err("unable to parse url: parse \"1x://ü.example/ü?ü\": first path segment in URL cannot contain colon"),
    ),
    (
        "a+b://u%20x:p%3A@h/a?b?#f",
        Ok("map[fragment:f host:h hostname:h opaque: path:/a query:b? scheme:a+b userinfo:u%20x:p%3A]"),
    ),
    (
        "a+b://u:p:q@h/a b?a?b",
        Ok("map[fragment: host:h hostname:h opaque: path:/a b query:a?b scheme:a+b userinfo:u:p%3Aq]"),
    ),
    (
        "/a?b#f",
        Ok("map[fragment:f host: hostname: opaque: path:/a query:b scheme: userinfo:]"),
    ),
    (
        "://h:8080/a/b?ü",
        Err("unable to parse url: parse \"://h:8080/a/b?ü\": missing protocol scheme"),
    ),
    (
        "//h:x/a/b#f%20g",
        Err("unable to parse url: parse \"//h:x/a/b\": invalid port \":x\" after host"),
    ),
    (
        "://h:x?ü#f%20g",
        Err("unable to parse url: parse \"://h:x?ü\": missing protocol scheme"),
    ),
    (
        "://u@h/a/b?",
        Err("unable to parse url: parse \"://u@h/a/b?\": missing protocol scheme"),
    ),
    (
        "//ü.example//x?x=1&y=%20#",
        Ok("map[fragment: host:ü.example hostname:ü.example opaque: path://x query:x=1&y=%20 scheme: userinfo:]"),
    ),
    (
        "HTTPS://h:x/a b#ü!",
        Err("unable to parse url: parse \"HTTPS://h:x/a b\": invalid port \":x\" after host"),
    ),
    (
        "1x://u:p@h:1/%zz#f%20g",
        Err("unable to parse url: parse \"1x://u:p@h:1/%zz\": first path segment in URL cannot contain colon"),
    ),
    (
        "mailto://host/a b?#f",
        Ok("map[fragment:f host:host hostname:host opaque: path:/a b query: scheme:mailto userinfo:]"),
    ),
    (
        "//ü.example//x?ü#%zz",
        Err("unable to parse url: parse \"//ü.example//x?ü#%zz\": invalid URL escape \"%zz\""),
    ),
    (
        "a+b://host/a/b?#a#b",
        Ok("map[fragment:a#b host:host hostname:host opaque: path:/a/b query: scheme:a+b userinfo:]"),
    ),
    (
        "HTTPS://u@h/ü?a?b#",
        Ok("map[fragment: host:h hostname:h opaque: path:/ü query:a?b scheme:https userinfo:u]"),
    ),
    (
        "1x://a b/%zz?x=1&y=%20#a#b",
        Err("unable to parse url: parse \"1x://a b/%zz?x=1&y=%20\": first path segment in URL cannot contain colon"),
    ),
    (
        "a+b://h%41/a?b?ü#f%20g",
        Err("unable to parse url: parse \"a+b://h%41/a?b?ü\": invalid URL escape \"%41\""),
    ),
    (
        "http:///%zz?x=1&y=%20#a#b",
        Err("unable to parse url: parse \"http:///%zz?x=1&y=%20\": invalid URL escape \"%zz\""),
    ),
    (
        "mailto://u:p@h:1/ü?a?b#f%20g",
        Ok("map[fragment:f g host:h:1 hostname:h opaque: path:/ü query:a?b scheme:mailto userinfo:u:p]"),
    ),
    (
        "http://u:p:q@h?a?b#ü!",
        Ok("map[fragment:ü! host:h hostname:h opaque: path: query:a?b scheme:http userinfo:u:p%3Aq]"),
    ),
    (
        "mailto://u%20x:p%3A@h/a?b?a?b#f%20g",
        Ok("map[fragment:f g host:h hostname:h opaque: path:/a query:b?a?b scheme:mailto userinfo:u%20x:p%3A]"),
    ),
    (
        "HTTPS://h:x/a/b?",
        Err("unable to parse url: parse \"HTTPS://h:x/a/b?\": invalid port \":x\" after host"),
    ),
    (
        "1x://a b#f",
        Err("unable to parse url: parse \"1x://a b\": first path segment in URL cannot contain colon"),
    ),
    (
        "://host/a b?a?b#%zz",
        Err("unable to parse url: parse \"://host/a b?a?b\": missing protocol scheme"),
    ),
    (
        "a+b://h:8080/?#a#b",
        Ok("map[fragment:a#b host:h:8080 hostname:h opaque: path:/ query: scheme:a+b userinfo:]"),
    ),
    (
        "//u%20x:p%3A@h/%zz?ü#f",
        Err("unable to parse url: parse \"//u%20x:p%3A@h/%zz?ü\": invalid URL escape \"%zz\""),
    ),
    (
        "1x://a brel/x?a?b",
        Err("unable to parse url: parse \"1x://a brel/x?a?b\": first path segment in URL cannot contain colon"),
    ),
    (
        "1x://u%20x:p%3A@h//x#f%20g",
        Err("unable to parse url: parse \"1x://u%20x:p%3A@h//x\": first path segment in URL cannot contain colon"),
    ),
    (
        "1x://h%41/ü",
        Err("unable to parse url: parse \"1x://h%41/ü\": first path segment in URL cannot contain colon"),
    ),
    (
        "http://h:x/?ü#a#b",
        Err("unable to parse url: parse \"http://h:x/?ü\": invalid port \":x\" after host"),
    ),
    (
        "//h:x/",
        Err("unable to parse url: parse \"//h:x/\": invalid port \":x\" after host"),
    ),
    (
        "mailto:///%zz#",
        Err("unable to parse url: parse \"mailto:///%zz\": invalid URL escape \"%zz\""),
    ),
    (
        "://u@h/a/b?a?b#f",
        Err("unable to parse url: parse \"://u@h/a/b?a?b\": missing protocol scheme"),
    ),
    (
        "://h:x/a?b#ü!",
        Err("unable to parse url: parse \"://h:x/a?b\": missing protocol scheme"),
    ),
    (
        "//u@h/ü?a?b#f%20g",
        Ok("map[fragment:f g host:h hostname:h opaque: path:/ü query:a?b scheme: userinfo:u]"),
    ),
    (
        "1x:///?x=1&y=%20#f",
        Err("unable to parse url: parse \"1x:///?x=1&y=%20\": first path segment in URL cannot contain colon"),
    ),
    (
        "http:///ü",
        Ok("map[fragment: host: hostname: opaque: path:/ü query: scheme:http userinfo:]"),
    ),
    (
        "http://a b/a/b?ü#%zz",
        Err("unable to parse url: parse \"http://a b/a/b?ü\": invalid character \" \" in host name"),
    ),
    (
        ":/#f%20g",
        Err("unable to parse url: parse \":/\": missing protocol scheme"),
    ),
    (
        "/a%2Fb#f",
        Ok("map[fragment:f host: hostname: opaque: path:/a/b query: scheme: userinfo:]"),
    ),
    (
        "HTTPS://?a?b#%zz",
        Err("unable to parse url: parse \"HTTPS://?a?b#%zz\": invalid URL escape \"%zz\""),
    ),
    (
        "http:/a/b?x=1&y=%20#",
        Ok("map[fragment: host: hostname: opaque: path:/a/b query:x=1&y=%20 scheme:http userinfo:]"),
    ),
    (
        "1x://u%20x:p%3A@ha:b/c?x=1&y=%20",
        Err(
            "unable to parse url: parse \"1x://u%20x:p%3A@ha:b/c?x=1&y=%20\": first path segment in URL cannot contain colon",
        ),
    ),
    (
        "mailto://h:8080/%zz?",
        Err("unable to parse url: parse \"mailto://h:8080/%zz?\": invalid URL escape \"%zz\""),
    ),
    (
        "HTTPS://ü.example//x?a?b#a#b",
        Ok("map[fragment:a#b host:ü.example hostname:ü.example opaque: path://x query:a?b scheme:https userinfo:]"),
    ),
    (
        "mailto://u:p:q@h/ü?x=1&y=%20#f",
        Ok("map[fragment:f host:h hostname:h opaque: path:/ü query:x=1&y=%20 scheme:mailto userinfo:u:p%3Aq]"),
    ),
    (
        "a+b://u:p@h:1/%zz?x=1&y=%20#f%20g",
        Err("unable to parse url: parse \"a+b://u:p@h:1/%zz?x=1&y=%20\": invalid URL escape \"%zz\""),
    ),
    (
        "a+b://ü.example/ü?",
        Ok("map[fragment: host:ü.example hostname:ü.example opaque: path:/ü query: scheme:a+b userinfo:]"),
    ),
    (
        "//h:8080rel/x#%zz",
        Err("unable to parse url: parse \"//h:8080rel/x\": invalid port \":8080rel\" after host"),
    ),
    (
        "a+b://a b/ü?a?b#a#b",
        Err("unable to parse url: parse \"a+b://a b/ü?a?b\": invalid character \" \" in host name"),
    ),
    (
        "mailto:?ü#%zz",
        Err("unable to parse url: parse \"mailto:?ü#%zz\": invalid URL escape \"%zz\""),
    ),
    (
        "mailto://h%41/ü?a?b#",
        Err("unable to parse url: parse \"mailto://h%41/ü?a?b\": invalid URL escape \"%41\""),
    ),
    (
        "1x://u@h/ü?a?b#%zz",
        Err("unable to parse url: parse \"1x://u@h/ü?a?b\": first path segment in URL cannot contain colon"),
    ),
    (
        "HTTPS://u@h/a b?#f%20g",
        Ok("map[fragment:f g host:h hostname:h opaque: path:/a b query: scheme:https userinfo:u]"),
    ),
    (
        ":/%zz?ü#f",
        Err("unable to parse url: parse \":/%zz?ü\": missing protocol scheme"),
    ),
    (
        "a+b://u@ha:b/c?x=1&y=%20#",
        Err("unable to parse url: parse \"a+b://u@ha:b/c?x=1&y=%20\": invalid port \":b\" after host"),
    ),
    (
        "1x://h:8080/",
        Err("unable to parse url: parse \"1x://h:8080/\": first path segment in URL cannot contain colon"),
    ),
    (
        "mailto://a b//x",
        Err("unable to parse url: parse \"mailto://a b//x\": invalid character \" \" in host name"),
    ),
    (
        "HTTPS:///ü?#%zz",
        Err("unable to parse url: parse \"HTTPS:///ü?#%zz\": invalid URL escape \"%zz\""),
    ),
    (
        "1x://u%20x:p%3A@h/?#a#b",
        Err("unable to parse url: parse \"1x://u%20x:p%3A@h/?\": first path segment in URL cannot contain colon"),
    ),
    (
        "mailto://h:8080/a%2Fb?a?b#",
        Ok("map[fragment: host:h:8080 hostname:h opaque: path:/a/b query:a?b scheme:mailto userinfo:]"),
    ),
    (
        "://u%20x:p%3A@ha:b/c?",
        Err("unable to parse url: parse \"://u%20x:p%3A@ha:b/c?\": missing protocol scheme"),
    ),
    (
        "1x://h:8080a:b/c?x=1&y=%20#",
        Err(
            "unable to parse url: parse \"1x://h:8080a:b/c?x=1&y=%20\": first path segment in URL cannot contain colon",
        ),
    ),
    (
        "HTTPS:/ü?a?b",
        Ok("map[fragment: host: hostname: opaque: path:/ü query:a?b scheme:https userinfo:]"),
    ),
    (
        "http://a b//x?ü",
        Err("unable to parse url: parse \"http://a b//x?ü\": invalid character \" \" in host name"),
    ),
    (
        "mailto://u:p:q@hrel/x?#f%20g",
        Ok("map[fragment:f g host:hrel hostname:hrel opaque: path:/x query: scheme:mailto userinfo:u:p%3Aq]"),
    ),
    (
        "//x?a?b#a#b",
        Ok("map[fragment:a#b host:x hostname:x opaque: path: query:a?b scheme: userinfo:]"),
    ),
    (
        "http://h%41/?x=1&y=%20#f%20g",
        Err("unable to parse url: parse \"http://h%41/?x=1&y=%20\": invalid URL escape \"%41\""),
    ),
    (
        "://h:x?a?b#f%20g",
        Err("unable to parse url: parse \"://h:x?a?b\": missing protocol scheme"),
    ),
    (
        "1x://u@h/%zz#%zz",
        Err("unable to parse url: parse \"1x://u@h/%zz\": first path segment in URL cannot contain colon"),
    ),
    (
        "http://u%20x:p%3A@h/a/b?",
        Ok("map[fragment: host:h hostname:h opaque: path:/a/b query: scheme:http userinfo:u%20x:p%3A]"),
    ),
    (
        "a+b://u:p:q@h/?x=1&y=%20#",
        Ok("map[fragment: host:h hostname:h opaque: path:/ query:x=1&y=%20 scheme:a+b userinfo:u:p%3Aq]"),
    ),
    (
        "a+b://u@h/%zz?ü#%zz",
        Err("unable to parse url: parse \"a+b://u@h/%zz?ü\": invalid URL escape \"%zz\""),
    ),
    (
        "a+b://a b/a b?a?b",
        Err("unable to parse url: parse \"a+b://a b/a b?a?b\": invalid character \" \" in host name"),
    ),
    (
        "a+b://h:x//x#%zz",
        Err("unable to parse url: parse \"a+b://h:x//x\": invalid port \":x\" after host"),
    ),
];
