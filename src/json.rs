//! The JSON perfgate writes (the verdict, `metrics --json`, the baseline file and its summary)
//! carries names taken from reports, and is read on terminals (`cat verdict.json`, a CI log, a
//! `git diff` of the baseline). serde_json escapes only U+0000–U+001F, `"` and `\`; the one rule
//! here: every character a terminal acts on or that reorders text — DEL, the C1 controls (U+009B
//! is CSI on some terminals), the bidi controls, the zero-width characters and the line and
//! paragraph separators — is written as a `\uXXXX` escape too. The JSON decodes to the same
//! strings, and is byte for byte serde_json's for any other text.

use std::io::{self, Write};

use serde::ser::Error as _;
use serde::Serialize;
use serde_json::ser::{CharEscape, Formatter, PrettyFormatter};

/// `value` as pretty JSON (serde_json's two-space indentation), with the characters of the
/// module doc escaped.
pub(crate) fn to_string_pretty<T: ?Sized + Serialize>(value: &T) -> serde_json::Result<String> {
    let mut out = Vec::with_capacity(128);
    let mut ser = serde_json::Serializer::with_formatter(&mut out, Inert(PrettyFormatter::new()));
    value.serialize(&mut ser)?;
    // serde_json writes UTF-8 and the escapes are ASCII.
    String::from_utf8(out).map_err(serde_json::Error::custom)
}

/// `value` as JSON on one line (a step output's value), with the characters of the module doc
/// escaped.
pub(crate) fn to_string_compact<T: ?Sized + Serialize>(value: &T) -> serde_json::Result<String> {
    let mut out = Vec::with_capacity(64);
    let mut ser =
        serde_json::Serializer::with_formatter(&mut out, Inert(serde_json::ser::CompactFormatter));
    value.serialize(&mut ser)?;
    String::from_utf8(out).map_err(serde_json::Error::custom)
}

/// Whether `c` is written escaped (beyond what serde_json escapes): DEL and C1 controls, the
/// Arabic letter mark, zero-width characters and marks, the line and paragraph separators, the
/// bidi embeddings, overrides and isolates, the word joiner and invisible operators, and the
/// byte-order mark. `init` escapes the same characters in the TOML strings it writes.
pub(crate) fn escaped(c: char) -> bool {
    matches!(c,
        '\u{7F}'..='\u{9F}'
        | '\u{061C}'
        | '\u{200B}'..='\u{200F}'
        | '\u{2028}'..='\u{202E}'
        | '\u{2060}'..='\u{2064}'
        | '\u{2066}'..='\u{2069}'
        | '\u{FEFF}')
}

/// A formatter that writes as `F` does, but escapes the characters of [`escaped`] in strings
/// (object keys included).
struct Inert<F>(F);

impl<F: Formatter> Formatter for Inert<F> {
    fn write_string_fragment<W: ?Sized + Write>(
        &mut self,
        writer: &mut W,
        fragment: &str,
    ) -> io::Result<()> {
        let mut start = 0;
        for (i, c) in fragment.char_indices() {
            if escaped(c) {
                if start < i {
                    self.0.write_string_fragment(writer, &fragment[start..i])?;
                }
                // Every escaped character is in the Basic Multilingual Plane: one `\u` escape,
                // lower-case hex as serde_json writes its own.
                write!(writer, "\\u{:04x}", u32::from(c))?;
                start = i + c.len_utf8();
            }
        }
        if start < fragment.len() {
            self.0.write_string_fragment(writer, &fragment[start..])?;
        }
        Ok(())
    }

    // Everything else is `F`'s.

    fn write_null<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.write_null(w)
    }
    fn write_bool<W: ?Sized + Write>(&mut self, w: &mut W, v: bool) -> io::Result<()> {
        self.0.write_bool(w, v)
    }
    fn write_i8<W: ?Sized + Write>(&mut self, w: &mut W, v: i8) -> io::Result<()> {
        self.0.write_i8(w, v)
    }
    fn write_i16<W: ?Sized + Write>(&mut self, w: &mut W, v: i16) -> io::Result<()> {
        self.0.write_i16(w, v)
    }
    fn write_i32<W: ?Sized + Write>(&mut self, w: &mut W, v: i32) -> io::Result<()> {
        self.0.write_i32(w, v)
    }
    fn write_i64<W: ?Sized + Write>(&mut self, w: &mut W, v: i64) -> io::Result<()> {
        self.0.write_i64(w, v)
    }
    fn write_i128<W: ?Sized + Write>(&mut self, w: &mut W, v: i128) -> io::Result<()> {
        self.0.write_i128(w, v)
    }
    fn write_u8<W: ?Sized + Write>(&mut self, w: &mut W, v: u8) -> io::Result<()> {
        self.0.write_u8(w, v)
    }
    fn write_u16<W: ?Sized + Write>(&mut self, w: &mut W, v: u16) -> io::Result<()> {
        self.0.write_u16(w, v)
    }
    fn write_u32<W: ?Sized + Write>(&mut self, w: &mut W, v: u32) -> io::Result<()> {
        self.0.write_u32(w, v)
    }
    fn write_u64<W: ?Sized + Write>(&mut self, w: &mut W, v: u64) -> io::Result<()> {
        self.0.write_u64(w, v)
    }
    fn write_u128<W: ?Sized + Write>(&mut self, w: &mut W, v: u128) -> io::Result<()> {
        self.0.write_u128(w, v)
    }
    fn write_f32<W: ?Sized + Write>(&mut self, w: &mut W, v: f32) -> io::Result<()> {
        self.0.write_f32(w, v)
    }
    fn write_f64<W: ?Sized + Write>(&mut self, w: &mut W, v: f64) -> io::Result<()> {
        self.0.write_f64(w, v)
    }
    fn write_number_str<W: ?Sized + Write>(&mut self, w: &mut W, v: &str) -> io::Result<()> {
        self.0.write_number_str(w, v)
    }
    fn begin_string<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.begin_string(w)
    }
    fn end_string<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.end_string(w)
    }
    fn write_char_escape<W: ?Sized + Write>(
        &mut self,
        w: &mut W,
        escape: CharEscape,
    ) -> io::Result<()> {
        self.0.write_char_escape(w, escape)
    }
    fn write_byte_array<W: ?Sized + Write>(&mut self, w: &mut W, v: &[u8]) -> io::Result<()> {
        self.0.write_byte_array(w, v)
    }
    fn begin_array<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.begin_array(w)
    }
    fn end_array<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.end_array(w)
    }
    fn begin_array_value<W: ?Sized + Write>(&mut self, w: &mut W, first: bool) -> io::Result<()> {
        self.0.begin_array_value(w, first)
    }
    fn end_array_value<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.end_array_value(w)
    }
    fn begin_object<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.begin_object(w)
    }
    fn end_object<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.end_object(w)
    }
    fn begin_object_key<W: ?Sized + Write>(&mut self, w: &mut W, first: bool) -> io::Result<()> {
        self.0.begin_object_key(w, first)
    }
    fn end_object_key<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.end_object_key(w)
    }
    fn begin_object_value<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.begin_object_value(w)
    }
    fn end_object_value<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.end_object_value(w)
    }
    fn write_raw_fragment<W: ?Sized + Write>(&mut self, w: &mut W, v: &str) -> io::Result<()> {
        self.0.write_raw_fragment(w, v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// serde_json's own pretty output, for comparison.
    fn plain(v: &serde_json::Value) -> String {
        serde_json::to_string_pretty(v).expect("serialize")
    }

    #[test]
    fn ordinary_text_is_written_as_serde_json_writes_it() {
        let v = serde_json::json!({
            "name": "checkout p95 — 日本語 😀 \u{1F468}\u{200D}",
            "quote \" and \\ and \n\t\u{1}": [1, -2, 3.5, 1e300, null, true, "", {}, []],
            "nested": {"a": {"b": [{"c": "d"}]}},
        });
        let mut ordinary = v.clone();
        ordinary["name"] = serde_json::json!("checkout p95 — 日本語 😀 ü ß ¡");
        assert_eq!(to_string_pretty(&ordinary).expect("json"), plain(&ordinary));
        // The zero-width joiner of an emoji sequence is escaped, and the JSON decodes the same.
        let text = to_string_pretty(&v).expect("json");
        assert!(text.contains("\\u200d"), "{text}");
        assert_eq!(
            serde_json::from_str::<serde_json::Value>(&text).expect("parse"),
            v
        );
    }

    #[test]
    fn every_character_a_terminal_acts_on_is_escaped_in_values_and_keys() {
        let all: String = ('\u{0}'..='\u{FFFF}').filter(|c| escaped(*c)).collect();
        assert_eq!(all.chars().count(), 33 + 1 + 5 + 7 + 5 + 4 + 1);
        let v = serde_json::json!({ format!("key {all} end"): format!("a{all}b\u{1b}[31m") });
        let text = to_string_pretty(&v).expect("json");
        for c in text.chars() {
            assert!(
                c == '\n' || !(escaped(c) || c.is_control()),
                "{c:?} raw in {text}"
            );
        }
        assert!(text.contains("\\u007f\\u0080"), "{text}");
        assert!(text.contains("\\u009b"), "{text}");
        assert!(text.contains("\\u202e"), "{text}");
        assert!(text.contains("\\u001b[31m"), "{text}");
        assert_eq!(
            serde_json::from_str::<serde_json::Value>(&text).expect("parse"),
            v
        );
    }
}
