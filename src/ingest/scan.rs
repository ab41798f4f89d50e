//! A byte scanner for the one-line JSON objects of a raw result stream, the fast path under
//! serde_json for the millions of lines that all look alike.
//!
//! The one rule: it accepts a subset of what serde_json accepts, with the same meaning, and gives
//! up (`None`) on everything else — escapes, non-ASCII bytes in strings it skips, numbers out of
//! range, nesting deeper than [`MAX_DEPTH`] — so its caller reads that line again with serde_json,
//! which decides and words the error. A line is never read differently by the two.

/// The deepest nesting [`Scan::skip_value`] walks before giving the line to serde_json.
const MAX_DEPTH: u32 = 16;

pub(crate) struct Scan<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Scan<'a> {
    pub(crate) fn new(bytes: &'a [u8]) -> Scan<'a> {
        Scan { bytes, at: 0 }
    }

    fn skip_whitespace(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.bytes.get(self.at) {
            self.at += 1;
        }
    }

    /// The next byte that is not whitespace, not consumed.
    pub(crate) fn peek(&mut self) -> Option<u8> {
        self.skip_whitespace();
        self.bytes.get(self.at).copied()
    }

    /// Steps over `byte`, the next byte that is not whitespace; `None` if another comes.
    fn consume(&mut self, byte: u8) -> Option<()> {
        (self.peek()? == byte).then(|| self.at += 1)
    }

    /// The bytes not yet read, from the next one that is not whitespace.
    pub(crate) fn rest(&mut self) -> &'a [u8] {
        self.skip_whitespace();
        &self.bytes[self.at..]
    }

    /// Steps over `n` bytes the caller has recognised in [`Scan::rest`].
    pub(crate) fn advance(&mut self, n: usize) {
        self.at = (self.at + n).min(self.bytes.len());
    }

    /// How many bytes have been read.
    pub(crate) fn offset(&self) -> usize {
        self.at
    }

    /// The bytes read since `offset`.
    pub(crate) fn since(&self, offset: usize) -> &'a [u8] {
        &self.bytes[offset.min(self.at)..self.at]
    }

    /// Where `part`, a slice of the scanned bytes, lies in them.
    pub(crate) fn span(&self, part: &[u8]) -> std::ops::Range<u32> {
        let start = (part.as_ptr() as usize).saturating_sub(self.bytes.as_ptr() as usize);
        let start = start.min(self.bytes.len());
        let end = (start + part.len()).min(self.bytes.len());
        // A line is at most `stream::MAX_LINE` plus one block long, far below `u32::MAX`.
        start as u32..end as u32
    }

    /// Whether only whitespace is left.
    pub(crate) fn at_end(&mut self) -> bool {
        self.peek().is_none()
    }

    /// The exact bytes `literal` next, without whitespace before them.
    pub(crate) fn literal(&mut self, literal: &[u8]) -> Option<()> {
        self.bytes[self.at..]
            .starts_with(literal)
            .then(|| self.at += literal.len())
    }

    /// A string without escapes or control characters, as its raw bytes (not yet UTF-8 checked).
    pub(crate) fn raw_string(&mut self) -> Option<&'a [u8]> {
        self.consume(b'"')?;
        self.string_rest()
    }

    /// The rest of a string whose opening quote has been read, up to and past its closing quote.
    pub(crate) fn string_rest(&mut self) -> Option<&'a [u8]> {
        let start = self.at;
        let text = &self.bytes[start..];
        // Eight bytes at a time to the word holding the first quote, backslash or control
        // character, then byte by byte.
        let mut i = 0;
        while let Some(word) = text.get(i..i + 8) {
            let word = u64::from_le_bytes(word.try_into().ok()?);
            if may_end_string(word) {
                break;
            }
            i += 8;
        }
        let len = i + text[i..]
            .iter()
            .position(|&b| b == b'"' || b == b'\\' || b < 0x20)?;
        if text[len] != b'"' {
            return None;
        }
        self.at = start + len + 1;
        Some(&text[..len])
    }

    /// A string without escapes or control characters.
    pub(crate) fn string(&mut self) -> Option<&'a str> {
        std::str::from_utf8(self.raw_string()?).ok()
    }

    /// A number in JSON's grammar, finite as an `f64`.
    pub(crate) fn number(&mut self) -> Option<f64> {
        self.skip_whitespace();
        let start = self.at;
        let digits = |s: &mut Scan| {
            let from = s.at;
            while s.bytes.get(s.at).is_some_and(u8::is_ascii_digit) {
                s.at += 1;
            }
            s.at > from
        };
        if self.bytes.get(self.at) == Some(&b'-') {
            self.at += 1;
        }
        if self.bytes.get(self.at) == Some(&b'0') {
            self.at += 1;
        } else if !digits(self) {
            return None;
        }
        if self.bytes.get(self.at) == Some(&b'.') {
            self.at += 1;
            if !digits(self) {
                return None;
            }
        }
        if let Some(b'e' | b'E') = self.bytes.get(self.at) {
            self.at += 1;
            if let Some(b'+' | b'-') = self.bytes.get(self.at) {
                self.at += 1;
            }
            if !digits(self) {
                return None;
            }
        }
        let text = std::str::from_utf8(&self.bytes[start..self.at]).ok()?;
        text.parse::<f64>().ok().filter(|v| v.is_finite())
    }

    /// Walks an object, handing each key to `field`, which must consume its value.
    pub(crate) fn object(
        &mut self,
        mut field: impl FnMut(&mut Scan<'a>, &'a [u8]) -> Option<()>,
    ) -> Option<()> {
        self.consume(b'{')?;
        if self.peek()? == b'}' {
            self.at += 1;
            return Some(());
        }
        loop {
            let key = self.raw_string()?;
            if !key.is_ascii() {
                return None;
            }
            self.consume(b':')?;
            field(self, key)?;
            match self.peek()? {
                b',' => self.at += 1,
                b'}' => {
                    self.at += 1;
                    return Some(());
                }
                _ => return None,
            }
        }
    }

    /// Steps over any value serde_json would ignore without complaint.
    pub(crate) fn skip_value(&mut self) -> Option<()> {
        self.skip_nested(0)
    }

    fn skip_nested(&mut self, depth: u32) -> Option<()> {
        if depth > MAX_DEPTH {
            return None;
        }
        match self.peek()? {
            b'"' => self.raw_string().filter(|s| s.is_ascii()).map(drop),
            b'{' => self.object(|s, _| s.skip_nested(depth + 1)),
            b'[' => {
                self.at += 1;
                if self.peek()? == b']' {
                    self.at += 1;
                    return Some(());
                }
                loop {
                    self.skip_nested(depth + 1)?;
                    match self.peek()? {
                        b',' => self.at += 1,
                        b']' => {
                            self.at += 1;
                            return Some(());
                        }
                        _ => return None,
                    }
                }
            }
            b't' | b'f' | b'n' => {
                let rest = &self.bytes[self.at..];
                let word = [&b"true"[..], b"false", b"null"]
                    .into_iter()
                    .find(|w| rest.starts_with(w))?;
                self.at += word.len();
                Some(())
            }
            _ => self.number().map(drop),
        }
    }
}

/// Whether a word of 8 bytes may hold a quote, a backslash or a control character (no false
/// negatives; a false positive only costs a byte-by-byte look).
fn may_end_string(word: u64) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let has_zero = |x: u64| x.wrapping_sub(ONES) & !x & HIGH;
    let quote = has_zero(word ^ (ONES * u64::from(b'"')));
    let backslash = has_zero(word ^ (ONES * u64::from(b'\\')));
    let control = word.wrapping_sub(ONES * 0x20) & !word & HIGH;
    quote | backslash | control != 0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn number(text: &str) -> Option<f64> {
        let mut s = Scan::new(text.as_bytes());
        let v = s.number()?;
        s.at_end().then_some(v)
    }

    #[test]
    fn numbers_follow_json_grammar_and_agree_with_serde_json() {
        for text in [
            "0",
            "-0",
            "1",
            "464.4323",
            "1e3",
            "1E+3",
            "2.5e-7",
            "123456789012345678901234567890",
            "0.1",
            "17.976931348623157e307",
        ] {
            let serde: f64 = serde_json::from_str(text).expect(text);
            assert_eq!(number(text), Some(serde), "{text}");
        }
        for text in [
            "", "-", "01", "1.", ".5", "+1", "1e", "1e+", "NaN", "inf", "0x10", "1e400", "--1",
        ] {
            assert_eq!(number(text), None, "{text}");
        }
    }

    #[test]
    fn strings_with_escapes_or_control_characters_are_left_to_serde() {
        assert_eq!(Scan::new(br#""plain""#).string(), Some("plain"));
        assert_eq!(
            Scan::new("\"h\u{e9}\"".as_bytes()).string(),
            Some("h\u{e9}")
        );
        assert_eq!(Scan::new(br#""a\"b""#).string(), None);
        assert_eq!(Scan::new(b"\"a\tb\"").string(), None);
        assert_eq!(Scan::new(b"\"open").string(), None);
        assert_eq!(Scan::new(b"\"\xff\"").string(), None);
        // Every position of the first special byte, in and across 8-byte words.
        for len in 0..40 {
            let plain = "x\u{e9}".repeat(len / 3) + &"x".repeat(len % 3);
            let quoted = format!("\"{plain}\"tail");
            assert_eq!(Scan::new(quoted.as_bytes()).string(), Some(plain.as_str()));
            for special in ["\\n", "\u{1}", "\u{1f}"] {
                let text = format!("\"{plain}{special}{plain}\"");
                assert_eq!(Scan::new(text.as_bytes()).string(), None, "{text:?}");
            }
        }
    }

    #[test]
    fn skipping_covers_every_json_value_and_refuses_bad_ones() {
        let ok = r#"{"a":[1,{"b":null},[true,false]],"c":"x","d":{},"e":[]}"#;
        let mut s = Scan::new(ok.as_bytes());
        assert_eq!(s.skip_value(), Some(()));
        assert!(s.at_end());
        for bad in [
            r#"{"a":1,}"#,
            r#"[1,]"#,
            r#"{"a" 1}"#,
            "tru",
            r#"{"a":nul}"#,
            r#"["é"]"#,
        ] {
            let mut s = Scan::new(bad.as_bytes());
            assert!(s.skip_value().is_none() || !s.at_end(), "{bad}");
        }
        let deep = format!("{}{}", "[".repeat(40), "]".repeat(40));
        assert_eq!(Scan::new(deep.as_bytes()).skip_value(), None);
    }
}
