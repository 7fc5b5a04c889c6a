//! deb822 reading on Debian's own files: the Packages index `apt-get update`
//! fetched, and dpkg's status file. Each must come back byte-identical.

#[allow(dead_code)]
#[path = "support/apt_lists.rs"]
mod apt_lists;

use debpull::control::{self, Paragraph};

fn render(paragraphs: &[Paragraph<'_>]) -> String {
    paragraphs.iter().map(|p| format!("{p}\n")).collect()
}

#[test]
fn debian_packages_round_trip_byte_identical() {
    let mut total = 0;
    for path in apt_lists::packages_files() {
        let text = apt_lists::cat(&path);
        let paragraphs: Vec<Paragraph<'_>> = control::paragraphs(&text)
            .collect::<Result<_, _>>()
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let stanzas =
            text.matches("\nPackage: ").count() + usize::from(text.starts_with("Package: "));
        assert_eq!(paragraphs.len(), stanzas, "{}", path.display());
        for p in &paragraphs {
            assert!(
                p.get("Package").is_some() && p.get("Version").is_some(),
                "line {}",
                p.line()
            );
        }
        assert!(
            render(&paragraphs) == text,
            "{} does not round-trip",
            path.display()
        );
        total += paragraphs.len();
    }
    assert!(
        total > 50_000,
        "only {total} stanzas: is the main Packages index there?"
    );
}

#[test]
fn dpkg_status_round_trips_byte_identical() {
    let text = std::fs::read_to_string("/var/lib/dpkg/status").expect("read dpkg status");
    let paragraphs: Vec<Paragraph<'_>> = control::paragraphs(&text)
        .collect::<Result<_, _>>()
        .expect("parse dpkg status");
    assert!(paragraphs.iter().any(|p| p.get("Package") == Some("dpkg")));
    assert!(paragraphs.iter().all(|p| p.get("Status").is_some()));
    assert!(render(&paragraphs) == text);
}

#[test]
fn first_stanza_of_debian_packages_reads_field_by_field() {
    let text = apt_lists::cat(&apt_lists::packages_files()[0]);
    let first = control::paragraphs(&text).next().unwrap().unwrap();
    let end = text.find("\n\n").unwrap() + 1;
    // Every field of the first stanza: its name at the start of a line, its value right after.
    for field in first.fields() {
        let needle = format!("\n{}:{}\n", field.name(), field.raw());
        assert!(
            format!("\n{}", &text[..end]).contains(&needle),
            "{}",
            field.name()
        );
        assert!(!field.value().starts_with(' ') && !field.value().ends_with('\n'));
    }
}

#[test]
fn streaming_reader_agrees_with_paragraphs_on_debian_packages() {
    let text = apt_lists::cat(&apt_lists::packages_files()[0]);
    let mut reader = control::Reader::new(text.as_bytes());
    let mut borrowed = control::paragraphs(&text);
    let mut count = 0;
    while let Some(streamed) = reader.next_paragraph() {
        let streamed = streamed.unwrap();
        let expected = borrowed.next().unwrap().unwrap();
        assert_eq!(streamed.line(), expected.line());
        assert_eq!(
            streamed.to_string(),
            expected.to_string(),
            "line {}",
            expected.line()
        );
        count += 1;
    }
    assert!(borrowed.next().is_none());
    assert!(count > 1000);
}
