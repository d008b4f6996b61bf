//! Comparing a render with helm's, byte for byte except the lines helm itself prints
//! differently from one run to the next (random passwords, keys, certificates, UUIDs).
//!
//! Which lines are random is decided per case from two helm runs: when both have the same
//! number of lines, a line is random when the two runs differ on it; otherwise the lines
//! between the longest common head and the longest common tail are. A random line is
//! compared only up to its first `": "` (its key), or, without one, by its indentation and
//! list marker.

/// Which lines of helm's output are random.
#[derive(Debug)]
pub enum Mask {
    /// Every line is stable.
    None,
    /// The two runs had the same line count; `true` marks a random line.
    Lines(Vec<bool>),
    /// The runs had different line counts: `head` lines at the start and `tail` at the end
    /// are stable, the middle is random and only its presence is checked.
    Span { head: usize, tail: usize },
}

/// The random lines of `first`, from a second helm run `second`.
pub fn mask(first: &str, second: &str) -> Mask {
    if first == second {
        return Mask::None;
    }
    let a: Vec<&str> = first.split('\n').collect();
    let b: Vec<&str> = second.split('\n').collect();
    if a.len() == b.len() {
        return Mask::Lines(a.iter().zip(&b).map(|(x, y)| x != y).collect());
    }
    let head = a.iter().zip(&b).take_while(|(x, y)| x == y).count();
    let max_tail = a.len().min(b.len()) - head;
    let tail = a
        .iter()
        .rev()
        .zip(b.iter().rev())
        .take(max_tail)
        .take_while(|(x, y)| x == y)
        .count();
    Mask::Span { head, tail }
}

/// Both masks' random lines (a line random in either is random).
pub fn union(a: Mask, b: Mask) -> Mask {
    match (a, b) {
        (Mask::None, m) | (m, Mask::None) => m,
        (Mask::Lines(x), Mask::Lines(y)) if x.len() == y.len() => {
            Mask::Lines(x.iter().zip(&y).map(|(p, q)| *p || *q).collect())
        }
        (a, b) => {
            let bounds = |m: &Mask| match m {
                Mask::Lines(r) => {
                    let head = r.iter().take_while(|x| !**x).count();
                    let tail = r.iter().rev().take_while(|x| !**x).count();
                    (head, tail.min(r.len() - head))
                }
                Mask::Span { head, tail } => (*head, *tail),
                Mask::None => (usize::MAX, usize::MAX),
            };
            let ((h1, t1), (h2, t2)) = (bounds(&a), bounds(&b));
            Mask::Span {
                head: h1.min(h2),
                tail: t1.min(t2),
            }
        }
    }
}

/// The part of a random line that must still be equal.
fn stable_part(line: &str) -> &str {
    if let Some(i) = line.find(": ") {
        return &line[..i + 1];
    }
    let indent = line.len() - line.trim_start_matches(' ').len();
    let rest = &line[indent..];
    if rest.starts_with("- ") {
        &line[..indent + 2]
    } else {
        &line[..indent]
    }
}

fn line_matches(random: bool, want: &str, got: &str) -> bool {
    want == got || (random && stable_part(want) == stable_part(got))
}

/// `None` when `got` matches helm's `want` under `mask`, else a short unified-style diff
/// around the first difference.
pub fn compare(want: &str, got: &str, mask: &Mask) -> Option<String> {
    if want == got {
        return None;
    }
    let w: Vec<&str> = want.split('\n').collect();
    let g: Vec<&str> = got.split('\n').collect();
    let first = match mask {
        Mask::None => first_diff(&w, &g, |_| false),
        Mask::Lines(random) => first_diff(&w, &g, |i| random.get(i).copied().unwrap_or(false))
            .or_else(|| (w.len() != g.len()).then_some(w.len().min(g.len()))),
        Mask::Span { head, tail } => {
            let (head, tail) = (*head, *tail);
            if g.len() < head + tail {
                Some(w.len().min(g.len()))
            } else {
                let front = first_diff(&w[..head], &g[..head], |_| false);
                let back = first_diff(&w[w.len() - tail..], &g[g.len() - tail..], |_| false);
                front.or(back.map(|i| w.len() - tail + i))
            }
        }
    };
    let at = first?;
    Some(diff_at(&w, &g, at, mask))
}

fn first_diff(w: &[&str], g: &[&str], random: impl Fn(usize) -> bool) -> Option<usize> {
    let n = w.len().min(g.len());
    (0..n)
        .find(|&i| !line_matches(random(i), w[i], g[i]))
        .or((w.len() != g.len()).then_some(n))
}

fn clip(s: &str) -> String {
    if s.chars().count() > 160 {
        format!("{}…", s.chars().take(160).collect::<String>())
    } else {
        s.into()
    }
}

fn diff_at(w: &[&str], g: &[&str], at: usize, mask: &Mask) -> String {
    const CONTEXT: usize = 3;
    const SHOWN: usize = 6;
    let start = at.saturating_sub(CONTEXT);
    let mut out = format!(
        "@@ line {} (helm {} lines, ballast {} lines{}) @@\n",
        at + 1,
        w.len(),
        g.len(),
        match mask {
            Mask::None => String::new(),
            Mask::Lines(r) => format!(", {} random", r.iter().filter(|x| **x).count()),
            Mask::Span { .. } => ", random span".into(),
        }
    );
    for l in &w[start..at.min(w.len())] {
        out.push_str(&format!("  {}\n", clip(l)));
    }
    for l in w.iter().skip(at).take(SHOWN) {
        out.push_str(&format!("- {}\n", clip(l)));
    }
    for l in g.iter().skip(at).take(SHOWN) {
        out.push_str(&format!("+ {}\n", clip(l)));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_lines_compare_by_key() {
        let m = mask("a: 1\nb: x\n", "a: 1\nb: y\n");
        assert!(compare("a: 1\nb: x\n", "a: 1\nb: z\n", &m).is_none());
        assert!(compare("a: 1\nb: x\n", "a: 2\nb: z\n", &m).is_some());
        assert!(compare("a: 1\nb: x\n", "a: 1\nc: z\n", &m).is_some());
    }

    #[test]
    fn union_of_runs() {
        let m = union(mask("a: 1\nb: 2", "a: 9\nb: 2"), mask("a: 1\nb: 2", "a: 1\nb: 3"));
        assert!(compare("a: 1\nb: 2", "a: 5\nb: 6", &m).is_none());
        let m = union(mask("a\nb\nc", "a\nx\nc"), mask("a\nb\nc", "a\nc"));
        assert!(compare("a\nb\nc", "a\ny\nz\nc", &m).is_none());
    }

    #[test]
    fn spans_when_line_counts_differ() {
        let m = mask("k\nx\ny\nend", "k\nz\nend");
        assert!(compare("k\nx\ny\nend", "k\nq\nr\ns\nend", &m).is_none());
        assert!(compare("k\nx\ny\nend", "k\nq\nr\ns\nEND", &m).is_some());
    }
}
