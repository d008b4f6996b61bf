//! Expected values from `helm template` probes (run where the local zone is UTC; checks that
//! depend on the local zone are skipped elsewhere).

use super::*;
use crate::funcs::regex::test_support::{call, call_err};

fn funcs() -> FuncMap {
    let mut m = FuncMap::new();
    register(&mut m);
    m
}

fn s(m: &FuncMap, name: &str, args: &[Value]) -> String {
    call(m, name, args).to_string()
}

fn local_is_utc() -> bool {
    TimeZone::system().to_offset_info(Timestamp::now()).offset().seconds() == 0
        && TimeZone::system().to_offset_info(Timestamp::now()).abbreviation() == "UTC"
}

fn to_date(m: &FuncMap, layout: &str, v: &str) -> Value {
    call(m, "toDate", &[layout.into(), v.into()])
}

#[test]
fn now_prints_as_go() {
    let m = funcs();
    let now = call(&m, "now", &[]);
    assert_eq!(now.type_name(), "time.Time");
    assert_eq!(now.kind_name(), "struct");
    let text = now.to_string();
    // 2026-11-29 21:28:28.248928387 +0000 UTC m=+0.106120170
    let (wall, mono) = text.split_once(" m=+").unwrap();
    assert!(mono.split_once('.').unwrap().1.len() == 9, "{text}");
    assert!(
        wall.len() >= 19 && wall.as_bytes()[4] == b'-' && wall.as_bytes()[10] == b' ',
        "{text}"
    );
    let Value::Object(o) = &now else { panic!() };
    let json = o.to_data().to_string();
    assert!(json.contains('T'), "{json}");
    assert_eq!(o.field("Location").unwrap().to_string(), "Local");
}

#[test]
fn formats() {
    let m = funcs();
    if local_is_utc() {
        assert_eq!(
            s(
                &m,
                "date",
                &[
                    "2006-01-02 15:04:05.000 MST Mon Jan _2 3PM pm -07:00 Z07:00 .999 002 __2".into(),
                    Value::Int(0)
                ]
            ),
            "1970-01-01 00:00:00.000 UTC Thu Jan  1 12AM am +00:00 Z  001   1"
        );
        assert_eq!(s(&m, "htmlDate", &[Value::Int(86400)]), "1970-01-02");
    }
    assert_eq!(
        s(
            &m,
            "dateInZone",
            &[
                "Monday January 2 2006 15:04:05.999999999 MST -0700".into(),
                Value::Int(1_700_000_000),
                "America/New_York".into()
            ]
        ),
        "Tuesday November 14 2023 17:13:20 EST -0500"
    );
    assert_eq!(
        s(
            &m,
            "date_in_zone",
            &["2006".into(), Value::Float(1.5), "Nope/Zone".into()]
        )
        .len(),
        4
    );
    assert_eq!(
        s(&m, "htmlDateInZone", &[Value::Int(86400), "Asia/Tokyo".into()]),
        "1970-01-02"
    );
    let t = to_date(&m, "2006-01-02 15:04", "2024-07-01 12:30");
    if local_is_utc() {
        assert_eq!(
            s(&m, "dateInZone", &["15:04 MST".into(), t, "Asia/Kolkata".into()]),
            "18:00 IST"
        );
    }
}

#[test]
fn parses() {
    let m = funcs();
    assert_eq!(
        to_date(&m, "2006-01-02", "2024-02-30").to_string(),
        "0001-01-01 00:00:00 +0000 UTC"
    );
    assert_eq!(
        to_date(&m, "2006-01-02T15:04:05Z07:00", "2024-03-01T10:20:30+02:00").to_string(),
        "2024-03-01 10:20:30 +0200 +0200"
    );
    if local_is_utc() {
        assert_eq!(
            to_date(&m, "2006-01-02 15:04:05.999 MST", "2024-03-01 10:20:30.5 CET").to_string(),
            "2024-03-01 10:20:30.5 +0000 CET"
        );
        let t = to_date(&m, "2006-01-02", "2024-03-01");
        assert_eq!(s(&m, "unixEpoch", std::slice::from_ref(&t)), "1709251200");
        let Value::Object(o) = &t else { panic!() };
        assert_eq!(o.field("Year").unwrap().to_string(), "2024");
        assert_eq!(o.field("Month").unwrap().to_string(), "March");
        assert_eq!(o.field("Month").unwrap().type_name(), "time.Month");
        assert_eq!(o.field("Weekday").unwrap().to_string(), "Friday");
        assert_eq!(o.field("Unix").unwrap().to_string(), "1709251200");
        assert_eq!(
            o.method("Format", &["Jan 2".into()]).unwrap().unwrap().to_string(),
            "Mar 1"
        );
        assert_eq!(o.field("UTC").unwrap().to_string(), "2024-03-01 00:00:00 +0000 UTC");
        assert_eq!(
            o.method("AddDate", &[Value::Int(0), Value::Int(1), Value::Int(30)])
                .unwrap()
                .unwrap()
                .to_string(),
            "2024-05-01 00:00:00 +0000 UTC"
        );
        assert_eq!(
            s(&m, "dateModify", &["-1.5h".into(), t.clone()]),
            "2024-02-29 22:30:00 +0000 UTC"
        );
        assert_eq!(
            s(&m, "dateModify", &["bad".into(), t.clone()]),
            "2024-03-01 00:00:00 +0000 UTC"
        );
        assert_eq!(
            s(&m, "mustDateModify", &["1h".into(), t.clone()]),
            "2024-03-01 01:00:00 +0000 UTC"
        );
        assert_eq!(
            call_err(&m, "must_date_modify", &["bad".into(), t]),
            "time: invalid duration \"bad\""
        );
    }
    assert_eq!(
        call_err(&m, "mustToDate", &["2006-01-02".into(), "x".into()]),
        "parsing time \"x\" as \"2006-01-02\": cannot parse \"x\" as \"2006\""
    );
    assert_eq!(
        call_err(&m, "mustToDate", &["2006-01-02".into(), "2024-13-01".into()]),
        "parsing time \"2024-13-01\": month out of range"
    );
    assert_eq!(
        call_err(&m, "mustToDate", &["2006-01-02".into(), "2024-01-01x".into()]),
        "parsing time \"2024-01-01x\": extra text: \"x\""
    );
    assert_eq!(
        call_err(&m, "unixEpoch", &["x".into()]),
        "wrong type for value; expected time.Time; got string"
    );
    assert_eq!(
        s(
            &m,
            "mustToDate",
            &[
                "Jan 2 2006 3:04:05.000PM -07".into(),
                "feb 29 2024 11:59:59.123AM +05".into()
            ]
        ),
        "2024-02-29 11:59:59.123 +0500 +0500"
    );
}

#[test]
fn durations() {
    let m = funcs();
    let d = |v: Value| s(&m, "duration", &[v]);
    assert_eq!(d(Value::Int(95)), "0s");
    assert_eq!(d("95".into()), "1m35s");
    assert_eq!(d(Value::Int64(3725)), "1h2m5s");
    assert_eq!(d("-1".into()), "-1s");
    assert_eq!(d("x".into()), "0s");
    let r = |v: Value| s(&m, "durationRound", &[v]);
    assert_eq!(r("2h10m".into()), "2h");
    assert_eq!(r(Value::Int64(1000)), "0s");
    assert_eq!(r("400h".into()), "16d");
    assert_eq!(r("9000h".into()), "1y");
    assert_eq!(r("-61s".into()), "1m");
    assert_eq!(r(Value::Int(5)), "0s");
    assert_eq!(r("1h".into()), "60m");
    let old = to_date(&m, "2006-01-02", "2024-03-01");
    assert!(s(&m, "ago", &[old]).ends_with('s'));
    assert_eq!(s(&m, "ago", &[call(&m, "now", &[])]), "0s");
}

/// `time.Date(2009, 2, 3, 4, 5, 6, 7080900, time.FixedZone("XYZ", -12615))` formatted by Go.
const GO_FORMATS: &[(&str, &str)] = &[
    ("Mon Jan _2 15:04:05 2006", "Tue Feb  3 04:05:06 2009"),
    ("Mon Jan _2 15:04:05 MST 2006", "Tue Feb  3 04:05:06 XYZ 2009"),
    ("Mon Jan 02 15:04:05 -0700 2006", "Tue Feb 03 04:05:06 -0330 2009"),
    ("02 Jan 06 15:04 MST", "03 Feb 09 04:05 XYZ"),
    ("02 Jan 06 15:04 -0700", "03 Feb 09 04:05 -0330"),
    ("Monday, 02-Jan-06 15:04:05 MST", "Tuesday, 03-Feb-09 04:05:06 XYZ"),
    ("Mon, 02 Jan 2006 15:04:05 MST", "Tue, 03 Feb 2009 04:05:06 XYZ"),
    ("Mon, 02 Jan 2006 15:04:05 -0700", "Tue, 03 Feb 2009 04:05:06 -0330"),
    ("2006-01-02T15:04:05Z07:00", "2009-02-03T04:05:06-03:30"),
    (
        "2006-01-02T15:04:05.999999999Z07:00",
        "2009-02-03T04:05:06.0070809-03:30",
    ),
    ("3:04PM", "4:05AM"),
    ("Jan _2 15:04:05", "Feb  3 04:05:06"),
    ("Jan _2 15:04:05.000000", "Feb  3 04:05:06.007080"),
    (
        "2006-01-02T15:04:05.000000Z07:00:00",
        "2009-02-03T04:05:06.007080-03:30:15",
    ),
    ("-070000 -07:00:00 Z070000 Z07 -07", "-033015 -03:30:15 -033015 -03 -03"),
    ("Janet Monday Mon Mond", "Janet Tuesday Tue Mond"),
    ("_2006 __2 002 _2 2 02", "_2009  34 034  3 3 03"),
    ("3 03 15 PM pm 4 04 5 05", "4 04 04 AM am 5 05 6 06"),
    (".0 ,00 .999 ,999999999 .9999999999", ".0 ,00 .007 ,0070809 .0070809"),
    (
        "2006-01-02 15:04:05.999999999 -0700 MST",
        "2009-02-03 04:05:06.0070809 -0330 XYZ",
    ),
    ("06 1 01 Jan January", "09 2 02 Feb February"),
];

/// Go's `time.ParseInLocation(layout, value, time.UTC)`, printed with `String()`.
const GO_PARSES: &[(&str, &str, Result<&str, &str>)] = &[
    ("2006-01-02", "2024-02-29", Ok("2024-02-29 00:00:00 +0000 UTC")),
    (
        "2006-01-02",
        "2023-02-29",
        Err("parsing time \"2023-02-29\": day out of range"),
    ),
    (
        "02 Jan 06 15:04 MST",
        "03 Feb 09 04:05 PST",
        Ok("2009-02-03 04:05:00 +0000 PST"),
    ),
    (
        "2006-01-02T15:04:05Z07:00",
        "2024-01-01T10:00:00Z",
        Ok("2024-01-01 10:00:00 +0000 UTC"),
    ),
    (
        "2006-01-02T15:04:05.999999999Z07:00",
        "2024-01-01T10:00:00.123456789+05:30",
        Ok("2024-01-01 10:00:00.123456789 +0530 +0530"),
    ),
    (
        "2006-01-02 15:04:05",
        "2024-01-01 25:00:00",
        Err("parsing time \"2024-01-01 25:00:00\": hour out of range"),
    ),
    ("2006 002", "2024 060", Ok("2024-02-29 00:00:00 +0000 UTC")),
    ("2006 __2", "2023  60", Ok("2023-03-01 00:00:00 +0000 UTC")),
    ("Jan _2", "Feb  3", Ok("0000-02-03 00:00:00 +0000 UTC")),
    ("3:04PM", "12:30AM", Ok("0000-01-01 00:30:00 +0000 UTC")),
    (
        "2006-01-02 15:04:05",
        "2024-01-01 10:00:00.5",
        Ok("2024-01-01 10:00:00.5 +0000 UTC"),
    ),
    ("15:04:05,000", "10:00:00,123", Ok("0000-01-01 10:00:00.123 +0000 UTC")),
    ("MST", "GMT+3", Ok("0000-01-01 03:00:00 +0300 GMT+3")),
    (
        "2006-01-02",
        "24-01-01",
        Err("parsing time \"24-01-01\" as \"2006-01-02\": cannot parse \"1-01\" as \"2006\""),
    ),
    ("Mon Jan 2", "Tue Feb 3", Ok("0000-02-03 00:00:00 +0000 UTC")),
    (
        "Monday",
        "Funday",
        Err("parsing time \"Funday\" as \"Monday\": cannot parse \"Funday\" as \"Monday\""),
    ),
];

#[test]
fn go_layouts() {
    let c = Civil {
        year: 2009,
        month: 2,
        day: 3,
        hour: 4,
        minute: 5,
        second: 6,
        nanos: 7_080_900,
        yday: 34,
        weekday: 2,
    };
    for (layout, want) in GO_FORMATS {
        assert_eq!(layout::format(layout, &c, "XYZ", -12615), *want, "{layout}");
    }
    if !local_is_utc() {
        return;
    }
    for (layout, value, want) in GO_PARSES {
        let got = parse_local(layout, value).map(|t| t.string());
        assert_eq!(got.as_deref().map_err(String::as_str), *want, "{layout} {value}");
    }
    // Bytes that are not ASCII never split a character.
    assert_eq!(
        parse_local("2006-01-02", "2024-0é-01").err().unwrap(),
        "parsing time \"2024-0\\xc3\\xa9-01\" as \"2006-01-02\": cannot parse \"0\\xc3\\xa9-01\" as \"01\""
    );
    assert!(parse_local("Jan", "é").is_err());
    assert!(parse_local("2006 MST", "2024 ééé").is_err());
}
