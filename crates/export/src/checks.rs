//! Our own checks of a SCORM 1.2 ZIP, beyond what the XSDs can say: every reference
//! resolves, the default organization exists, the schema version is 1.2, and the files the
//! manifest lists are exactly the files in the ZIP. Run on every package we produce.

use std::collections::BTreeSet;
use std::io::{Cursor, Read};

use quick_xml::events::{BytesStart, Event};
use quick_xml::{Reader, XmlVersion};

/// What one read of a manifest found.
#[derive(Debug, Default)]
struct Manifest {
    default_org: Option<String>,
    organizations: Vec<String>,
    identifiers: Vec<String>,
    item_refs: Vec<String>,
    resources: Vec<String>,
    dependency_refs: Vec<String>,
    files: Vec<String>,
    resource_hrefs: Vec<String>,
    schema: Option<String>,
    schemaversion: Option<String>,
}

fn attr(e: &BytesStart<'_>, name: &str) -> Result<Option<String>, String> {
    for a in e.attributes() {
        let a = a.map_err(|err| format!("a bad attribute: {err}"))?;
        if a.key.local_name().as_ref() == name {
            let v = a
                .normalized_value(XmlVersion::Implicit1_0)
                .map_err(|err| format!("a bad attribute value: {err}"))?;
            return Ok(Some(v.into_owned()));
        }
    }
    Ok(None)
}

fn read_manifest(text: &str) -> Result<Manifest, String> {
    let mut r = Reader::from_str(text);
    let mut m = Manifest::default();
    let mut path: Vec<String> = Vec::new();
    loop {
        let ev = r
            .read_event()
            .map_err(|e| format!("imsmanifest.xml is not well-formed XML: {e}"))?;
        let (e, empty) = match &ev {
            Event::Start(e) => (e, false),
            Event::Empty(e) => (e, true),
            Event::End(_) => {
                path.pop();
                continue;
            }
            Event::Text(t) => {
                let parent = path.iter().rev().nth(1).map(String::as_str);
                let here = path.last().map(String::as_str);
                if parent == Some("metadata") && path.len() == 3 {
                    let value = t.xml10_content().trim().to_owned();
                    match here {
                        Some("schema") => m.schema = Some(value),
                        Some("schemaversion") => m.schemaversion = Some(value),
                        _ => {}
                    }
                }
                continue;
            }
            Event::Eof => break,
            _ => continue,
        };
        let name: String = e.local_name().as_ref().to_owned();
        if let Some(id) = attr(e, "identifier")? {
            m.identifiers.push(id);
        }
        match name.as_str() {
            "organizations" => m.default_org = attr(e, "default")?,
            "organization" => m.organizations.extend(attr(e, "identifier")?),
            "item" => m.item_refs.extend(attr(e, "identifierref")?),
            "resource" => {
                m.resources.extend(attr(e, "identifier")?);
                m.resource_hrefs.extend(attr(e, "href")?);
            }
            "dependency" => m.dependency_refs.extend(attr(e, "identifierref")?),
            "file" => m.files.extend(attr(e, "href")?),
            _ => {}
        }
        if !empty {
            path.push(name);
        }
    }
    Ok(m)
}

/// The problems of a manifest whose ZIP holds `zip_files` (manifest excepted); none is `Ok`.
pub fn check_manifest(text: &str, zip_files: &BTreeSet<String>) -> Result<(), Vec<String>> {
    let m = read_manifest(text).map_err(|e| vec![e])?;
    let mut problems = Vec::new();
    if m.schema.as_deref() != Some("ADL SCORM") {
        problems.push(format!(
            "metadata/schema is {:?}, not \"ADL SCORM\"",
            m.schema
        ));
    }
    if m.schemaversion.as_deref() != Some("1.2") {
        problems.push(format!(
            "metadata/schemaversion is {:?}, not \"1.2\"",
            m.schemaversion
        ));
    }
    match &m.default_org {
        None => problems.push("organizations@default is missing".into()),
        Some(d) if !m.organizations.contains(d) => {
            problems.push(format!("organizations@default {d:?} names no organization"))
        }
        Some(_) => {}
    }
    let mut seen = BTreeSet::new();
    for id in &m.identifiers {
        if !seen.insert(id) {
            problems.push(format!("identifier {id:?} is used twice"));
        }
    }
    for r in &m.item_refs {
        if !m.resources.contains(r) {
            problems.push(format!("item identifierref {r:?} names no resource"));
        }
    }
    for r in &m.dependency_refs {
        if !m.resources.contains(r) {
            problems.push(format!("dependency identifierref {r:?} names no resource"));
        }
    }
    let listed: BTreeSet<&String> = m.files.iter().collect();
    for f in &listed {
        if !zip_files.contains(*f) {
            problems.push(format!("the manifest lists {f:?}, which is not in the ZIP"));
        }
    }
    for h in &m.resource_hrefs {
        if !listed.contains(h) {
            problems.push(format!(
                "resource href {h:?} is not one of its listed files"
            ));
        }
    }
    for f in zip_files {
        if !listed.contains(f) {
            problems.push(format!(
                "the ZIP holds {f:?}, which the manifest does not list"
            ));
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems)
    }
}

/// The problems of a SCORM 1.2 ZIP; none is `Ok`.
pub fn check_scorm12(zip: &[u8]) -> Result<(), Vec<String>> {
    let mut archive =
        zip::ZipArchive::new(Cursor::new(zip)).map_err(|e| vec![format!("not a ZIP: {e}")])?;
    let mut problems = Vec::new();
    let mut names = BTreeSet::new();
    let mut manifest = None;
    for i in 0..archive.len() {
        let mut entry = archive
            .by_index(i)
            .map_err(|e| vec![format!("ZIP entry {i}: {e}")])?;
        let name = entry
            .name()
            .map_err(|e| vec![format!("ZIP entry {i} has a bad name: {e}")])?
            .into_owned();
        if name.starts_with('/') || name.contains('\\') || name.split('/').any(|s| s == "..") {
            problems.push(format!(
                "ZIP entry {name:?} is not a relative path with forward slashes"
            ));
        }
        if name.ends_with('/') {
            continue;
        }
        if name == "imsmanifest.xml" {
            let mut text = String::new();
            entry
                .read_to_string(&mut text)
                .map_err(|e| vec![format!("imsmanifest.xml is not UTF-8 text: {e}")])?;
            manifest = Some(text);
        } else {
            names.insert(name);
        }
    }
    match manifest {
        None => problems.push("no imsmanifest.xml at the root of the ZIP".into()),
        Some(text) => {
            if let Err(more) = check_manifest(&text, &names) {
                problems.extend(more);
            }
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems)
    }
}
