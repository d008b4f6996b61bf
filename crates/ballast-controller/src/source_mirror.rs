//! Source mirrors (`ballast controller --source-mirror FROM=TO`): chart sources of an air-gapped
//! cluster read from a mirror of their repository while their manifests keep the upstream URL.
//!
//! A mirror rewrites the URL of a `HelmRepository`, an `OCIRepository` and the charts a
//! `HelmChart` fetches through them, by prefix, when the client is built. Guarantees:
//! - `FROM` matches at a path boundary only: `oci://r.example/charts` rewrites
//!   `oci://r.example/charts` and `oci://r.example/charts/app`, never `oci://r.example/chartsx`;
//!   the longest matching `FROM` wins; scheme and host compare without case;
//! - `FROM` and `TO` are of the same family (`http(s)://` to `http(s)://`, `oci://` to `oci://`);
//!   neither may carry credentials (`user:password@`);
//! - plain HTTP is spoken to a mirror only when it is on a loopback address (`127.0.0.0/8`,
//!   `[::1]`, `localhost`) or when the mirror says `insecure`; an `oci://` mirror elsewhere is
//!   reached over HTTPS, an `http://` `TO` elsewhere without `insecure` is refused;
//! - credentials and TLS material of a source's `secretRef`/`certSecretRef` (and a URL's own
//!   `user:password@`) are never sent to a mirror unless it says `pass-credentials`; a mirror
//!   that needs a login of its own names a Secret (`secret=NAMESPACE/NAME`, `username` and
//!   `password` or a `.dockerconfigjson` entry for the mirror's host), read by the controller
//!   and sent to that mirror only;
//! - statuses, events and messages keep naming the source's own URL.
//!
//! Syntax: `FROM=TO[,insecure][,pass-credentials][,secret=NAMESPACE/NAME]`.

use std::fmt;

use ballast_source::BasicAuth;
use k8s_openapi::api::core::v1::Secret;
use kube::api::Api;

use crate::error::ReconcileError;

/// One `--source-mirror`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SourceMirror {
    from: String,
    to: String,
    insecure: bool,
    pass_credentials: bool,
    secret: Option<(String, String)>,
}

/// The controller's mirrors (empty: every URL is used as written).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SourceMirrors(Vec<SourceMirror>);

/// A source URL after the mirrors.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mirrored {
    /// The URL to fetch from.
    pub url: String,
    /// Whether a mirror rewrote it.
    pub mirrored: bool,
    /// Speak plain HTTP to an `oci://` URL (a loopback or `insecure` mirror).
    pub plain_http: bool,
    /// Whether the source's credentials and TLS material may be sent to `url`.
    pub credentials: bool,
    /// The mirror's own login Secret (namespace, name).
    pub secret: Option<(String, String)>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Family {
    Http,
    Oci,
}

/// Splits `scheme://authority/rest` into lower-case scheme, authority and the rest (with its
/// leading `/`, or empty).
fn split(url: &str) -> Option<(String, &str, &str)> {
    let (scheme, rest) = url.split_once("://")?;
    let (authority, path) = match rest.find('/') {
        Some(i) => rest.split_at(i),
        None => (rest, ""),
    };
    Some((scheme.to_ascii_lowercase(), authority, path))
}

fn family(scheme: &str) -> Option<Family> {
    match scheme {
        "http" | "https" => Some(Family::Http),
        "oci" => Some(Family::Oci),
        _ => None,
    }
}

/// The host of an authority (`user@host:port`, `[::1]:port`), without credentials or port.
fn host(authority: &str) -> &str {
    let hostport = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    if let Some(rest) = hostport.strip_prefix('[') {
        return rest.split_once(']').map_or(rest, |(h, _)| h);
    }
    hostport.split_once(':').map_or(hostport, |(h, _)| h)
}

fn is_loopback(host: &str) -> bool {
    host.eq_ignore_ascii_case("localhost") || host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// `scheme://authority/path` normalised for comparison: lower-case scheme and authority, no
/// trailing `/`.
fn normalise(scheme: &str, authority: &str, path: &str) -> String {
    format!(
        "{scheme}://{}{}",
        authority.to_ascii_lowercase(),
        path.trim_end_matches('/')
    )
}

impl SourceMirror {
    /// Parses `FROM=TO[,insecure][,pass-credentials]`.
    pub fn parse(spec: &str) -> Result<SourceMirror, String> {
        let (from, rest) = spec
            .split_once('=')
            .ok_or_else(|| format!("source mirror {spec:?}: expected FROM=TO"))?;
        let mut parts = rest.split(',');
        let to = parts.next().unwrap_or_default();
        let (mut insecure, mut pass_credentials, mut secret) = (false, false, None);
        for option in parts {
            match option.trim() {
                "insecure" => insecure = true,
                "pass-credentials" => pass_credentials = true,
                other => match other.strip_prefix("secret=").and_then(|s| s.split_once('/')) {
                    Some((ns, name)) if !ns.is_empty() && !name.is_empty() && !name.contains('/') => {
                        secret = Some((ns.to_string(), name.to_string()));
                    }
                    _ => {
                        return Err(format!(
                            "source mirror {from:?}: unknown option {other:?} (insecure, pass-credentials, secret=NAMESPACE/NAME)"
                        ));
                    }
                },
            }
        }
        let check = |what: &str, url: &str| -> Result<(String, Family, String), String> {
            let (scheme, authority, path) =
                split(url).ok_or_else(|| format!("source mirror {what} {url:?}: expected scheme://host[/path]"))?;
            let family = family(&scheme)
                .ok_or_else(|| format!("source mirror {what} {url:?}: expected http://, https:// or oci://"))?;
            if authority.contains('@') {
                return Err(format!(
                    "source mirror {what} {scheme}://{}: credentials do not belong in a mirror URL",
                    host(authority)
                ));
            }
            if host(authority).is_empty() || path.contains(['?', '#']) {
                return Err(format!("source mirror {what} {url:?}: expected scheme://host[/path]"));
            }
            Ok((scheme.clone(), family, normalise(&scheme, authority, path)))
        };
        let (_, from_family, from) = check("FROM", from)?;
        let (to_scheme, to_family, to) = check("TO", to)?;
        if from_family != to_family {
            return Err(format!(
                "source mirror {from}: {to} is not of the same kind (http(s):// mirrors http(s)://, oci:// mirrors oci://)"
            ));
        }
        let loopback = split(&to).is_some_and(|(_, a, _)| is_loopback(host(a)));
        if to_scheme == "http" && !loopback && !insecure {
            return Err(format!(
                "source mirror {from}: {to} is plain HTTP on a non-loopback host; add ,insecure to allow it"
            ));
        }
        Ok(SourceMirror {
            from,
            to,
            insecure,
            pass_credentials,
            secret,
        })
    }

    /// The rewritten URL when `from` is a prefix of `url` at a path boundary.
    fn apply(&self, url: &str) -> Option<Mirrored> {
        let (scheme, authority, path) = split(url)?;
        let had_credentials = authority.contains('@');
        let bare = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
        let candidate = format!("{scheme}://{}{path}", bare.to_ascii_lowercase());
        let rest = candidate.strip_prefix(&self.from)?;
        if !(rest.is_empty() || rest.starts_with('/')) {
            return None;
        }
        // The path keeps its case; the lower-cased part is scheme and authority only.
        let prefix_len = self.from.len();
        let original = format!("{scheme}://{bare}{path}");
        let original_rest = original.get(prefix_len..)?;
        let (to_scheme, to_authority, to_path) = split(&self.to)?;
        let mut to_authority = to_authority.to_string();
        if had_credentials && self.pass_credentials {
            let userinfo = authority.rsplit_once('@').map_or("", |(u, _)| u);
            to_authority = format!("{userinfo}@{to_authority}");
        }
        let loopback = is_loopback(host(&to_authority));
        Some(Mirrored {
            url: format!("{to_scheme}://{to_authority}{to_path}{original_rest}"),
            mirrored: true,
            plain_http: to_scheme == "oci" && (loopback || self.insecure),
            credentials: self.pass_credentials,
            secret: self.secret.clone(),
        })
    }
}

impl fmt::Display for SourceMirror {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}={}", self.from, self.to)?;
        if self.insecure {
            f.write_str(",insecure")?;
        }
        if self.pass_credentials {
            f.write_str(",pass-credentials")?;
        }
        if let Some((ns, name)) = &self.secret {
            write!(f, ",secret={ns}/{name}")?;
        }
        Ok(())
    }
}

impl SourceMirrors {
    /// Mirrors from `--source-mirror` values; two mirrors of one `FROM` are refused.
    pub fn parse<S: AsRef<str>>(specs: &[S]) -> Result<SourceMirrors, String> {
        let mut out: Vec<SourceMirror> = Vec::new();
        for spec in specs {
            let mirror = SourceMirror::parse(spec.as_ref())?;
            if out.iter().any(|m| m.from == mirror.from) {
                return Err(format!("source mirror {}: given twice", mirror.from));
            }
            out.push(mirror);
        }
        // Longest FROM first: the most specific mirror wins.
        out.sort_by_key(|m| std::cmp::Reverse(m.from.len()));
        Ok(SourceMirrors(out))
    }

    /// Whether no mirror is configured.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// `url` through the most specific matching mirror; unchanged (credentials allowed, as the
    /// source says) when none matches.
    pub fn rewrite(&self, url: &str) -> Mirrored {
        self.0.iter().find_map(|m| m.apply(url)).unwrap_or_else(|| Mirrored {
            url: url.to_string(),
            mirrored: false,
            plain_http: false,
            credentials: true,
            secret: None,
        })
    }
}

impl Mirrored {
    /// The credentials to send to [`Mirrored::url`]: the mirror's own Secret when it names one,
    /// else the source's (`source`, read already) when they may go there, else none. `registry`
    /// picks the `.dockerconfigjson` entry (the mirror's host for `oci://`).
    pub async fn auth(
        &self,
        client: &kube::Client,
        source: Option<BasicAuth>,
        registry: Option<&str>,
    ) -> Result<Option<BasicAuth>, ReconcileError> {
        let Some((ns, name)) = &self.secret else {
            return Ok(source.filter(|_| self.credentials));
        };
        let failed = |message: String| ReconcileError::Source {
            reason: crate::chart_source::AUTHENTICATION_FAILED,
            message,
        };
        let secrets: Api<Secret> = Api::namespaced(client.clone(), ns);
        let secret = secrets
            .get_opt(name)
            .await?
            .ok_or_else(|| failed(format!("source mirror secret '{ns}/{name}' not found")))?;
        let data = secret
            .data
            .unwrap_or_default()
            .into_iter()
            .map(|(k, v)| (k, v.0))
            .collect();
        let shown = format!("{ns}/{name}");
        match ballast_source::basic_auth_from_secret(&shown, &data, registry) {
            Ok(Some(auth)) => Ok(Some(auth)),
            Ok(None) => Err(failed(format!(
                "source mirror secret '{shown}': expected username and password, or a .dockerconfigjson entry for the mirror"
            ))),
            Err(e) => Err(failed(e.to_string())),
        }
    }

    /// The registry host of an `oci://` mirror URL (for `.dockerconfigjson` lookups).
    pub fn registry(&self) -> Option<String> {
        ballast_source::oci::OciUrl::parse(&self.url).ok().map(|u| u.registry)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mirrors(specs: &[&str]) -> SourceMirrors {
        SourceMirrors::parse(specs).unwrap()
    }

    #[test]
    fn rewrites_at_a_path_boundary_only() {
        let m = mirrors(&["oci://quay.example/jetstack/charts=oci://127.0.0.1:5000/jetstack"]);
        let r = m.rewrite("oci://quay.example/jetstack/charts/cert-manager");
        assert_eq!(r.url, "oci://127.0.0.1:5000/jetstack/cert-manager");
        assert!(r.mirrored && r.plain_http && !r.credentials);
        assert_eq!(
            m.rewrite("oci://quay.example/jetstack/charts").url,
            "oci://127.0.0.1:5000/jetstack"
        );
        let other = m.rewrite("oci://quay.example/jetstack/chartsx/cert-manager");
        assert!(!other.mirrored);
        assert_eq!(other.url, "oci://quay.example/jetstack/chartsx/cert-manager");
        assert!(!m.rewrite("oci://quay.example.evil/jetstack/charts/x").mirrored);
        assert!(!m.rewrite("oci://quay.example:444/jetstack/charts/x").mirrored);
    }

    #[test]
    fn a_host_prefix_is_not_a_host() {
        let m = mirrors(&["https://charts.example=http://127.0.0.1:8000"]);
        assert!(!m.rewrite("https://charts.example.org/index").mirrored);
        assert!(
            !m.rewrite("http://charts.example/x").mirrored,
            "the scheme is part of FROM"
        );
        let r = m.rewrite("https://CHARTS.example/podinfo/");
        assert_eq!(r.url, "http://127.0.0.1:8000/podinfo/");
        assert!(!r.plain_http, "plain_http is for oci:// URLs; http:// says so itself");
    }

    #[test]
    fn the_longest_from_wins_and_paths_keep_their_case() {
        let m = mirrors(&[
            "oci://r.example=oci://127.0.0.1:1/all",
            "oci://r.example/Team=oci://127.0.0.1:2/team",
        ]);
        assert_eq!(m.rewrite("oci://r.example/Team/App").url, "oci://127.0.0.1:2/team/App");
        assert_eq!(m.rewrite("oci://r.example/other").url, "oci://127.0.0.1:1/all/other");
        assert_eq!(
            m.rewrite("oci://r.example/team/app").url,
            "oci://127.0.0.1:1/all/team/app"
        );
    }

    #[test]
    fn credentials_reach_a_mirror_only_when_it_says_so() {
        let m = mirrors(&["https://charts.example=https://mirror.example/charts"]);
        let r = m.rewrite("https://user:secret@charts.example/stable");
        assert_eq!(r.url, "https://mirror.example/charts/stable");
        assert!(!r.credentials);
        assert!(!r.url.contains("secret"));
        let m = mirrors(&["https://charts.example=https://mirror.example/charts,pass-credentials"]);
        let r = m.rewrite("https://user:secret@charts.example/stable");
        assert_eq!(r.url, "https://user:secret@mirror.example/charts/stable");
        assert!(r.credentials);
        let unmatched = m.rewrite("https://other.example/x");
        assert!(unmatched.credentials && !unmatched.mirrored);
    }

    #[test]
    fn plain_http_only_on_loopback_or_when_the_mirror_says_so() {
        assert!(SourceMirror::parse("https://a.example=http://mirror.example").is_err());
        assert!(SourceMirror::parse("https://a.example=http://mirror.example,insecure").is_ok());
        assert!(SourceMirror::parse("https://a.example=http://[::1]:8080/x").is_ok());
        assert!(SourceMirror::parse("https://a.example=http://localhost:8080").is_ok());
        let remote = mirrors(&["oci://a.example=oci://mirror.example/a"]);
        assert!(!remote.rewrite("oci://a.example/x").plain_http);
        let insecure = mirrors(&["oci://a.example=oci://mirror.example/a,insecure"]);
        assert!(insecure.rewrite("oci://a.example/x").plain_http);
        let local = mirrors(&["oci://a.example=oci://127.0.0.2:5000"]);
        assert!(local.rewrite("oci://a.example/x").plain_http);
    }

    #[test]
    fn a_mirror_names_its_own_login() {
        let m = mirrors(&["oci://a.example=oci://127.0.0.1:5000/a,secret=flux-system/mirror-login"]);
        let r = m.rewrite("oci://a.example/x");
        assert_eq!(r.secret, Some(("flux-system".into(), "mirror-login".into())));
        assert!(!r.credentials, "the source's own credentials still stay home");
        assert_eq!(r.registry().as_deref(), Some("127.0.0.1:5000"));
        assert_eq!(
            SourceMirror::parse("oci://a.example=oci://127.0.0.1:5000/a,secret=ns/n")
                .unwrap()
                .to_string(),
            "oci://a.example=oci://127.0.0.1:5000/a,secret=ns/n"
        );
    }

    #[test]
    fn bad_mirrors_are_refused() {
        for bad in [
            "oci://a.example",
            "oci://a.example=https://127.0.0.1",
            "https://a.example=oci://127.0.0.1/x",
            "ftp://a.example=http://127.0.0.1",
            "https://a.example=http://u:p@127.0.0.1",
            "https://u:p@a.example=http://127.0.0.1",
            "https://a.example=http://127.0.0.1,verbose",
            "https://a.example=http://127.0.0.1,secret=nons",
            "https://a.example=http://127.0.0.1,secret=/x",
            "https://a.example=http://",
        ] {
            assert!(SourceMirror::parse(bad).is_err(), "{bad}");
        }
        let err = SourceMirror::parse("https://a.example=http://user:hunter2@127.0.0.1").unwrap_err();
        assert!(!err.contains("hunter2"), "{err}");
        assert!(
            SourceMirrors::parse(&[
                "oci://a.example=oci://127.0.0.1/a",
                "oci://a.example/=oci://127.0.0.1/b"
            ])
            .is_err()
        );
    }
}
