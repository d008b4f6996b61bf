//! Argo CD's AppProject `syncWindows`, decided as Argo CD decides them (`SyncWindows.Matches`,
//! `CanSync`, `active` in `pkg/apis/application/v1alpha1/types.go`).
//!
//! A window is active when its cron `schedule` (5 fields: minute, hour, day of month, month, day
//! of week; `*`, `?`, lists, ranges, steps, month and day names, as robfig/cron's standard
//! parser) fired in the last `duration` (Go duration): `next(now − duration) < now`, computed
//! in the window's `timeZone` with the zone's offset taken *now* (as Argo CD, so a window across
//! a DST change moves by the change). A window applies to an Application when one of its
//! `applications` (name), `clusters` (destination name or server) or `namespaces` (destination
//! namespace) globs matches (all of the set ones with `andOperator`).
//!
//! Decision: an active `deny` blocks (a manual sync passes only when every active deny window
//! has `manualSync`); else an active `allow` allows; else allow windows that exist but are not
//! active block (manual passes when all of them have `manualSync`); else allowed.
//!
//! Written here rather than taken from a crate: the maintained cron crates either need a seconds
//! field (`cron`) or bring `chrono` beside the workspace's `jiff` (`croner`, `saffron`), and
//! Argo CD's rule needs only "did it fire in this interval", a bounded scan.

use ballast_api::argo::{Application, SyncWindow};
use jiff::civil::DateTime;
use jiff::{Timestamp, ToSpan};

/// Most minutes scanned for one window (a year and a day); longer durations are refused.
const MAX_SCAN_MINUTES: i64 = 366 * 24 * 60;

/// A parsed 5-field cron schedule: one bit per allowed value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Schedule {
    minute: u64,
    hour: u64,
    dom: u64,
    month: u64,
    dow: u64,
    /// Day of month or day of week was `*`/`?`: both must match (else either).
    day_star: bool,
}

const MONTHS: [&str; 12] = [
    "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
];
const DAYS: [&str; 7] = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];

fn value(text: &str, names: &[&str], offset: u32) -> Result<u32, String> {
    if let Some(i) = names.iter().position(|n| n.eq_ignore_ascii_case(text)) {
        return Ok(i as u32 + offset);
    }
    text.parse::<u32>()
        .map_err(|_| format!("failed to parse int from {text}"))
}

/// One field: `(bits, star)`.
fn field(text: &str, min: u32, max: u32, names: &[&str], offset: u32) -> Result<(u64, bool), String> {
    let mut bits = 0u64;
    let mut star = false;
    for part in text.split(',') {
        let (range, step) = match part.split_once('/') {
            Some((r, s)) => (
                r,
                Some(s.parse::<u32>().map_err(|_| format!("failed to parse int from {s}"))?),
            ),
            None => (part, None),
        };
        let (lo, hi) = if range == "*" || range == "?" {
            if step.is_none_or(|s| s == 1) {
                star = true;
            }
            (min, max)
        } else if let Some((a, b)) = range.split_once('-') {
            (value(a, names, offset)?, value(b, names, offset)?)
        } else {
            let v = value(range, names, offset)?;
            (v, if step.is_some() { max } else { v })
        };
        let step = step.unwrap_or(1);
        if lo < min || hi > max || lo > hi || step == 0 {
            return Err(format!("{part}: out of range ({min}-{max})"));
        }
        let mut v = lo;
        while v <= hi {
            bits |= 1 << v;
            v += step;
        }
    }
    Ok((bits, star))
}

impl Schedule {
    /// Parses a 5-field schedule as robfig/cron's parser with minute, hour, day of month, month
    /// and day of week (no seconds, no descriptors).
    pub fn parse(text: &str) -> Result<Self, String> {
        let fields: Vec<&str> = text.split_whitespace().collect();
        if fields.len() != 5 {
            return Err(format!("expected exactly 5 fields, found {}: {text}", fields.len()));
        }
        let (minute, _) = field(fields[0], 0, 59, &[], 0)?;
        let (hour, _) = field(fields[1], 0, 23, &[], 0)?;
        let (dom, dom_star) = field(fields[2], 1, 31, &[], 0)?;
        let (month, _) = field(fields[3], 1, 12, &MONTHS, 1)?;
        let (dow, dow_star) = field(fields[4], 0, 6, &DAYS, 0)?;
        Ok(Schedule {
            minute,
            hour,
            dom,
            month,
            dow,
            day_star: dom_star || dow_star,
        })
    }

    fn day_matches(&self, t: DateTime) -> bool {
        let dom = self.dom & (1 << t.day()) != 0;
        let dow = self.dow & (1 << t.weekday().to_sunday_zero_offset()) != 0;
        if self.day_star { dom && dow } else { dom || dow }
    }

    /// Whether the schedule fires at a minute in `(from, to)` (both civil times, `from`
    /// exclusive at second precision, `to` exclusive), as `Next(from) < to`.
    pub fn fires_between(&self, from: DateTime, to: DateTime) -> bool {
        // First whole minute at or after from + 1s (robfig's Next rounds up to the second).
        let Ok(start) = from.checked_add(1.second()) else {
            return false;
        };
        let mut t = start.with().second(0).subsec_nanosecond(0).build().unwrap_or(start);
        if t < start {
            t = t.checked_add(1.minute()).unwrap_or(to);
        }
        let mut steps = 0;
        while t < to && steps < MAX_SCAN_MINUTES {
            steps += 1;
            let next = if self.month & (1 << t.month()) == 0 {
                t.first_of_month().start_of_day().checked_add(1.month())
            } else if !self.day_matches(t) {
                t.start_of_day().checked_add(1.day())
            } else if self.hour & (1 << t.hour()) == 0 {
                t.with().minute(0).build().and_then(|h| h.checked_add(1.hour()))
            } else if self.minute & (1 << t.minute()) == 0 {
                t.checked_add(1.minute())
            } else {
                return true;
            };
            match next {
                Ok(n) => t = n,
                Err(_) => return false,
            }
        }
        false
    }
}

/// Whether `w` is active at `now`; `Err` when its schedule, duration or zone is invalid.
pub fn active(w: &SyncWindow, now: Timestamp) -> Result<bool, String> {
    let schedule = Schedule::parse(&w.schedule).map_err(|e| format!("cannot parse schedule '{}': {e}", w.schedule))?;
    let duration = ballast_core::duration::parse_duration(&w.duration)
        .map_err(|e| format!("cannot parse duration '{}': {e}", w.duration))?;
    let minutes = (duration.as_secs() / 60) as i64;
    if minutes > MAX_SCAN_MINUTES {
        return Err(format!("duration '{}' is longer than a year", w.duration));
    }
    // The zone's offset now (as Argo CD), an unknown zone read as UTC.
    let zone = w
        .time_zone
        .as_deref()
        .filter(|z| !z.is_empty())
        .and_then(|z| jiff::tz::TimeZone::get(z).ok())
        .unwrap_or(jiff::tz::TimeZone::UTC);
    let offset = zone.to_offset(now);
    let local = offset.to_datetime(now);
    let span = jiff::SignedDuration::try_from(duration).map_err(|e| e.to_string())?;
    let from = local.checked_sub(span).map_err(|e| e.to_string())?;
    Ok(schedule.fires_between(from, local))
}

fn any_glob(patterns: &[String], value: &str) -> bool {
    !value.is_empty() && patterns.iter().any(|p| crate::app_project::glob(p, value, false))
}

/// Whether `w` applies to `app` (Argo CD's `Matches`: applications, then clusters, then
/// namespaces; any of them, or all set ones with `andOperator`).
pub fn applies(w: &SyncWindow, app: &Application) -> bool {
    let name = app.metadata.name.as_deref().unwrap_or("");
    let dst = &app.spec.destination;
    let and = w.and_operator == Some(true);
    let mut checks = Vec::new();
    if !w.applications.is_empty() {
        checks.push(any_glob(&w.applications, name));
    }
    if !w.clusters.is_empty() {
        checks.push(
            any_glob(&w.clusters, dst.name.as_deref().unwrap_or(""))
                || any_glob(&w.clusters, dst.server.as_deref().unwrap_or("")),
        );
    }
    if !w.namespaces.is_empty() {
        checks.push(
            w.namespaces
                .iter()
                .any(|p| crate::app_project::glob(p, dst.namespace.as_deref().unwrap_or(""), false)),
        );
    }
    if and {
        !checks.is_empty() && checks.iter().all(|c| *c)
    } else {
        checks.iter().any(|c| *c)
    }
}

fn describe(w: &SyncWindow) -> String {
    let zone = w.time_zone.as_deref().filter(|z| !z.is_empty()).unwrap_or("UTC");
    format!("{} '{}' for {} ({zone})", w.kind, w.schedule, w.duration)
}

/// Whether the project's `windows` let `app` sync now (`manual`: a sync someone asked for):
/// `Ok(None)` allowed, `Ok(Some(why))` blocked, `Err` a window is invalid (which blocks, as
/// Argo CD).
pub fn blocked(
    windows: &[SyncWindow],
    app: &Application,
    manual: bool,
    now: Timestamp,
) -> Result<Option<String>, String> {
    let matching: Vec<&SyncWindow> = windows.iter().filter(|w| applies(w, app)).collect();
    if matching.is_empty() {
        return Ok(None);
    }
    let mut active_deny = Vec::new();
    let mut active_allow = false;
    let mut inactive_allow = Vec::new();
    for w in &matching {
        let on = active(w, now).map_err(|e| format!("invalid sync windows: {e}"))?;
        match (w.kind.as_str(), on) {
            ("deny", true) => active_deny.push(*w),
            ("allow", true) => active_allow = true,
            ("allow", false) => inactive_allow.push(*w),
            _ => {}
        }
    }
    if !active_deny.is_empty() {
        if manual && active_deny.iter().all(|w| w.manual_sync == Some(true)) {
            return Ok(None);
        }
        let names: Vec<String> = active_deny.iter().map(|w| describe(w)).collect();
        return Ok(Some(format!("deny sync window active: {}", names.join(", "))));
    }
    if active_allow || inactive_allow.is_empty() {
        return Ok(None);
    }
    if manual && inactive_allow.iter().all(|w| w.manual_sync == Some(true)) {
        return Ok(None);
    }
    let names: Vec<String> = inactive_allow.iter().map(|w| describe(w)).collect();
    Ok(Some(format!("outside every allow sync window: {}", names.join(", "))))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn at(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    fn window(v: serde_json::Value) -> SyncWindow {
        serde_json::from_value(v).unwrap()
    }

    fn app(name: &str, ns: &str) -> Application {
        serde_json::from_value(json!({"metadata": {"name": name},
            "spec": {"project": "p", "destination": {"server": "https://kubernetes.default.svc", "namespace": ns}}}))
        .unwrap()
    }

    #[test]
    fn cron_fields_as_robfig() {
        assert!(Schedule::parse("* * * *").is_err());
        assert!(Schedule::parse("60 * * * *").is_err());
        assert!(Schedule::parse("0 0 * * 7").is_err(), "robfig's day of week is 0-6");
        assert!(Schedule::parse("*/15 9-17 * JAN-mar mon,FRI").is_ok());
        let s = Schedule::parse("30 2 * * *").unwrap();
        let d = |t: &str| t.parse::<DateTime>().unwrap();
        assert!(s.fires_between(d("2026-11-30T02:00:00"), d("2026-11-30T03:00:00")));
        assert!(
            !s.fires_between(d("2026-11-30T02:30:00"), d("2026-11-30T03:00:00")),
            "from is exclusive"
        );
        assert!(
            !s.fires_between(d("2026-11-30T02:00:00"), d("2026-11-30T02:30:00")),
            "to is exclusive"
        );
        // Day of month OR day of week when both are restricted; AND when one is `*`.
        let s = Schedule::parse("0 0 1 * mon").unwrap();
        assert!(
            s.fires_between(d("2026-11-29T23:00:00"), d("2026-11-30T01:00:00")),
            "a Monday"
        );
        assert!(
            s.fires_between(d("2026-11-30T23:00:00"), d("2026-12-01T01:00:00")),
            "the 1st"
        );
        let s = Schedule::parse("0 0 * * mon").unwrap();
        assert!(!s.fires_between(d("2026-11-30T23:00:00"), d("2026-12-01T01:00:00")));
        let s = Schedule::parse("0 0 29 2 *").unwrap();
        assert!(s.fires_between(d("2027-01-01T00:00:00"), d("2028-03-01T00:00:00")));
    }

    #[test]
    fn active_now_with_duration_and_time_zone() {
        let w = window(json!({"kind": "deny", "schedule": "0 22 * * *", "duration": "1h"}));
        assert!(active(&w, at("2026-11-30T22:30:00Z")).unwrap());
        assert!(!active(&w, at("2026-11-30T23:00:01Z")).unwrap());
        assert!(!active(&w, at("2026-11-30T21:59:00Z")).unwrap());
        // 22:00 in Berlin (UTC+1 in November) is 21:00 UTC.
        let mut w = w;
        w.time_zone = Some("Europe/Berlin".into());
        assert!(active(&w, at("2026-11-30T21:30:00Z")).unwrap());
        assert!(!active(&w, at("2026-11-30T22:30:00Z")).unwrap());
        w.duration = "soon".into();
        assert!(active(&w, at("2026-11-30T21:30:00Z")).is_err());
    }

    #[test]
    fn deny_allow_and_manual_sync_as_argo_cd() {
        let now = at("2026-11-30T12:00:00Z");
        let a = app("web", "prod");
        let deny = window(json!({"kind": "deny", "schedule": "* * * * *", "duration": "1h", "applications": ["w*"]}));
        assert!(blocked(std::slice::from_ref(&deny), &a, false, now).unwrap().is_some());
        assert!(blocked(std::slice::from_ref(&deny), &a, true, now).unwrap().is_some());
        let mut manual = deny.clone();
        manual.manual_sync = Some(true);
        assert_eq!(blocked(std::slice::from_ref(&manual), &a, true, now).unwrap(), None);
        assert!(
            blocked(&[manual.clone(), deny.clone()], &a, true, now)
                .unwrap()
                .is_some()
        );
        // Not matching: no effect.
        assert_eq!(
            blocked(
                &[window(
                    json!({"kind": "deny", "schedule": "* * * * *", "duration": "1h", "namespaces": ["dev"]})
                )],
                &a,
                false,
                now
            )
            .unwrap(),
            None
        );
        // Outside every allow window: blocked; inside one: allowed.
        let closed =
            window(json!({"kind": "allow", "schedule": "0 3 * * *", "duration": "1h", "namespaces": ["prod"]}));
        let why = blocked(std::slice::from_ref(&closed), &a, false, now).unwrap().unwrap();
        assert!(why.starts_with("outside every allow sync window"), "{why}");
        let open = window(
            json!({"kind": "allow", "schedule": "0 11 * * *", "duration": "2h", "clusters": ["in-cluster", "https://kubernetes.default.svc"]}),
        );
        assert_eq!(blocked(&[closed.clone(), open], &a, false, now).unwrap(), None);
        // andOperator: every set selector must match.
        let and = window(
            json!({"kind": "deny", "schedule": "* * * * *", "duration": "1h", "applications": ["web"], "namespaces": ["dev"], "andOperator": true}),
        );
        assert_eq!(blocked(&[and], &a, false, now).unwrap(), None);
    }
}
