//! The review queue: the content list with status, kind and course filters, and the
//! previous, next and next-draft of a part in its syllabus's order, for "approve and next".

use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::response::Response;
use axum::routing::get;
use db::artifacts::{self, Artifact, ReviewRow};
use db::types::{ArtifactKind, ArtifactStatus};
use domain::Syllabus;
use serde::Deserialize;
use uuid::Uuid;

use crate::AppState;
use crate::control::authoring::pages::staff;
use crate::kit::error::WebError;
use crate::kit::extract::Query;
use crate::kit::pages::{Layout, PageCtx, Stamp, render, stamp};

pub fn router() -> Router<AppState> {
    Router::new().route("/admin/content", get(content_list))
}

/// The one status vocabulary of review pages: a draft with a newer version is superseded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shown {
    Draft,
    Approved,
    Rejected,
    Superseded,
}

impl Shown {
    pub const ALL: [Shown; 4] = [
        Shown::Draft,
        Shown::Approved,
        Shown::Rejected,
        Shown::Superseded,
    ];

    pub fn of(status: ArtifactStatus, newest: bool) -> Self {
        match status {
            ArtifactStatus::Draft if !newest => Shown::Superseded,
            ArtifactStatus::Draft => Shown::Draft,
            ArtifactStatus::Approved => Shown::Approved,
            ArtifactStatus::Rejected => Shown::Rejected,
        }
    }

    pub fn word(self) -> &'static str {
        match self {
            Shown::Draft => "draft",
            Shown::Approved => "approved",
            Shown::Rejected => "rejected",
            Shown::Superseded => "superseded",
        }
    }

    /// The filter's label for this status.
    pub fn plural(self) -> &'static str {
        match self {
            Shown::Draft => "Waiting for review",
            Shown::Approved => "Approved",
            Shown::Rejected => "Rejected",
            Shown::Superseded => "Superseded",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|x| x.word().eq_ignore_ascii_case(s))
    }
}

/// `?status=` of a review list: one of the four words or `all`; anything else is a 400.
pub fn status_filter(raw: Option<&str>, default: Option<Shown>) -> Result<Option<Shown>, WebError> {
    match raw.map(str::trim) {
        None | Some("") => Ok(default),
        Some(s) if s.eq_ignore_ascii_case("all") => Ok(None),
        Some(s) => Shown::parse(s).map(Some).ok_or_else(|| {
            WebError::BadRequest(
                "status must be one of draft, approved, rejected, superseded or all".into(),
            )
        }),
    }
}

#[derive(Deserialize)]
struct ListQuery {
    status: Option<String>,
    kind: Option<String>,
    course: Option<String>,
}

struct ListRow {
    id: Uuid,
    title: String,
    kind: &'static str,
    course: String,
    version: i32,
    shown: Shown,
    offline: bool,
    created: Stamp,
}

/// One filter link: its label, its query string and whether it is the current one.
struct FilterLink {
    label: String,
    href: String,
    current: bool,
}

#[derive(Template)]
#[template(path = "content_list.html")]
struct ContentListPage {
    layout: Layout,
    heading: String,
    rows: Vec<ListRow>,
    statuses: Vec<FilterLink>,
    kinds: Vec<FilterLink>,
    courses: Vec<FilterLink>,
    truncated: bool,
}

fn kind_word(k: ArtifactKind) -> &'static str {
    match k {
        ArtifactKind::Syllabus => "syllabus",
        ArtifactKind::Lesson => "lesson",
        ArtifactKind::Quiz => "quiz",
        ArtifactKind::Project => "project",
    }
}

const LIST_LIMIT: i64 = 500;

#[tracing::instrument(skip_all)]
async fn content_list(
    State(state): State<AppState>,
    ctx: PageCtx,
    Query(q): Query<ListQuery>,
) -> Result<Response, WebError> {
    let caller = staff(&ctx)?;
    let status = status_filter(q.status.as_deref(), Some(Shown::Draft))?;
    let kind = match q.kind.as_deref().map(str::trim) {
        None | Some("") | Some("all") => None,
        Some("lesson") => Some(ArtifactKind::Lesson),
        Some("quiz") => Some(ArtifactKind::Quiz),
        Some("project") => Some(ArtifactKind::Project),
        Some(_) => {
            return Err(WebError::BadRequest(
                "kind must be lesson, quiz, project or all".into(),
            ));
        }
    };
    let course = match q.course.as_deref().map(str::trim) {
        None | Some("") | Some("all") => None,
        Some(c) => Some(
            c.parse::<Uuid>()
                .map_err(|_| WebError::BadRequest("course must be a course id".into()))?,
        ),
    };
    let courses = db::courses::list(&state.pool, caller.tenant_id).await?;
    if course.is_some_and(|c| !courses.iter().any(|x| x.id == c)) {
        return Err(WebError::not_found("course"));
    }
    let kinds = match kind {
        Some(k) => vec![k],
        None => vec![
            ArtifactKind::Lesson,
            ArtifactKind::Quiz,
            ArtifactKind::Project,
        ],
    };
    let all =
        artifacts::review_list(&state.pool, caller.tenant_id, &kinds, course, LIST_LIMIT).await?;
    let truncated = all.len() as i64 >= LIST_LIMIT;
    let title_of = |id: Uuid| {
        courses
            .iter()
            .find(|c| c.id == id)
            .map(|c| c.title.clone())
            .unwrap_or_default()
    };
    let rows: Vec<ListRow> = all
        .into_iter()
        .filter(|r: &ReviewRow| status.is_none_or(|s| Shown::of(r.status, r.newest) == s))
        .map(|r| ListRow {
            id: r.id,
            title: r.title,
            kind: kind_word(r.kind),
            course: title_of(r.course_id),
            version: r.version,
            shown: Shown::of(r.status, r.newest),
            offline: r.offline,
            created: stamp(r.created_at),
        })
        .collect();
    let word = |s: Option<Shown>| s.map_or("all", Shown::word);
    let kind_q = kind.map_or("all", kind_word);
    let course_q = course.map_or_else(|| "all".to_owned(), |c| c.to_string());
    let href = |s: &str, k: &str, c: &str| format!("/admin/content?status={s}&kind={k}&course={c}");
    let mut statuses: Vec<FilterLink> = Shown::ALL
        .into_iter()
        .map(|s| FilterLink {
            label: s.plural().into(),
            href: href(s.word(), kind_q, &course_q),
            current: status == Some(s),
        })
        .collect();
    statuses.push(FilterLink {
        label: "All".into(),
        href: href("all", kind_q, &course_q),
        current: status.is_none(),
    });
    let kinds = ["all", "lesson", "quiz", "project"]
        .into_iter()
        .map(|k| FilterLink {
            label: match k {
                "all" => "All kinds".into(),
                k => format!("{}s", capitalised(k)),
            },
            href: href(word(status), k, &course_q),
            current: k == kind_q,
        })
        .collect();
    let mut course_links = vec![FilterLink {
        label: "All courses".into(),
        href: href(word(status), kind_q, "all"),
        current: course.is_none(),
    }];
    course_links.extend(courses.iter().map(|c| FilterLink {
        label: c.title.clone(),
        href: href(word(status), kind_q, &c.id.to_string()),
        current: course == Some(c.id),
    }));
    let heading = match status {
        Some(Shown::Draft) => format!("{} draft(s) waiting for review", rows.len()),
        Some(s) => format!("{}: {}", s.plural(), rows.len()),
        None => format!("All content: {}", rows.len()),
    };
    render(&ContentListPage {
        layout: ctx.layout("Content"),
        heading,
        rows,
        statuses,
        kinds,
        courses: course_links,
        truncated,
    })
}

fn capitalised(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().chain(c).collect())
        .unwrap_or_default()
}

/// A neighbouring part of a content page.
pub struct Neighbour {
    pub id: Uuid,
    pub label: String,
}

/// Where a part sits among its syllabus's planned parts, for previous / next links.
#[derive(Default)]
pub struct Neighbours {
    pub prev: Option<Neighbour>,
    pub next: Option<Neighbour>,
    /// The next newest version, after this one in syllabus order (wrapping), still a draft.
    pub next_draft: Option<Uuid>,
    /// 1-based position and count of planned parts that exist.
    pub position: usize,
    pub total: usize,
    /// Newest drafts of the course, this one included if it is one.
    pub drafts: usize,
}

/// The newest version of each planned part of `a`'s syllabus, in the syllabus's order
/// (each lesson, then its quiz; each module's project after its lessons).
pub async fn neighbours(state: &AppState, a: &Artifact) -> Result<Neighbours, WebError> {
    let Some(sid) = a.syllabus_id else {
        return Ok(Neighbours::default());
    };
    let Some(s) = artifacts::get(&state.pool, a.tenant_id, sid).await? else {
        return Ok(Neighbours::default());
    };
    let Ok(plan) = serde_json::from_value::<Syllabus>(s.body) else {
        return Ok(Neighbours::default());
    };
    let content = artifacts::content_of_course(&state.pool, a.tenant_id, a.course_id).await?;
    let newest = |kind: ArtifactKind, r: &str| {
        content
            .iter()
            .filter(|c| c.kind == kind && c.ref_id == r)
            .max_by_key(|c| c.version)
    };
    let mut order: Vec<&Artifact> = Vec::new();
    for m in &plan.modules {
        for l in &m.lessons {
            order.extend(newest(ArtifactKind::Lesson, &l.id));
            order.extend(newest(ArtifactKind::Quiz, &l.id));
        }
        order.extend(newest(ArtifactKind::Project, &m.id));
    }
    let label = |c: &Artifact| format!("{}: {}", kind_word(c.kind), c.title);
    let drafts = order.iter().filter(|c| c.status.is_draft()).count();
    let Some(at) = order
        .iter()
        .position(|c| c.kind == a.kind && c.ref_id == a.ref_id)
    else {
        return Ok(Neighbours {
            total: order.len(),
            drafts,
            ..Neighbours::default()
        });
    };
    let n = order.len();
    let next_draft = (1..n)
        .map(|k| order[(at + k) % n])
        .find(|c| c.status.is_draft())
        .map(|c| c.id);
    Ok(Neighbours {
        prev: at.checked_sub(1).map(|i| Neighbour {
            id: order[i].id,
            label: label(order[i]),
        }),
        next: order.get(at + 1).map(|c| Neighbour {
            id: c.id,
            label: label(c),
        }),
        next_draft,
        position: at + 1,
        total: n,
        drafts,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_draft_with_a_newer_version_reads_superseded_and_filters_parse_or_refuse() {
        assert_eq!(Shown::of(ArtifactStatus::Draft, true), Shown::Draft);
        assert_eq!(Shown::of(ArtifactStatus::Draft, false), Shown::Superseded);
        assert_eq!(Shown::of(ArtifactStatus::Approved, false), Shown::Approved);
        assert_eq!(
            status_filter(None, Some(Shown::Draft)).ok(),
            Some(Some(Shown::Draft))
        );
        assert_eq!(
            status_filter(Some("all"), Some(Shown::Draft)).ok(),
            Some(None)
        );
        assert_eq!(
            status_filter(Some("superseded"), None).ok(),
            Some(Some(Shown::Superseded))
        );
        assert_eq!(
            status_filter(Some("APPROVED"), None).ok(),
            Some(Some(Shown::Approved)),
            "the stored word works too"
        );
        assert!(status_filter(Some("DRAFT'--"), None).is_err());
    }
}
