//! What an error is about: its class (what went wrong) and the file it names, so that a
//! failure of Ballast can be matched with helm's without asking for the same wording.

use std::sync::OnceLock;

use regex::Regex;

/// The class and file of one error message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Kind {
    /// What went wrong, e.g. `execution error`, `schema`, `template`.
    pub class: String,
    /// The chart file (`chart/templates/x.yaml`) or values file the message names first.
    pub file: Option<String>,
}

fn file_re() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(r"[\w.-]+(?:/[\w.-]+)*/(?:templates|crds)/[\w./-]*?\.(?:yaml|yml|tpl|txt|json)|[\w./-]+\.ya?ml")
            .expect("a valid regex")
    })
}

/// Classifies an error message as helm prints it (`Error: ...` on stderr) or as Ballast
/// returns it.
pub fn classify(message: &str) -> Kind {
    let text = message.trim_start();
    let text = text.strip_prefix("Error: ").unwrap_or(text);
    let first = text.lines().next().unwrap_or("");
    let class = if first.starts_with("execution error at (") {
        "execution error".to_string()
    } else if text.contains("values don't meet the specifications of the schema") {
        "schema".to_string()
    } else if first.starts_with("chart requires kubeVersion") {
        "kubeVersion".to_string()
    } else if first.contains("library charts are not installable") {
        "library chart".to_string()
    } else if first.starts_with("YAML parse error") {
        "YAML parse error".to_string()
    } else if first.starts_with("parse error") || text.contains("parse error at (") {
        "template parse error".to_string()
    } else if first.starts_with("template: ") || Regex::new(r"^[\w./-]+:\d+:\d+").is_ok_and(|r| r.is_match(first)) {
        "template execution error".to_string()
    } else if let Some(rest) = first.strip_prefix("failed parsing ") {
        format!("flag {}", rest.split_whitespace().next().unwrap_or(""))
    } else if first.contains("missing in charts/ directory") {
        "missing dependency".to_string()
    } else if first.starts_with("invalid kube version") {
        "kube version flag".to_string()
    } else if first.contains("no such file or directory") {
        "missing file".to_string()
    } else if first.contains("could not find template") {
        "show-only".to_string()
    } else if first.contains("unmarshal") || first.contains("failed to parse") {
        "values".to_string()
    } else {
        first.split_whitespace().take(4).collect::<Vec<_>>().join(" ")
    };
    let file = file_re().find(text).map(|m| {
        // Values files are named by path; compare their names only.
        let f = m.as_str();
        if f.contains("/templates/") || f.contains("/crds/") {
            f.to_string()
        } else {
            f.rsplit('/').next().unwrap_or(f).to_string()
        }
    });
    Kind { class, file }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn helm_messages() {
        let k = classify("Error: execution error at (loki/templates/monolithic/workload.yaml:7:4): Please define x");
        assert_eq!(k.class, "execution error");
        assert_eq!(k.file.as_deref(), Some("loki/templates/monolithic/workload.yaml"));
        let k = classify("Error: sealed-secrets/templates/tls-secret.yaml:10:18\n  executing ...");
        assert_eq!(k.class, "template execution error");
        assert_eq!(k.file.as_deref(), Some("sealed-secrets/templates/tls-secret.yaml"));
        let k = classify("Error: failed to parse /x/values/probes/inf.yaml: cannot unmarshal");
        assert_eq!((k.class.as_str(), k.file.as_deref()), ("values", Some("inf.yaml")));
        let k = classify("Error: failed parsing --set-json data a={bad");
        assert_eq!((k.class.as_str(), k.file), ("flag --set-json", None));
    }
}
