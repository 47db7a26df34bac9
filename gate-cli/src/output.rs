//! Formatting: colour (only on a terminal), tables, times.

use std::fmt::Write as _;
use std::io::IsTerminal;

/// Whether and how to colour standard output.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Style {
    colour: bool,
}

/// The colours the tool uses.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Colour {
    Green,
    Red,
    Yellow,
    Bold,
    Dim,
}

impl Style {
    /// Colour when `terminal` is a terminal and `NO_COLOR` is not set.
    pub(crate) fn for_stream(terminal: &impl IsTerminal) -> Style {
        let no_colour = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        Style {
            colour: terminal.is_terminal() && !no_colour,
        }
    }

    /// `text` in `colour`, or as is without colour.
    pub(crate) fn paint(self, colour: Colour, text: &str) -> String {
        if !self.colour {
            return text.to_owned();
        }
        let code = match colour {
            Colour::Green => "32",
            Colour::Red => "31",
            Colour::Yellow => "33",
            Colour::Bold => "1",
            Colour::Dim => "2",
        };
        format!("\x1b[{code}m{text}\x1b[0m")
    }

    /// "on" in green or "off" in red.
    pub(crate) fn on_off(self, on: bool) -> String {
        if on {
            self.paint(Colour::Green, "on")
        } else {
            self.paint(Colour::Red, "off")
        }
    }

    /// A switch state, coloured by what it means.
    pub(crate) fn state(self, state: gate::State) -> String {
        let colour = match state {
            gate::State::Global => Colour::Green,
            gate::State::Selective => Colour::Yellow,
            gate::State::Disabled => Colour::Red,
        };
        self.paint(colour, &state.to_string())
    }
}

/// A table cell: the text to show and its colour, if any.
pub(crate) type Cell = (String, Option<Colour>);

/// Lays `rows` out in columns under `header` (the last column is not
/// padded).
pub(crate) fn table(style: Style, header: &[&str], rows: &[Vec<Cell>]) -> String {
    let columns = header.len();
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (i, (text, _)) in row.iter().enumerate().take(columns) {
            widths[i] = widths[i].max(text.chars().count());
        }
    }
    let mut out = String::new();
    let mut line = |cells: Vec<(String, Option<Colour>)>| {
        let last = cells.len().saturating_sub(1);
        let mut text = String::new();
        for (i, (cell, colour)) in cells.into_iter().enumerate() {
            let pad = widths[i].saturating_sub(cell.chars().count());
            let shown = match colour {
                Some(c) => style.paint(c, &cell),
                None => cell,
            };
            text.push_str(&shown);
            if i < last {
                text.push_str(&" ".repeat(pad + 2));
            }
        }
        let _ = writeln!(out, "{}", text.trim_end());
    };
    line(
        header
            .iter()
            .map(|h| ((*h).to_owned(), Some(Colour::Bold)))
            .collect(),
    );
    for row in rows {
        line(row.clone());
    }
    out
}

/// `text` cut to `max` characters, with an ellipsis when cut.
pub(crate) fn truncate(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let mut cut: String = text.chars().take(max.saturating_sub(1)).collect();
    cut.push('…');
    cut
}

/// Milliseconds since the Unix epoch as a UTC time:
/// `2026-11-25 22:14:37Z`.
pub(crate) fn utc(ms: u64) -> String {
    let secs = ms / 1000;
    let days = (secs / 86_400) as i64;
    let rest = secs % 86_400;
    let (year, month, day) = civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02}Z",
        rest / 3600,
        rest % 3600 / 60,
        rest % 60
    )
}

/// The proleptic Gregorian date of a day count since 1970-01-01 (Howard
/// Hinnant's algorithm).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_utc() {
        assert_eq!(utc(0), "1970-01-01 00:00:00Z");
        assert_eq!(utc(951_782_400_000), "2000-02-29 00:00:00Z");
        assert_eq!(utc(1_795_645_677_000), "2026-11-25 22:27:57Z");
    }

    #[test]
    fn tables_align_and_do_not_colour_without_a_terminal() {
        let style = Style { colour: false };
        let rows = vec![
            vec![
                ("a".to_owned(), None),
                ("long text".to_owned(), Some(Colour::Red)),
            ],
            vec![("longer".to_owned(), None), ("x".to_owned(), None)],
        ];
        assert_eq!(
            table(style, &["NAME", "V"], &rows),
            "NAME    V\na       long text\nlonger  x\n"
        );
        assert_eq!(
            Style { colour: true }.paint(Colour::Red, "off"),
            "\x1b[31moff\x1b[0m"
        );
    }

    #[test]
    fn truncation() {
        assert_eq!(truncate("abcdef", 4), "abc…");
        assert_eq!(truncate("abc", 4), "abc");
    }
}
