//! An editor form's body as a tree of indexed names (`modules[0].lessons[2].title`), read
//! by JSON Pointer (`/modules/0/lessons/2/title`) so a rule's path names its field. axum's
//! `Form` cannot nest lists, so the raw pairs are read here.

use std::collections::{BTreeMap, BTreeSet};

use domain::Violation;

use crate::kit::error::WebError;

/// More items than any list of the content types allows, with room for a person adding.
const MAX_INDEX: usize = 500;

/// A submitted editor form: every field under its pointer, and the buttons pressed.
#[derive(Debug, Default)]
pub struct Fields {
    values: BTreeMap<String, Vec<String>>,
    /// Under each list's pointer, how many items it has.
    lens: BTreeMap<String, usize>,
    /// The `op` button pressed, if any (`save`, `up:modules.1`, `add:modules.0.lessons`).
    pub op: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Seg {
    Key(String),
    Index(usize),
}

/// `modules[0].lessons[2].title` as segments; `None` for a name that is not one of ours.
fn segments(name: &str) -> Option<Vec<Seg>> {
    let mut out = Vec::new();
    for part in name.split('.') {
        let (key, mut rest) = match part.find('[') {
            Some(i) => (&part[..i], &part[i..]),
            None => (part, ""),
        };
        if key.is_empty() || !key.chars().all(|c| c.is_ascii_alphanumeric()) {
            return None;
        }
        out.push(Seg::Key(key.to_owned()));
        while !rest.is_empty() {
            let close = rest.find(']')?;
            let n: usize = rest.get(1..close)?.parse().ok()?;
            out.push(Seg::Index(n));
            rest = &rest[close + 1..];
            if !rest.is_empty() && !rest.starts_with('[') {
                return None;
            }
        }
    }
    Some(out)
}

fn pointer(segs: &[Seg]) -> String {
    segs.iter()
        .map(|s| match s {
            Seg::Key(k) => format!("/{k}"),
            Seg::Index(i) => format!("/{i}"),
        })
        .collect()
}

/// The form name of a pointer: `/modules/0/title` is `modules[0].title`.
pub fn name_of(ptr: &str) -> String {
    let mut out = String::new();
    for seg in ptr.split('/').filter(|s| !s.is_empty()) {
        if seg.chars().all(|c| c.is_ascii_digit()) {
            out.push_str(&format!("[{seg}]"));
        } else {
            if !out.is_empty() {
                out.push('.');
            }
            out.push_str(seg);
        }
    }
    out
}

/// The element id of a pointer: `/modules/0/title` is `f-modules-0-title`.
pub fn id_of(ptr: &str) -> String {
    format!("f{}", ptr.replace('/', "-"))
}

impl Fields {
    /// Reads the pairs of a form body. Indexes are renumbered in order, so a list whose
    /// submitted indexes have gaps reads as the same list without them.
    pub fn parse(pairs: Vec<(String, String)>) -> Result<Self, WebError> {
        let mut fields = Fields::default();
        let mut named = Vec::new();
        for (name, value) in pairs {
            if name == "op" {
                fields.op = Some(value);
                continue;
            }
            let Some(segs) = segments(&name) else {
                continue;
            };
            if segs
                .iter()
                .any(|s| matches!(s, Seg::Index(i) if *i > MAX_INDEX))
            {
                return Err(WebError::BadRequest(format!(
                    "{name}: lists have at most {MAX_INDEX} items"
                )));
            }
            // Browsers send a textarea's line breaks as CRLF.
            named.push((segs, value.replace("\r\n", "\n")));
        }
        // The indexes used under each (submitted) list, to renumber them in order.
        let mut used: BTreeMap<Vec<Seg>, BTreeSet<usize>> = BTreeMap::new();
        for (segs, _) in &named {
            for (k, s) in segs.iter().enumerate() {
                if let Seg::Index(i) = s {
                    used.entry(segs[..k].to_vec()).or_default().insert(*i);
                }
            }
        }
        for (segs, value) in named {
            let mut renumbered = Vec::with_capacity(segs.len());
            for (k, s) in segs.iter().enumerate() {
                match s {
                    Seg::Index(i) => {
                        let rank = used
                            .get(&segs[..k])
                            .map(|set| set.range(..*i).count())
                            .unwrap_or(0);
                        let list = pointer(&renumbered);
                        let len = fields.lens.entry(list).or_default();
                        *len = (*len).max(rank + 1);
                        renumbered.push(Seg::Index(rank));
                    }
                    Seg::Key(_) => renumbered.push(s.clone()),
                }
            }
            fields
                .values
                .entry(pointer(&renumbered))
                .or_default()
                .push(value);
        }
        Ok(fields)
    }

    /// The first value at `ptr`.
    pub fn get(&self, ptr: &str) -> Option<&str> {
        self.values
            .get(ptr)
            .and_then(|v| v.first())
            .map(String::as_str)
    }

    /// Every value at `ptr` (checkboxes share a name).
    pub fn all(&self, ptr: &str) -> &[String] {
        self.values.get(ptr).map(Vec::as_slice).unwrap_or_default()
    }

    /// How many items the list at `ptr` has.
    pub fn len(&self, ptr: &str) -> usize {
        self.lens.get(ptr).copied().unwrap_or(0)
    }
}

/// Reads fields into a content type, keeping what does not parse (a number typed as
/// words) so the form shows it again beside its problem.
pub struct Reader<'a> {
    fields: &'a Fields,
    /// What was typed where it does not parse, by pointer.
    pub raw: BTreeMap<String, String>,
    /// Why, by pointer.
    pub problems: Vec<Violation>,
}

impl<'a> Reader<'a> {
    pub fn new(fields: &'a Fields) -> Self {
        Self {
            fields,
            raw: BTreeMap::new(),
            problems: Vec::new(),
        }
    }

    pub fn text(&self, ptr: &str) -> String {
        self.fields.get(ptr).unwrap_or_default().to_owned()
    }

    /// Text that may be left out: blank is none.
    pub fn optional(&self, ptr: &str) -> Option<String> {
        Some(self.text(ptr)).filter(|t| !t.trim().is_empty())
    }

    pub fn len(&self, ptr: &str) -> usize {
        self.fields.len(ptr)
    }

    /// The texts of the list at `ptr`.
    pub fn texts(&self, ptr: &str) -> Vec<String> {
        (0..self.len(ptr))
            .map(|i| self.text(&format!("{ptr}/{i}")))
            .collect()
    }

    pub fn checked(&self, ptr: &str) -> &[String] {
        self.fields.all(ptr)
    }

    fn problem(&mut self, ptr: &str, typed: String, message: &str) {
        self.raw.insert(ptr.to_owned(), typed);
        self.problems.push(Violation {
            path: ptr.to_owned(),
            message: message.to_owned(),
        });
    }

    /// A whole number; anything else is kept and reported.
    pub fn number(&mut self, ptr: &str) -> u32 {
        let typed = self.text(ptr);
        match typed.trim().parse() {
            Ok(n) => n,
            Err(_) => {
                self.problem(ptr, typed, "enter a whole number, such as 30");
                0
            }
        }
    }

    /// One of a fixed set of words (a level, a kind), read as the type's JSON; anything else
    /// is reported and `fallback` kept.
    pub fn choice<T: serde::de::DeserializeOwned>(&mut self, ptr: &str, fallback: T) -> T {
        let typed = self.text(ptr);
        match serde_json::from_value(serde_json::Value::String(typed.clone())) {
            Ok(v) => v,
            Err(_) => {
                self.problem(ptr, typed, "choose one of the listed values");
                fallback
            }
        }
    }
}

/// A list button: which list, and what to do to it.
#[derive(Debug, Clone, PartialEq)]
pub struct ListOp {
    /// The list's pointer, e.g. `/modules/0/lessons`.
    pub list: String,
    pub action: Action,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Action {
    Up(usize),
    Down(usize),
    Remove(usize),
    Add,
    /// From one place to another (what dragging an item does where JavaScript runs).
    Move(usize, usize),
}

impl ListOp {
    /// `up:modules.1`, `down:…`, `remove:…` name an item; `add:modules.0.lessons` a list;
    /// `move:modules.0.lessons.3.1` moves that list's item 3 to place 1.
    pub fn parse(op: &str) -> Option<Self> {
        let (verb, path) = op.split_once(':')?;
        let segs: Vec<&str> = path.split('.').collect();
        if segs.iter().any(|s| s.is_empty()) {
            return None;
        }
        let ptr = |s: &[&str]| s.iter().map(|x| format!("/{x}")).collect::<String>();
        if verb == "move" {
            let [list @ .., from, to] = &segs[..] else {
                return None;
            };
            if list.is_empty() {
                return None;
            }
            return Some(Self {
                list: ptr(list),
                action: Action::Move(from.parse().ok()?, to.parse().ok()?),
            });
        }
        if verb == "add" {
            return Some(Self {
                list: ptr(&segs),
                action: Action::Add,
            });
        }
        let (last, list) = segs.split_last()?;
        let i: usize = last.parse().ok()?;
        let action = match verb {
            "up" => Action::Up(i),
            "down" => Action::Down(i),
            "remove" => Action::Remove(i),
            _ => return None,
        };
        Some(Self {
            list: ptr(list),
            action,
        })
    }

    /// Applies the action to `items` (`blank` makes an added one); where each old index
    /// went, for whatever else is kept by index. `None` when it does not apply.
    pub fn apply<T>(
        &self,
        items: &mut Vec<T>,
        blank: impl FnOnce() -> T,
    ) -> Option<Vec<Option<usize>>> {
        let n = items.len();
        let mut moved: Vec<Option<usize>> = (0..n).map(Some).collect();
        match self.action {
            Action::Up(i) if i > 0 && i < n => {
                items.swap(i - 1, i);
                moved.swap(i - 1, i);
            }
            Action::Down(i) if i + 1 < n => {
                items.swap(i, i + 1);
                moved.swap(i, i + 1);
            }
            Action::Remove(i) if i < n => {
                items.remove(i);
                moved = (0..n)
                    .map(|k| match k.cmp(&i) {
                        std::cmp::Ordering::Less => Some(k),
                        std::cmp::Ordering::Equal => None,
                        std::cmp::Ordering::Greater => Some(k - 1),
                    })
                    .collect();
                return Some(moved);
            }
            Action::Add if n < MAX_INDEX => {
                items.push(blank());
            }
            Action::Move(from, to) if from < n && to < n && from != to => {
                let item = items.remove(from);
                items.insert(to, item);
                let old = moved.remove(from);
                moved.insert(to, old);
            }
            _ => return None,
        }
        // After a swap, `moved[new] = old`; turn it into old → new.
        let mut out = vec![None; n];
        for (new, old) in moved.into_iter().enumerate() {
            if let Some(old) = old {
                out[old] = Some(new);
            }
        }
        Some(out)
    }

    /// Moves what `raw` keeps under the items of this list to where they went.
    pub fn reindex(&self, raw: &mut BTreeMap<String, String>, went: &[Option<usize>]) {
        let prefix = format!("{}/", self.list);
        let old = std::mem::take(raw);
        for (k, v) in old {
            let Some(rest) = k.strip_prefix(&prefix) else {
                raw.insert(k, v);
                continue;
            };
            let (idx, tail) = rest.split_once('/').unwrap_or((rest, ""));
            let Ok(i) = idx.parse::<usize>() else {
                raw.insert(k, v);
                continue;
            };
            if let Some(Some(to)) = went.get(i) {
                let tail = if tail.is_empty() {
                    String::new()
                } else {
                    format!("/{tail}")
                };
                raw.insert(format!("{prefix}{to}{tail}"), v);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(p: &[(&str, &str)]) -> Vec<(String, String)> {
        p.iter()
            .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
            .collect()
    }

    #[test]
    fn indexed_names_read_by_pointer_with_gaps_closed_and_crlf_made_lf() {
        let f = Fields::parse(pairs(&[
            ("title", "Tides"),
            ("modules[0].title", "First"),
            ("modules[3].title", "Second"),
            ("modules[3].lessons[7].objectives[2]", "a\r\nb"),
            ("modules[3].lessons[7].prerequisites", "x"),
            ("modules[3].lessons[7].prerequisites", "y"),
            ("op", "up:modules.1"),
            ("bad name", "ignored"),
        ]))
        .expect("parse");
        assert_eq!(f.get("/title"), Some("Tides"));
        assert_eq!(f.len("/modules"), 2);
        assert_eq!(f.get("/modules/1/title"), Some("Second"));
        assert_eq!(f.len("/modules/1/lessons"), 1);
        assert_eq!(f.get("/modules/1/lessons/0/objectives/0"), Some("a\nb"));
        assert_eq!(f.all("/modules/1/lessons/0/prerequisites"), ["x", "y"]);
        assert_eq!(f.op.as_deref(), Some("up:modules.1"));
        assert!(Fields::parse(pairs(&[("modules[9999].title", "x")])).is_err());
    }

    #[test]
    fn names_and_ids_follow_the_pointer() {
        assert_eq!(
            name_of("/modules/0/lessons/2/title"),
            "modules[0].lessons[2].title"
        );
        assert_eq!(name_of("/keyTakeaways/1"), "keyTakeaways[1]");
        assert_eq!(id_of("/modules/0/title"), "f-modules-0-title");
    }

    #[test]
    fn list_buttons_move_remove_and_add_and_say_where_items_went() {
        let op = ListOp::parse("up:modules.0.lessons.2").expect("op");
        assert_eq!(op.list, "/modules/0/lessons");
        let mut v = vec!['a', 'b', 'c'];
        let went = op.apply(&mut v, || 'z').expect("applies");
        assert_eq!(v, ['a', 'c', 'b']);
        assert_eq!(went, [Some(0), Some(2), Some(1)]);
        let mut raw = BTreeMap::from([
            (
                "/modules/0/lessons/2/estimatedMinutes".to_owned(),
                "ten".to_owned(),
            ),
            ("/modules/1/title".to_owned(), "kept".to_owned()),
        ]);
        op.reindex(&mut raw, &went);
        assert!(raw.contains_key("/modules/0/lessons/1/estimatedMinutes"));
        assert!(raw.contains_key("/modules/1/title"));

        let rm = ListOp::parse("remove:keyTakeaways.0").expect("op");
        assert_eq!(rm.apply(&mut v, || 'z'), Some(vec![None, Some(0), Some(1)]));
        assert_eq!(v, ['c', 'b']);
        let add = ListOp::parse("add:keyTakeaways").expect("op");
        add.apply(&mut v, || 'z').expect("adds");
        assert_eq!(v, ['c', 'b', 'z']);
        let top = ListOp::parse("up:keyTakeaways.0").expect("op");
        assert_eq!(top.apply(&mut v, || 'z'), None, "the first cannot move up");
        assert_eq!(ListOp::parse("sideways:x.1"), None);

        // A drag: the last of four to the front; each old index says where it went.
        let drag = ListOp::parse("move:modules.0.lessons.3.0").expect("op");
        assert_eq!(drag.list, "/modules/0/lessons");
        let mut v = vec!['a', 'b', 'c', 'd'];
        let went = drag.apply(&mut v, || 'z').expect("applies");
        assert_eq!(v, ['d', 'a', 'b', 'c']);
        assert_eq!(went, [Some(1), Some(2), Some(3), Some(0)]);
        assert_eq!(
            ListOp::parse("move:modules.9.0").map(|o| o.list),
            Some("/modules".into())
        );
        assert_eq!(ListOp::parse("move:3.0"), None, "a move names its list");
        assert_eq!(
            ListOp::parse("move:modules.4.4").and_then(|o| o.apply(&mut v, || 'z')),
            None,
            "nowhere to go"
        );
    }
}
