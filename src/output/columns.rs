//! Rows of aligned columns that fit a width: widths measured in display columns (a CJK
//! character or an emoji takes two), wide columns shortened with `…` down to a minimum, and
//! columns that can be spared left out when even that is not enough. Colour is added after
//! the layout, so escape codes never count toward a width.

use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};

/// Space between two columns.
const GAP: usize = 2;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Align {
    Left,
    Right,
}

/// How a column behaves when the rows are too wide.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fit {
    /// Always shown whole.
    Keep,
    /// Cut with `…` as far as this many columns.
    Shrink(usize),
    /// Shown whole, or left out when the others do not fit; lower numbers go first.
    Spare(u8),
}

pub struct Column {
    pub header: &'static str,
    pub align: Align,
    pub fit: Fit,
}

/// One cell: its text (control characters already escaped) and an optional SGR colour
/// (`"32"` for green) used when colour is on.
#[derive(Debug, Clone, Default)]
pub struct Cell {
    pub text: String,
    pub color: Option<&'static str>,
}

impl From<String> for Cell {
    fn from(text: String) -> Cell {
        Cell { text, color: None }
    }
}

/// The lines of a table of `rows` under `columns`, at most `width` display columns wide
/// where the columns' minimums allow, each line without trailing spaces.
pub fn render(columns: &[Column], rows: &[Vec<Cell>], width: usize, color: bool) -> Vec<String> {
    let mut shown: Vec<usize> = (0..columns.len()).collect();
    let mut widths = layout(columns, rows, &shown, width);
    // Leave out the columns that can be spared, least needed first, until the rest fit.
    let mut spare: Vec<(u8, usize)> = columns
        .iter()
        .enumerate()
        .filter_map(|(i, c)| match c.fit {
            Fit::Spare(rank) => Some((rank, i)),
            _ => None,
        })
        .collect();
    spare.sort();
    for (_, index) in spare {
        if total(&widths) <= width {
            break;
        }
        shown.retain(|&i| i != index);
        widths = layout(columns, rows, &shown, width);
    }
    let header: Vec<Cell> = columns
        .iter()
        .map(|c| Cell::from(c.header.to_string()))
        .collect();
    std::iter::once(&header)
        .chain(rows)
        .map(|row| line(columns, row, &shown, &widths, color))
        .collect()
}

/// The width of each shown column: its widest cell, with the shrinkable ones cut, widest
/// first, until the total fits or each is at its minimum.
fn layout(columns: &[Column], rows: &[Vec<Cell>], shown: &[usize], width: usize) -> Vec<usize> {
    let picked: Vec<&Column> = shown.iter().filter_map(|&i| columns.get(i)).collect();
    let mut widths: Vec<usize> = shown
        .iter()
        .zip(&picked)
        .map(|(&i, column)| {
            let cells = rows
                .iter()
                .filter_map(|row| row.get(i))
                .map(|c| c.text.width());
            cells.fold(column.header.width(), usize::max)
        })
        .collect();
    while total(&widths) > width {
        let widest = widths
            .iter_mut()
            .zip(&picked)
            .filter(|(w, column)| matches!(column.fit, Fit::Shrink(min) if **w > min))
            .map(|(w, _)| w)
            .max_by_key(|w| **w);
        match widest {
            Some(w) => *w -= 1,
            None => break,
        }
    }
    widths
}

fn total(widths: &[usize]) -> usize {
    widths.iter().sum::<usize>() + GAP * widths.len().saturating_sub(1)
}

fn line(
    columns: &[Column],
    row: &[Cell],
    shown: &[usize],
    widths: &[usize],
    color: bool,
) -> String {
    let mut out = String::new();
    let cells = shown
        .iter()
        .filter_map(|&i| Some((columns.get(i)?, row.get(i)?)))
        .zip(widths);
    for (k, ((column, cell), &width)) in cells.enumerate() {
        let text = fit(&cell.text, width);
        let pad = " ".repeat(width.saturating_sub(text.width()));
        let painted = match cell.color {
            Some(sgr) if color => format!("\x1b[{sgr}m{text}\x1b[0m"),
            _ => text,
        };
        if k > 0 {
            out.push_str(&" ".repeat(GAP));
        }
        match column.align {
            Align::Left => {
                out.push_str(&painted);
                out.push_str(&pad);
            }
            Align::Right => {
                out.push_str(&pad);
                out.push_str(&painted);
            }
        }
    }
    out.trim_end().to_string()
}

/// `text` cut to at most `width` display columns, ending in `…` when cut.
pub fn fit(text: &str, width: usize) -> String {
    if text.width() <= width {
        return text.to_string();
    }
    let mut out = String::new();
    let mut used = 0;
    for c in text.chars() {
        let w = c.width().unwrap_or(0);
        if used + w + 1 > width {
            break;
        }
        out.push(c);
        used += w;
    }
    if width > 0 {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cells(texts: &[&str]) -> Vec<Cell> {
        texts.iter().map(|t| Cell::from(t.to_string())).collect()
    }

    const COLUMNS: [Column; 3] = [
        Column {
            header: "NAME",
            align: Align::Left,
            fit: Fit::Shrink(4),
        },
        Column {
            header: "N",
            align: Align::Right,
            fit: Fit::Keep,
        },
        Column {
            header: "NOTE",
            align: Align::Left,
            fit: Fit::Spare(0),
        },
    ];

    #[test]
    fn wide_characters_count_two_columns_and_stay_aligned() {
        let rows = vec![cells(&["日本語", "1", "x"]), cells(&["ab", "22", "y"])];
        let lines = render(&COLUMNS, &rows, 80, false);
        assert_eq!(
            lines,
            ["NAME     N  NOTE", "日本語   1  x", "ab      22  y"]
        );
    }

    #[test]
    fn long_cells_are_cut_then_spare_columns_left_out() {
        let rows = vec![cells(&["abcdefghij", "1", "a long note"])];
        let lines = render(&COLUMNS, &rows, 22, false);
        assert!(lines.iter().all(|l| l.width() <= 22), "{lines:?}");
        assert_eq!(lines[1], "abcde…  1  a long note");
        let lines = render(&COLUMNS, &rows, 10, false);
        assert_eq!(lines[1], "abcdef…  1", "the note is spared: {lines:?}");
    }

    #[test]
    fn cutting_never_splits_a_wide_character_past_the_width() {
        assert_eq!(fit("日本語", 4), "日…");
        assert_eq!(fit("🎉🎉🎉", 5), "🎉🎉…");
        assert_eq!(fit("short", 5), "short");
    }

    #[test]
    fn colour_wraps_the_text_and_not_the_padding() {
        let rows = vec![vec![
            Cell {
                text: "ab".into(),
                color: Some("32"),
            },
            Cell::from("1".to_string()),
            Cell::from("x".to_string()),
        ]];
        let lines = render(&COLUMNS, &rows, 80, true);
        assert_eq!(lines[1], "\x1b[32mab\x1b[0m    1  x");
    }
}
