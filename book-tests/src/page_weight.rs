//! What a rendered page of the book costs a reader: the summed size of the
//! scripts and style sheets it references, plus the Mermaid library on pages
//! whose diagrams make `theme/mermaid-init.js` fetch it.
//!
//! Fonts are left out: mdBook loads them through its font style sheet, the
//! same on every page and in every build.

use std::path::Path;

/// The library `theme/mermaid-init.js` loads on pages with a diagram.
pub const MERMAID_LIBRARY: &str = "mermaid.min.js";

/// The resources a page makes the browser download before it is complete.
pub fn referenced_resources(html: &str) -> Vec<String> {
    let mut resources = Vec::new();
    for tag in html.split('<').skip(1) {
        let tag = tag.split('>').next().unwrap_or_default();
        let is_screen_style_sheet = tag.starts_with("link ")
            && tag.contains("stylesheet")
            && !tag.contains("media=\"print\"");
        let attribute = if tag.starts_with("script ") {
            "src"
        } else if is_screen_style_sheet {
            "href"
        } else {
            continue;
        };
        if let Some(url) = attribute_value(tag, attribute) {
            let is_remote = url.contains("://") || url.starts_with("//");
            if !is_remote && !url.is_empty() {
                resources.push(url.to_owned());
            }
        }
    }
    if html.contains("<pre class=\"mermaid\">") {
        resources.push(MERMAID_LIBRARY.to_owned());
    }
    resources
}

fn attribute_value<'a>(tag: &'a str, attribute: &str) -> Option<&'a str> {
    let start = tag.find(&format!(" {attribute}=\""))? + attribute.len() + 3;
    let len = tag[start..].find('"')?;
    Some(&tag[start..start + len])
}

/// Bytes of every resource `page` references, resolved against the book's
/// output directory `root` (mdBook writes root-relative paths).
pub fn page_weight(page: &Path, root: &Path) -> std::io::Result<(u64, Vec<(String, u64)>)> {
    let html = std::fs::read_to_string(page)?;
    let mut total = std::fs::metadata(page)?.len();
    let mut parts = Vec::new();
    for resource in referenced_resources(&html) {
        let relative = resource.trim_start_matches("./");
        let mut path = page.parent().unwrap_or(root).join(relative);
        if !path.exists() {
            path = root.join(relative);
        }
        let size = std::fs::metadata(&path)?.len();
        total += size;
        parts.push((resource, size));
    }
    Ok((total, parts))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scripts_and_screen_style_sheets_count_print_and_remote_do_not() {
        let html = r#"<head><link rel="stylesheet" href="css/general.css">
            <link rel="stylesheet" href="css/print.css" media="print">
            <script src="book.js"></script><script>const x = 1;</script>
            <script async src="https://cdn.example/x.js"></script></head>"#;
        assert_eq!(referenced_resources(html), ["css/general.css", "book.js"]);
    }

    #[test]
    fn a_page_with_a_diagram_also_loads_the_mermaid_library() {
        let html =
            r#"<script src="theme/mermaid-init.js"></script><pre class="mermaid">graph TD</pre>"#;
        assert_eq!(
            referenced_resources(html),
            ["theme/mermaid-init.js", MERMAID_LIBRARY]
        );
    }
}
