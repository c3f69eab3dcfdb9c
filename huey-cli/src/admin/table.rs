//! Aligned plain-text columns: each column as wide as its widest cell, two spaces apart, the
//! last one unpadded (it is often free text: a reason, arguments).

/// Renders `header` and `rows` as aligned lines, each ending in a newline.
pub(super) fn render(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let header: Vec<String> = header.iter().map(|h| h.to_string()).collect();
    for row in std::iter::once(&header).chain(rows) {
        let last = row.len().saturating_sub(1);
        let mut line = String::new();
        for (i, (cell, width)) in row.iter().zip(&widths).enumerate() {
            if i == last {
                line.push_str(cell);
            } else {
                line.push_str(&format!("{cell:<width$}  "));
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// `text` cut to `max` characters, with an ellipsis when cut.
pub(super) fn clip(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let mut clipped: String = text.chars().take(max.saturating_sub(1)).collect();
    clipped.push('…');
    clipped
}

#[cfg(test)]
mod tests {
    use super::{clip, render};

    #[test]
    fn columns_align_on_the_widest_cell() {
        let rows = vec![
            vec!["a".to_string(), "long value".to_string(), "x".to_string()],
            vec![
                "longer".to_string(),
                "v".to_string(),
                "free text".to_string(),
            ],
        ];
        assert_eq!(
            render(&["ID", "NAME", "ARGS"], &rows),
            "ID      NAME        ARGS\n\
             a       long value  x\n\
             longer  v           free text\n"
        );
    }

    #[test]
    fn clipping_marks_what_it_cut() {
        assert_eq!(clip("abcdef", 4), "abc…");
        assert_eq!(clip("abc", 4), "abc");
    }
}
