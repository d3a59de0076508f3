//! The page layout shared by every server-rendered page, flash messages, and the error page.

use askama::Template;
use axum::extract::{FromRef, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use domain::Role;

use crate::AppState;
use crate::kit::auth::{Caller, cookie};
use crate::kit::error::WebError;

const FLASH_COOKIE: &str = "cw_flash";

/// One entry of the navigation.
#[derive(Debug, Clone)]
pub struct NavItem {
    pub href: &'static str,
    pub label: &'static str,
    pub active: bool,
}

/// What the base layout shows around every page.
#[derive(Debug, Clone)]
pub struct Layout {
    pub title: String,
    pub caller: Option<Caller>,
    pub nav: Vec<NavItem>,
    pub flash: Option<Flash>,
    /// Staff pages say so when no worker is alive: queued generation would wait in silence.
    pub generation_paused: bool,
}

impl Layout {
    pub fn role_label(&self) -> &'static str {
        match self.caller.as_ref().map(|c| c.role) {
            Some(Role::Admin) => "Admin",
            Some(Role::Reviewer) => "Reviewer",
            Some(Role::Learner) => "Learner",
            None => "",
        }
    }
}

/// The navigation a role sees.
fn nav_for(caller: Option<&Caller>, path: &str) -> Vec<NavItem> {
    let Some(c) = caller else { return Vec::new() };
    let mut items: Vec<(&'static str, &'static str)> = Vec::new();
    if c.role.is_staff() {
        items.push(("/admin", "Dashboard"));
        items.push(("/admin/syllabi", "Syllabi"));
        items.push(("/admin/content", "Content"));
        items.push(("/admin/courses", "Courses"));
        // Reviewers read their tenant's jobs; only admins trigger and retry them.
        items.push(("/admin/jobs", "Jobs"));
    }
    if c.role == Role::Admin {
        items.push(("/admin/analytics", "Analytics"));
        items.push(("/admin/users", "Users"));
        items.push(("/admin/ops", "Ops"));
        items.push(("/admin/audit", "Audit log"));
    }
    items.push(("/learn", "Learn"));
    items
        .into_iter()
        .map(|(href, label)| NavItem {
            href,
            label,
            active: path == href || (href != "/admin" && path.starts_with(&format!("{href}/"))),
        })
        .collect()
}

/// The request's view of the layout: who is calling, the path, and any flash message.
pub struct PageCtx {
    pub caller: Option<Caller>,
    pub(crate) path: String,
    flash: Option<Flash>,
    generation_paused: bool,
}

impl PageCtx {
    pub fn layout(&self, title: impl Into<String>) -> Layout {
        Layout {
            title: title.into(),
            caller: self.caller.clone(),
            nav: nav_for(self.caller.as_ref(), &self.path),
            flash: self.flash.clone(),
            generation_paused: self.generation_paused,
        }
    }
}

impl<S> FromRequestParts<S> for PageCtx
where
    AppState: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = WebError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let caller = <Caller as axum::extract::OptionalFromRequestParts<S>>::from_request_parts(
            parts, state,
        )
        .await?;
        let flash = cookie(&parts.headers, FLASH_COOKIE)
            .map(url_decode)
            .filter(|s| !s.is_empty())
            .map(|s| Flash::parse(&s));
        let path = parts.uri.path().to_owned();
        let staff = caller
            .as_ref()
            .is_some_and(|c| matches!(c.role, domain::Role::Admin | domain::Role::Reviewer));
        let generation_paused = if staff && path.starts_with("/admin") {
            let state = AppState::from_ref(state);
            let seen = db::workers::last_seen(&state.pool).await?;
            let stale = time::Duration::try_from(state.config.worker_stale)
                .unwrap_or(time::Duration::MINUTE);
            seen.is_none_or(|t| time::OffsetDateTime::now_utc() - t > stale)
        } else {
            false
        };
        Ok(Self {
            caller,
            path,
            flash,
            generation_paused,
        })
    }
}

/// The one way a page shows a moment: relative ("3 minutes ago") in a `<time>` element whose
/// `datetime` is machine-readable and whose `title` (shown on hover) is the exact time,
/// `2026-12-01 20:05:09 UTC`. Renders as HTML; every part of it is generated here, none
/// comes from a user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stamp {
    pub exact: String,
    pub relative: String,
    pub iso: String,
}

impl std::fmt::Display for Stamp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            r#"<time datetime="{}" title="{}">{}</time>"#,
            self.iso, self.exact, self.relative
        )
    }
}

impl askama::filters::HtmlSafe for Stamp {}

/// A moment as a page shows it, relative to now.
pub fn stamp(t: impl std::borrow::Borrow<time::OffsetDateTime>) -> Stamp {
    stamp_at(*t.borrow(), time::OffsetDateTime::now_utc())
}

/// [`stamp`] relative to `now`.
pub fn stamp_at(t: time::OffsetDateTime, now: time::OffsetDateTime) -> Stamp {
    let t = t.to_offset(time::UtcOffset::UTC);
    let exact = format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02} UTC",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    );
    Stamp {
        relative: relative(t, now),
        iso: crate::kit::rfc3339(t),
        exact,
    }
}

fn relative(t: time::OffsetDateTime, now: time::OffsetDateTime) -> String {
    let secs = (now - t).whole_seconds();
    let (ahead, secs) = (secs < 0, secs.unsigned_abs());
    let plural = |n: u64, unit: &str| {
        let s = if n == 1 { "" } else { "s" };
        if ahead {
            format!("in {n} {unit}{s}")
        } else {
            format!("{n} {unit}{s} ago")
        }
    };
    match secs {
        0..45 => "just now".into(),
        45..5_400 => plural(secs.div_ceil(60).clamp(1, 89), "minute"),
        5_400..129_600 => plural((secs + 1_800) / 3_600, "hour"),
        129_600..2_592_000 => plural((secs + 43_200) / 86_400, "day"),
        _ => format!("{} {} {}", t.day(), month_abbrev(t.month()), t.year()),
    }
}

fn month_abbrev(m: time::Month) -> &'static str {
    use time::Month::*;
    match m {
        January => "Jan",
        February => "Feb",
        March => "Mar",
        April => "Apr",
        May => "May",
        June => "Jun",
        July => "Jul",
        August => "Aug",
        September => "Sep",
        October => "Oct",
        November => "Nov",
        December => "Dec",
    }
}

/// Renders a template into an HTML response.
pub fn render<T: Template>(t: &T) -> Result<Response, WebError> {
    let html = t.render().map_err(|e| WebError::Internal(e.into()))?;
    Ok(Html(html).into_response())
}

/// A redirect to `to` that shows `message` there.
pub fn go(to: String, message: &str) -> Response {
    let mut res = axum::response::Redirect::to(&to).into_response();
    res.headers_mut().append(header::SET_COOKIE, flash(message));
    res
}

/// How a flash message reads: something done (green), a refusal (red), or news that is
/// neither (a rejection recorded, say).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tone {
    Done,
    Refused,
    Info,
}

/// A message shown once on the next page.
#[derive(Debug, Clone)]
pub struct Flash {
    pub tone: Tone,
    /// The first line, and the items of a refusal that names several things.
    pub head: String,
    pub items: Vec<String>,
}

impl Flash {
    fn parse(raw: &str) -> Self {
        let (tone, text) = match raw.split_once(':') {
            Some(("r", t)) => (Tone::Refused, t),
            Some(("i", t)) => (Tone::Info, t),
            Some(("d", t)) => (Tone::Done, t),
            _ => (Tone::Done, raw),
        };
        // A refusal listing several things ("…: a; b; c") shows them as a list.
        let (head, items) = match (tone, text.split_once(": ")) {
            (Tone::Refused, Some((head, rest))) if rest.contains("; ") => (
                format!("{head}:"),
                rest.trim_end_matches('.')
                    .split("; ")
                    .map(str::to_owned)
                    .collect(),
            ),
            _ => (text.to_owned(), Vec::new()),
        };
        Self { tone, head, items }
    }

    pub fn class(&self) -> &'static str {
        match self.tone {
            Tone::Done => "flash",
            Tone::Refused => "flash flash-refused",
            Tone::Info => "flash flash-info",
        }
    }

    /// Refusals interrupt (`alert`); the rest are polite (`status`).
    pub fn role(&self) -> &'static str {
        if self.tone == Tone::Refused {
            "alert"
        } else {
            "status"
        }
    }
}

/// A `Set-Cookie` value carrying a message of something done to show on the next page.
pub fn flash(message: &str) -> HeaderValue {
    flash_as(Tone::Done, message)
}

/// A `Set-Cookie` value carrying a message in `tone` to show on the next page.
pub fn flash_as(tone: Tone, message: &str) -> HeaderValue {
    let t = match tone {
        Tone::Done => "d",
        Tone::Refused => "r",
        Tone::Info => "i",
    };
    HeaderValue::from_str(&format!(
        "{FLASH_COOKIE}={}; Path=/; HttpOnly; SameSite=Lax; Max-Age=60",
        url_encode(&format!("{t}:{message}"))
    ))
    .unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// A redirect to `to` that shows a refusal there, in red.
pub fn go_refused(to: String, message: &str) -> Response {
    go_as(Tone::Refused, to, message)
}

/// A redirect to `to` that shows `message` there in `tone`.
pub fn go_as(tone: Tone, to: String, message: &str) -> Response {
    let mut res = axum::response::Redirect::to(&to).into_response();
    res.headers_mut()
        .append(header::SET_COOKIE, flash_as(tone, message));
    res
}

/// Whether a request carries a flash message.
pub fn has_flash(headers: &axum::http::HeaderMap) -> bool {
    cookie(headers, FLASH_COOKIE).is_some()
}

/// Clears the flash cookie once a page has shown it (`had`: the request carried one).
pub fn clear_shown_flash(had: bool, mut res: Response) -> Response {
    let is_page = res
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("text/html"));
    if had && is_page && !res.headers().contains_key(header::SET_COOKIE) {
        res.headers_mut().append(
            header::SET_COOKIE,
            HeaderValue::from_static("cw_flash=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0"),
        );
    }
    res
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    layout: Layout,
    status: u16,
    reason: &'a str,
    message: &'a str,
}

/// The HTML body of an error response.
pub fn error_page(status: StatusCode, message: &str) -> String {
    let page = ErrorPage {
        layout: Layout {
            title: status.to_string(),
            caller: None,
            nav: Vec::new(),
            flash: None,
            generation_paused: false,
        },
        status: status.as_u16(),
        reason: status.canonical_reason().unwrap_or("Error"),
        message,
    };
    page.render()
        .unwrap_or_else(|_| format!("{status}: {message}"))
}

/// JSON safe to embed in `<script type="application/json">`: nothing in it can close the
/// element or open a comment.
pub fn script_json(v: &serde_json::Value) -> String {
    v.to_string()
        .replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026")
}

/// A read-only JSON viewer block (see static/json-viewer.js).
#[derive(Debug, Clone)]
pub struct JsonBlock {
    pub label: String,
    pub filename: String,
    pub script: String,
    pub pretty: String,
}

impl JsonBlock {
    pub fn new(label: &str, filename: String, v: &serde_json::Value) -> Self {
        Self {
            label: label.to_owned(),
            filename,
            script: script_json(v),
            pretty: serde_json::to_string_pretty(v).unwrap_or_default(),
        }
    }
}

/// Percent-encodes everything but unreserved characters.
pub fn url_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~' | b'/') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Decodes percent-encoding (and `+` as space, as forms send it).
pub fn url_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok());
        match (bytes[i], hex.and_then(|h| u8::from_str_radix(h, 16).ok())) {
            (b'%', Some(v)) => {
                out.push(v);
                i += 3;
                continue;
            }
            (b'+', _) => out.push(b' '),
            (b, _) => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A path to return to after signing in, if it is one of ours (never another site).
///
/// Only a path on this origin passes: printable ASCII, one leading `/` and no `//`, `\\`,
/// control character or whitespace, before or after percent-decoding (browsers drop tabs
/// and newlines from a `Location`, so `/\t/evil.example` would leave the site).
pub fn safe_next(next: Option<&str>) -> Option<String> {
    // Not trimmed: trimming would turn `/\u{b}` into `/` rather than refuse it.
    let n = next?;
    // `+` is a plus in a path; only forms mean a space by it.
    let decoded = url_decode(&n.replace('+', "%2B"));
    let local = |p: &str| {
        p.starts_with('/')
            && !p.starts_with("//")
            && !p.contains('\\')
            && !p.chars().any(|c| c.is_control() || c.is_whitespace())
    };
    (n.bytes().all(|b| b.is_ascii_graphic()) && local(n) && local(&decoded)).then(|| n.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_encoding_round_trips() {
        for s in ["Signed out.", "a&b=c/d?e", "ünïcode ✓", "100%"] {
            assert_eq!(url_decode(&url_encode(s)), s);
        }
        assert_eq!(url_decode("a+b%2"), "a b%2");
    }

    #[test]
    fn only_local_paths_are_followed_after_login() {
        assert_eq!(
            safe_next(Some("/admin/audit?x=1")),
            Some("/admin/audit?x=1".into())
        );
        assert_eq!(safe_next(Some("/learn?q=a+b")), Some("/learn?q=a+b".into()));
        for bad in [
            "https://evil.example",
            "//evil.example",
            "/\\evil",
            "admin",
            "/\t/evil.example",
            "/%09/evil.example",
            "/%2F/evil.example",
            "/%5Cevil.example",
            "/a%0Bb",
            "/a%00",
            "/a%7F",
            "/a\u{b}b",
            "/caf\u{e9}",
            "/a b",
            "/\u{b}",
            " /admin",
        ] {
            assert_eq!(safe_next(Some(bad)), None, "{bad}");
        }
    }
}

#[cfg(test)]
mod stamp_tests {
    use super::stamp_at;
    use time::macros::datetime;

    #[test]
    fn a_moment_reads_relative_with_the_exact_time_on_hover() {
        let now = datetime!(2026-12-04 12:00:00 UTC);
        let at = |t| stamp_at(t, now).relative;
        assert_eq!(at(datetime!(2026-12-04 11:59:30 UTC)), "just now");
        assert_eq!(at(datetime!(2026-12-04 11:59:00 UTC)), "1 minute ago");
        assert_eq!(at(datetime!(2026-12-04 11:17:00 UTC)), "43 minutes ago");
        assert_eq!(at(datetime!(2026-12-04 09:00:00 UTC)), "3 hours ago");
        assert_eq!(at(datetime!(2026-12-02 12:00:00 UTC)), "2 days ago");
        assert_eq!(at(datetime!(2026-12-04 12:10:00 UTC)), "in 10 minutes");
        assert_eq!(at(datetime!(2026-10-01 08:00:00 UTC)), "1 Oct 2026");
        let s = stamp_at(datetime!(2026-12-04 09:00:05 UTC), now);
        assert_eq!(
            s.to_string(),
            r#"<time datetime="2026-12-04T09:00:05Z" title="2026-12-04 09:00:05 UTC">3 hours ago</time>"#
        );
    }
}
