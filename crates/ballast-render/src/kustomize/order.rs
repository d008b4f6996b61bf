//! Output order: kustomize's "legacy" sort (the default), or the order of accumulation (`fifo`),
//! as the top-level kustomization's `sortOptions` says.

use std::cmp::Ordering;
use std::collections::HashMap;
use std::path::Path;

use serde_json::Value;

use super::{Res, err, strings};
use crate::RenderError;
use crate::root::Root;

/// Kinds placed first by the legacy order, in this order.
const ORDER_FIRST: &[&str] = &[
    "Namespace",
    "ResourceQuota",
    "StorageClass",
    "CustomResourceDefinition",
    "ServiceAccount",
    "PodSecurityPolicy",
    "Role",
    "ClusterRole",
    "RoleBinding",
    "ClusterRoleBinding",
    "ConfigMap",
    "Secret",
    "Endpoints",
    "Service",
    "LimitRange",
    "PriorityClass",
    "PersistentVolume",
    "PersistentVolumeClaim",
    "Deployment",
    "StatefulSet",
    "CronJob",
    "PodDisruptionBudget",
];

/// Kinds placed last by the legacy order, in this order.
const ORDER_LAST: &[&str] = &["MutatingWebhookConfiguration", "ValidatingWebhookConfiguration"];

/// Sorts `out` as the top-level kustomization `k` (in `file`) asks. Without `sortOptions` the
/// legacy order applies; `order: fifo` keeps the order of accumulation; `order: legacy` takes
/// `legacySortOptions.orderFirst`/`orderLast` when given (replacing the default lists).
pub(crate) fn sort(root: &Root, file: &Path, k: &Value, out: &mut [Res]) -> Result<(), RenderError> {
    let opts = &k["sortOptions"];
    if opts.is_null() {
        legacy(out, ORDER_FIRST, ORDER_LAST);
        return Ok(());
    }
    let order = opts["order"].as_str().unwrap_or("");
    let legacy_opts = &opts["legacySortOptions"];
    match order {
        "fifo" if !legacy_opts.is_null() => Err(err(
            root,
            file,
            "sortOptions.legacySortOptions is set but sortOptions.order is fifo, not legacy",
        )),
        "fifo" => Ok(()),
        "legacy" if legacy_opts.is_null() => {
            legacy(out, ORDER_FIRST, ORDER_LAST);
            Ok(())
        }
        "legacy" => {
            let first = strings(&legacy_opts["orderFirst"]);
            let last = strings(&legacy_opts["orderLast"]);
            let first: Vec<&str> = first.iter().map(String::as_str).collect();
            let last: Vec<&str> = last.iter().map(String::as_str).collect();
            legacy(out, &first, &last);
            Ok(())
        }
        other => Err(err(
            root,
            file,
            format!("sortOptions.order: {other:?}: must be one of fifo, legacy"),
        )),
    }
}

/// The legacy order: by kind rank (first list, then unlisted kinds, then the last list), then
/// by group/version/kind, then by namespace and name. Every resource id is unique, so the order
/// is total and does not depend on the input order.
fn legacy(out: &mut [Res], first: &[&str], last: &[&str]) {
    let mut rank: HashMap<&str, i64> = HashMap::new();
    let n = first.len() as i64;
    for (i, kind) in first.iter().enumerate() {
        rank.insert(kind, i as i64 - n);
    }
    for (i, kind) in last.iter().enumerate() {
        rank.insert(kind, 1 + i as i64);
    }
    out.sort_by(|a, b| compare(a, b, &rank));
}

fn compare(a: &Res, b: &Res, rank: &HashMap<&str, i64>) -> Ordering {
    let (ga, gb) = (gvk(a), gvk(b));
    if ga != gb {
        let (ra, rb) = (
            rank.get(a.kind()).copied().unwrap_or(0),
            rank.get(b.kind()).copied().unwrap_or(0),
        );
        if ra != rb {
            return ra.cmp(&rb);
        }
        let (sa, sb) = (gvk_sort_string(&ga), gvk_sort_string(&gb));
        // Namespaces of the core group sort after those of other groups, as in kustomize.
        if ga.2 == "Namespace" && gb.2 == "Namespace" && (ga.0.is_empty() || gb.0.is_empty()) {
            return sb.cmp(&sa);
        }
        return sa.cmp(&sb);
    }
    id_sort_string(a, &ga).cmp(&id_sort_string(b, &gb))
}

/// (group, version, kind).
fn gvk(r: &Res) -> (String, String, String) {
    let api = r.api_version();
    let (g, v) = api.rsplit_once('/').unwrap_or(("", api));
    (g.to_string(), v.to_string(), r.kind().to_string())
}

fn or<'a>(s: &'a str, missing: &'a str) -> &'a str {
    if s.is_empty() { missing } else { s }
}

fn gvk_sort_string((g, v, k): &(String, String, String)) -> String {
    format!("{}_{}_{}", or(g, "~G"), or(v, "~V"), or(k, "~K"))
}

fn id_sort_string(r: &Res, (g, v, k): &(String, String, String)) -> String {
    format!(
        "{}.{}.{}|{}|{}",
        or(k, "[noKind]"),
        or(v, "[noVer]"),
        or(g, "[noGrp]"),
        or(r.namespace().unwrap_or(""), "~X"),
        or(r.name(), "~N")
    )
}
