//! Human output: sizes, ages, aligned tables, the age histogram, and stored text made safe to
//! print.

use std::borrow::Cow;
use std::fmt::Write as _;
use std::io::{self, Write as _};
use std::sync::Mutex;

/// What ended the output, if something did: a reader that went away (`cacher ls | head -1`), a
/// full disk. The command goes on without printing, and ends with its exit code.
static ENDED: Mutex<Option<io::Error>> = Mutex::new(None);

/// Writes `args` to stdout, unless the output has ended ([`ENDED`]): where `println!` panics.
pub fn out(args: std::fmt::Arguments<'_>) {
    let mut ended = ENDED
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if ended.is_none() {
        let mut stdout = io::stdout().lock();
        if let Err(e) = stdout.write_fmt(args).and_then(|()| stdout.flush()) {
            *ended = Some(e);
        }
    }
}

/// Writes `args` to stderr; a message that cannot be written is dropped (where `eprintln!`
/// panics).
pub fn err(args: std::fmt::Arguments<'_>) {
    let _ = io::stderr().lock().write_fmt(args);
}

/// Why the output could not be written, when it is not that its reader went away (which ends
/// it, as `head` asks, and is no failure).
pub fn output_failed() -> Option<String> {
    let ended = ENDED
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let e = ended.as_ref()?;
    (e.kind() != io::ErrorKind::BrokenPipe).then(|| {
        format!("cannot write the output ({e}): write it where there is room, or to a terminal")
    })
}

/// `println!` to [`out`].
macro_rules! outln {
    ($($arg:tt)*) => { $crate::print::out(format_args!("{}\n", format_args!($($arg)*))) };
}

/// `eprintln!` to [`err`].
macro_rules! errln {
    ($($arg:tt)*) => { $crate::print::err(format_args!("{}\n", format_args!($($arg)*))) };
}

pub(crate) use {errln, outln};

/// Whether a terminal acts on `c`: a control character (ESC starts CSI and OSC sequences that
/// clear the screen, set the title, write the clipboard; BEL, DEL, C1's CSI, newlines that forge
/// lines) or a bidirectional control (which reorders what follows it).
fn acted_on(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{200e}' | '\u{200f}')
        || c == '\u{61c}'
}

/// `text` with every character a terminal acts on written as `\u{1b}`, for prose: messages,
/// and paths the user gave. Names, keys and locations found in the cache are printed with
/// [`escape`], which reads back.
pub fn clean(text: &str) -> Cow<'_, str> {
    escaped(text, |_, c| acted_on(c))
}

/// Whether `c` shows as nothing, or as a plain space, where it is not one: a zero-width or
/// other format character, a soft hyphen, a filler, a variation selector, the blank braille
/// pattern, or white space other than the space. A name that holds one printed like one without it.
fn unseen(c: char) -> bool {
    (c.is_whitespace() && c != ' ')
        || matches!(
            c,
            '\u{ad}'
                | '\u{34f}'
                | '\u{115f}'
                | '\u{1160}'
                | '\u{17b4}'
                | '\u{17b5}'
                | '\u{180b}'..='\u{180f}'
                | '\u{200b}'..='\u{200f}'
                | '\u{2060}'..='\u{206f}'
                | '\u{2800}'
                | '\u{3164}'
                | '\u{fe00}'..='\u{fe0f}'
                | '\u{feff}'
                | '\u{ffa0}'
                | '\u{fff9}'..='\u{fffb}'
                | '\u{1bca0}'..='\u{1bca3}'
                | '\u{1d173}'..='\u{1d17a}'
                | '\u{e0000}'..='\u{e0fff}'
        )
}

/// A name found in the cache (a namespace, key, arguments' text, location) as printed: every
/// character a terminal acts on written as `\u{1b}` (they are written by whoever could write to
/// the cache, a shared directory, a Redis server, and printed to the user's terminal), and a
/// backslash as `\\`, so that each printed name reads back ([`unescape`]) to the one it
/// was: `a\u{1b}` is `a` and an ESC, `a\\u{1b}` the text `a\u{1b}`. So that no two names look
/// alike, and a name given back is read as that name, also escaped: each character that shows as
/// nothing or as a space ([`unseen`]: `x\u{200b}` is not `x`), a space at either end (which a
/// table's padding hides), and a `-` that starts a longer name (`\u{2d}-all`, which a command
/// line would read as the option `--all`; a lone `-` is read as a name, and stands for none).
pub fn escape(text: &str) -> Cow<'_, str> {
    escaped(text, |at, c| {
        let end = at + c.len_utf8() == text.len();
        c == '\\'
            || acted_on(c)
            || unseen(c)
            || (c == ' ' && (at == 0 || end))
            || (c == '-' && at == 0 && text.len() > 1)
    })
}

/// [`escape`]d `text` in double quotes, for a message.
pub fn quoted(text: &str) -> String {
    format!("\"{}\"", escape(text))
}

/// `text` with the characters `escape` says (given each one's byte offset) written as
/// `\u{1b}`, a backslash as `\\`.
fn escaped(text: &str, escape: impl Fn(usize, char) -> bool) -> Cow<'_, str> {
    if !text.char_indices().any(|(at, c)| escape(at, c)) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for (at, c) in text.char_indices() {
        match c {
            '\\' if escape(at, c) => out.push_str("\\\\"),
            c if escape(at, c) => {
                let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// `text` (a path found in the cache's directory) as one word of a command to copy into a shell
/// ([`clean`]ed first): as it is when the shell reads nothing in it, else in single quotes (a
/// `'` in it as `'\''`). A directory named `x; rm -rf ~` is a name, not a second command.
pub fn shell_word(text: &str) -> Cow<'_, str> {
    let plain = |c: char| c.is_ascii_alphanumeric() || "_-./:@%+=,".contains(c);
    let text = clean(text);
    if !text.is_empty() && text.chars().all(plain) {
        return text;
    }
    Cow::Owned(format!("'{}'", text.replace('\'', "'\\''")))
}

/// The name that [`escape`] printed as `text`: `\\` a backslash, `\u{1b}` the character of
/// that (hexadecimal) number, whichever it is; `None` when a backslash in `text` starts neither.
pub fn unescape(text: &str) -> Option<String> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find('\\') {
        out.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        if let Some(after) = after.strip_prefix('\\') {
            out.push('\\');
            rest = after;
            continue;
        }
        let (hex, after) = after.strip_prefix("u{")?.split_once('}')?;
        let valid = (1..=6).contains(&hex.len()) && hex.bytes().all(|b| b.is_ascii_hexdigit());
        let number = u32::from_str_radix(hex, 16).ok().filter(|_| valid)?;
        out.push(char::from_u32(number)?);
        rest = after;
    }
    out.push_str(rest);
    Some(out)
}

/// `n` entries, in words: "1 entry", "3 entries".
pub fn entries(n: usize) -> String {
    counted(n, "entry", "entries")
}

/// `n` things, `one` or `many` as `n` is 1 or not: "1 namespace", "3 namespaces".
pub fn counted(n: usize, one: &str, many: &str) -> String {
    match n {
        1 => format!("1 {one}"),
        n => format!("{n} {many}"),
    }
}

/// `812 B`, `4.2 KiB`, `13.0 MiB`.
pub fn bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = n as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{n} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

/// `42s`, `7m`, `3h`, `12d`.
pub fn age(ms: u64) -> String {
    let s = ms / 1000;
    match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m", s / 60),
        3600..86_400 => format!("{}h", s / 3600),
        _ => format!("{}d", s / 86_400),
    }
}

/// A JSON document with every character a terminal acts on, but its line breaks, written as a
/// `\uXXXX` escape: outside strings JSON has only ASCII punctuation, digits, letters and white
/// space, so those characters are inside strings, where the escape reads back the same.
pub fn json_escaped(json: &str) -> Cow<'_, str> {
    if !json.contains(|c| acted_on(c) && c != '\n') {
        return Cow::Borrowed(json);
    }
    let mut out = String::with_capacity(json.len() + 8);
    for c in json.chars() {
        if acted_on(c) && c != '\n' {
            // Every such character is in the basic plane: one escape each.
            let _ = write!(out, "\\u{:04x}", u32::from(c));
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// Rows as columns padded to their widest cell, the first row a header; each cell [`escape`]d
/// (names, keys and arguments' text read back from the table).
pub fn table(rows: &[Vec<String>]) -> String {
    let rows: Vec<Vec<Cow<'_, str>>> = rows
        .iter()
        .map(|row| row.iter().map(|cell| escape(cell)).collect())
        .collect();
    let columns = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..columns)
        .map(|c| {
            rows.iter()
                .filter_map(|r| r.get(c))
                .map(|cell| cell.chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for row in rows {
        let mut line = String::new();
        for (c, cell) in row.iter().enumerate() {
            let pad = widths[c].saturating_sub(cell.chars().count());
            let _ = write!(line, "{cell}{}  ", " ".repeat(pad));
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// The age buckets of the histogram: upper bound in seconds, label.
pub const AGE_BUCKETS: [(u64, &str); 7] = [
    (60, "< 1m"),
    (3600, "< 1h"),
    (86_400, "< 1d"),
    (7 * 86_400, "< 1w"),
    (30 * 86_400, "< 30d"),
    (365 * 86_400, "< 1y"),
    (u64::MAX, ">= 1y"),
];

/// Which bucket an age falls in.
pub fn bucket(age_ms: u64) -> usize {
    let s = age_ms / 1000;
    AGE_BUCKETS
        .iter()
        .position(|(upper, _)| s < *upper)
        .unwrap_or(AGE_BUCKETS.len() - 1)
}

/// Bars of `counts` (one per bucket), the longest `width` characters.
pub fn histogram(counts: &[u64], width: usize) -> String {
    let max = counts.iter().copied().max().unwrap_or(0).max(1);
    let mut out = String::new();
    for ((_, label), &count) in AGE_BUCKETS.iter().zip(counts) {
        let len = usize::try_from(count * width as u64 / max).unwrap_or(width);
        let bar = if count > 0 && len == 0 {
            "▏".to_owned()
        } else {
            "█".repeat(len)
        };
        let _ = writeln!(out, "  {label:>6} │{bar:<width$} {count}");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::{age, bucket, bytes, clean, escape, histogram, json_escaped, shell_word, unescape};

    #[test]
    fn sizes_ages_and_bars() {
        assert_eq!(bytes(812), "812 B");
        assert_eq!(bytes(4300), "4.2 KiB");
        assert_eq!(age(42_000), "42s");
        assert_eq!(age(3 * 3_600_000), "3h");
        assert_eq!(bucket(30_000), 0);
        assert_eq!(bucket(2 * 86_400_000), 3);
        let drawn = histogram(&[4, 2, 0, 0, 0, 0, 0], 8);
        assert!(
            drawn.contains("████████ 4") && drawn.contains("████     2"),
            "{drawn}"
        );
    }

    #[test]
    fn what_a_terminal_acts_on_is_written_out() {
        assert_eq!(clean("app::f é ✓"), "app::f é ✓");
        assert_eq!(clean("a\u{1b}]0;t\u{7}b"), "a\\u{1b}]0;t\\u{7}b");
        assert_eq!(clean("\u{9b}1\u{202e}x\n"), "\\u{9b}1\\u{202e}x\\u{a}");
        let json = "{\n  \"k\": \"\u{9b}\u{7f}\u{202e}\"\n}";
        assert_eq!(
            json_escaped(json),
            "{\n  \"k\": \"\\u009b\\u007f\\u202e\"\n}"
        );
    }

    /// Every name reads back from its printed form, and no two names print alike: a backslash
    /// is doubled. (Failed: `a` ESC and the text `a\u{1b}` both printed `a\u{1b}`.)
    #[test]
    fn a_printed_name_reads_back_to_the_one_name_it_was() {
        let names = [
            "app::f é ✓",
            "a\u{1b}",
            "a\\u{1b}",
            "a\\\\u{1b}",
            "\\",
            "\\\u{9b}\u{202e}x\n",
            "C:\\temp\\",
            "",
        ];
        for name in names {
            assert_eq!(unescape(&escape(name)).as_deref(), Some(name), "{name:?}");
            assert!(!escape(name).contains(|c: char| c.is_control()), "{name:?}");
        }
        assert_eq!(escape("a\u{1b}"), "a\\u{1b}");
        assert_eq!(escape("a\\u{1b}"), "a\\\\u{1b}");
        assert_eq!(escape("\\\u{9b}"), "\\\\\\u{9b}");
        // Any character by its number; a backslash that starts neither escape is no name.
        assert_eq!(unescape("\\u{41}\\u{1F600}").as_deref(), Some("A😀"));
        for bad in [
            "\\",
            "a\\q",
            "\\u{}",
            "\\u{1b",
            "\\u1b",
            "\\u{d800}",
            "\\u{1234567}",
            "\\u{+1}",
        ] {
            assert_eq!(unescape(bad), None, "{bad:?}");
        }
    }

    /// What would not show, or be read as an option, is escaped too, and reads back.
    #[test]
    fn a_name_that_looks_like_another_or_an_option_prints_apart() {
        let cases = [
            ("--all", "\\u{2d}-all"),
            ("-", "-"),
            ("a-b", "a-b"),
            (" ns ", "\\u{20}ns\\u{20}"),
            (" ", "\\u{20}"),
            ("a b", "a b"),
            ("a\u{a0}b", "a\\u{a0}b"),
            ("x\u{200b}", "x\\u{200b}"),
            ("x\u{2800}", "x\\u{2800}"),
            ("é ✓", "é ✓"),
        ];
        for (name, printed) in cases {
            assert_eq!(escape(name), printed, "{name:?}");
            assert_eq!(unescape(printed).as_deref(), Some(name), "{name:?}");
        }
        // Prose keeps them: it is not given back.
        assert_eq!(clean("--all "), "--all ");
    }

    #[test]
    fn a_path_is_one_word_of_a_command() {
        assert_eq!(shell_word("/tmp/a-b_c.d/x:1@2"), "/tmp/a-b_c.d/x:1@2");
        assert_eq!(shell_word("/tmp/x; rm -rf ~"), "'/tmp/x; rm -rf ~'");
        assert_eq!(shell_word("it's $(x)"), "'it'\\''s $(x)'");
        assert_eq!(shell_word("a\u{1b}"), "'a\\u{1b}'");
        assert_eq!(shell_word(""), "''");
    }
}
