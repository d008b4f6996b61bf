//! A streaming reader of `index.yaml`: walks the YAML events once and keeps only what
//! resolution needs (name, version, URLs, digest, appVersion), never building a tree of the
//! whole document — a large index costs its text plus the compact entries, not a generic
//! value per node.
//!
//! Anchors and aliases (which helm never writes) make the reader step aside: the caller then
//! parses the document whole, so such an index is read correctly, only less frugally.

use std::collections::BTreeMap;

use saphyr_parser::{Event, Parser, ScalarStyle, StrInput};

use crate::helm_repo::IndexEntry;

/// What the stream gave.
pub(crate) enum Streamed {
    /// `apiVersion` and the entries by chart name, in index order.
    Index(String, BTreeMap<String, Vec<IndexEntry>>),
    /// Not a plain index document (anchors, aliases, not a mapping): parse it whole.
    Fallback,
}

/// Why the stream stopped.
enum Stop {
    Fallback,
    Error(String),
}

struct Events<'a> {
    parser: Parser<'a, StrInput<'a>>,
}

impl<'a> Events<'a> {
    fn next(&mut self) -> Result<Event<'a>, Stop> {
        match self.parser.next_event() {
            Some(Ok((event, _))) => match &event {
                Event::Alias(_) => Err(Stop::Fallback),
                Event::Scalar(_, _, anchor, _) | Event::SequenceStart(anchor, _) | Event::MappingStart(anchor, _)
                    if *anchor != 0 =>
                {
                    Err(Stop::Fallback)
                }
                _ => Ok(event),
            },
            Some(Err(e)) => Err(Stop::Error(e.to_string())),
            None => Err(Stop::Error("unexpected end of the document".into())),
        }
    }

    /// Skips the rest of a value that began with `first`.
    fn skip(&mut self, first: Event<'a>) -> Result<(), Stop> {
        let mut depth = match first {
            Event::SequenceStart(..) | Event::MappingStart(..) => 1usize,
            _ => return Ok(()),
        };
        while depth > 0 {
            match self.next()? {
                Event::SequenceStart(..) | Event::MappingStart(..) => depth += 1,
                Event::SequenceEnd | Event::MappingEnd => depth -= 1,
                Event::StreamEnd => return Err(Stop::Error("unexpected end of the document".into())),
                _ => {}
            }
        }
        Ok(())
    }

    /// A scalar value as text (`None` for null or a collection, which is skipped).
    fn scalar(&mut self) -> Result<Option<String>, Stop> {
        match self.next()? {
            Event::Scalar(text, style, _, _) => {
                let null = style == ScalarStyle::Plain && matches!(text.as_ref(), "" | "~" | "null" | "Null" | "NULL");
                Ok((!null).then(|| text.into_owned()))
            }
            other => {
                self.skip(other)?;
                Ok(None)
            }
        }
    }
}

/// Reads an index document.
pub(crate) fn read(text: &str) -> Result<Streamed, String> {
    let mut ev = Events {
        parser: Parser::new_from_str(text),
    };
    match read_document(&mut ev) {
        Ok(s) => Ok(s),
        Err(Stop::Fallback) => Ok(Streamed::Fallback),
        Err(Stop::Error(e)) => Err(e),
    }
}

fn read_document(ev: &mut Events<'_>) -> Result<Streamed, Stop> {
    loop {
        match ev.next()? {
            Event::StreamStart | Event::DocumentStart(_) | Event::Nothing => continue,
            Event::MappingStart(..) => break,
            _ => return Err(Stop::Fallback),
        }
    }
    let mut api_version = String::new();
    let mut entries = BTreeMap::new();
    loop {
        let key = match ev.next()? {
            Event::MappingEnd => return Ok(Streamed::Index(api_version, entries)),
            Event::Scalar(k, ..) => k,
            _ => return Err(Stop::Fallback),
        };
        match key.as_ref() {
            "apiVersion" => api_version = ev.scalar()?.unwrap_or_default(),
            "entries" => read_entries(ev, &mut entries)?,
            _ => {
                let first = ev.next()?;
                ev.skip(first)?;
            }
        }
    }
}

fn read_entries(ev: &mut Events<'_>, out: &mut BTreeMap<String, Vec<IndexEntry>>) -> Result<(), Stop> {
    match ev.next()? {
        Event::MappingStart(..) => {}
        other => return ev.skip(other),
    }
    loop {
        let name = match ev.next()? {
            Event::MappingEnd => return Ok(()),
            Event::Scalar(k, ..) => k.into_owned(),
            _ => return Err(Stop::Fallback),
        };
        let mut list = Vec::new();
        match ev.next()? {
            Event::SequenceStart(..) => loop {
                match ev.next()? {
                    Event::SequenceEnd => break,
                    Event::MappingStart(..) => {
                        if let Some(e) = read_entry(ev, &name)? {
                            list.push(e);
                        }
                    }
                    other => ev.skip(other)?,
                }
            },
            other => ev.skip(other)?,
        }
        out.insert(name, list);
    }
}

/// One chart version, its mapping already opened; `None` without a version or URLs.
fn read_entry(ev: &mut Events<'_>, chart: &str) -> Result<Option<IndexEntry>, Stop> {
    let (mut name, mut version, mut digest, mut app_version) = (None, None, None, None);
    let mut urls = Vec::new();
    loop {
        let key = match ev.next()? {
            Event::MappingEnd => break,
            Event::Scalar(k, ..) => k,
            _ => return Err(Stop::Fallback),
        };
        match key.as_ref() {
            "name" => name = ev.scalar()?,
            "version" => version = ev.scalar()?,
            "digest" => digest = ev.scalar()?,
            "appVersion" => app_version = ev.scalar()?,
            "urls" => match ev.next()? {
                Event::SequenceStart(..) => loop {
                    match ev.next()? {
                        Event::SequenceEnd => break,
                        Event::Scalar(u, ..) => urls.push(u.into_owned()),
                        other => ev.skip(other)?,
                    }
                },
                other => ev.skip(other)?,
            },
            _ => {
                let first = ev.next()?;
                ev.skip(first)?;
            }
        }
    }
    let Some(version) = version.filter(|v| !v.is_empty()) else {
        return Ok(None);
    };
    if urls.is_empty() {
        return Ok(None);
    }
    Ok(Some(IndexEntry {
        name: name.unwrap_or_else(|| chart.to_string()),
        version,
        urls,
        digest: digest.filter(|d| !d.is_empty()),
        app_version,
    }))
}
