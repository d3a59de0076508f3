//! The course as a book: typst used as a library, with one fixed template ([`TEMPLATE`]) and
//! the package handed to it as data (`/course.json`, read with `json()`), never spliced into
//! markup, so any character in a lesson renders as itself. Fonts come from `typst-assets`;
//! nothing is read from the system or the network, and there is no clock, so the same package
//! always gives the same bytes.

use std::sync::LazyLock;

use typst::diag::{FileError, FileResult, SourceDiagnostic};
use typst::foundations::{Bytes, Datetime, Duration, Smart};
use typst::syntax::{FileId, RootedPath, Source, VirtualPath, VirtualRoot};
use typst::text::{Font, FontBook};
use typst::utils::LazyHash;
use typst::{Library, LibraryExt, World};
use typst_layout::PagedDocument;
use typst_pdf::PdfOptions;

/// The book's template: layout only, every word of the course comes from `/course.json`.
pub const TEMPLATE: &str = include_str!("book.typ");

/// Why a package could not be typeset.
#[derive(Debug, thiserror::Error)]
pub enum PdfError {
    #[error("the package could not be serialised: {0}")]
    Json(#[from] serde_json::Error),
    #[error("typesetting failed: {0}")]
    Typeset(String),
}

struct Fonts {
    book: LazyHash<FontBook>,
    fonts: Vec<Font>,
}

/// The embedded fonts, parsed once per process.
static FONTS: LazyLock<Fonts> = LazyLock::new(|| {
    let fonts: Vec<Font> = typst_assets::fonts()
        .flat_map(|data| Font::iter(Bytes::new(data)))
        .collect();
    Fonts {
        book: LazyHash::new(FontBook::from_fonts(&fonts)),
        fonts,
    }
});

static LIBRARY: LazyLock<LazyHash<Library>> = LazyLock::new(|| LazyHash::new(Library::default()));

fn file_id(path: &str) -> FileId {
    let vpath = VirtualPath::new(path).expect("a fixed, valid virtual path");
    RootedPath::new(VirtualRoot::Project, vpath).intern()
}

/// A world with exactly two files: the template and the course's JSON.
struct BookWorld {
    main: Source,
    course: Bytes,
    course_id: FileId,
}

impl World for BookWorld {
    fn library(&self) -> &LazyHash<Library> {
        &LIBRARY
    }

    fn book(&self) -> &LazyHash<FontBook> {
        &FONTS.book
    }

    fn main(&self) -> FileId {
        self.main.id()
    }

    fn source(&self, id: FileId) -> FileResult<Source> {
        if id == self.main.id() {
            Ok(self.main.clone())
        } else {
            Err(FileError::AccessDenied)
        }
    }

    fn file(&self, id: FileId) -> FileResult<Bytes> {
        if id == self.course_id {
            Ok(self.course.clone())
        } else if id == self.main.id() {
            Ok(Bytes::from_string(self.main.clone()))
        } else {
            Err(FileError::AccessDenied)
        }
    }

    fn font(&self, index: usize) -> Option<Font> {
        FONTS.fonts.get(index).cloned()
    }

    /// No clock: `datetime.today()` fails, so the book cannot depend on when it was made.
    fn today(&self, _offset: Option<Duration>) -> Option<Datetime> {
        None
    }
}

fn describe(errors: &[SourceDiagnostic]) -> String {
    errors
        .iter()
        .map(|e| e.message.to_string())
        .collect::<Vec<_>>()
        .join("; ")
}

/// The package as a PDF book: title page, contents, one chapter per module with its lessons,
/// quizzes and project, and an answer key. Tagged PDF; same package, same bytes.
pub fn pdf(p: &domain::CoursePackage) -> Result<Vec<u8>, PdfError> {
    let json = serde_json::to_vec(p)?;
    let world = BookWorld {
        main: Source::new(file_id("/book.typ"), TEMPLATE.to_owned()),
        course: Bytes::new(json),
        course_id: file_id("/course.json"),
    };
    let document: PagedDocument = typst::compile(&world)
        .output
        .map_err(|e| PdfError::Typeset(describe(&e)))?;
    let options = PdfOptions {
        // The document id derives from the course and version, never from the run.
        ident: Smart::Custom(format!("coursewright:{}:{}", p.course_id, p.version)),
        creator: Smart::Custom(Some("Coursewright".to_owned())),
        timestamp: None,
        tagged: true,
        ..PdfOptions::default()
    };
    typst_pdf::pdf(&document, &options).map_err(|e| PdfError::Typeset(describe(&e)))
}
