//! A minimal HTTP/1.1 server on 127.0.0.1 for the tests that stand in for GitHub's REST API:
//! keep-alive connections, one thread each, `Content-Length` or chunked request bodies. What
//! each request gets is up to the test's handler; [`serve_trickling`] answers with a body that
//! comes one byte at a time. The fakes of GitHub's and GitLab's APIs built on it share the
//! record of a request ([`Request`]) and the answers they can be told to give instead ([`Fault`]).
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

/// A request as the handler sees it; header names are lower-cased.
pub struct Incoming {
    pub method: String,
    pub target: String,
    pub headers: BTreeMap<String, String>,
    pub body: String,
}

/// Status, extra headers and a JSON body.
pub type Answer = (u16, Vec<(String, String)>, String);

/// A request as a fake recorded it.
#[derive(Clone, Debug)]
pub struct Request {
    pub method: String,
    pub target: String,
    /// Whether it carried the fake's token.
    pub authorized: bool,
    pub headers: BTreeMap<String, String>,
    pub body: String,
}

/// An answer a fake gives instead of the normal one, `times` times, to requests of `method` whose
/// target contains `path`. `{secret}` in `body` is replaced by the request's credential header
/// (GitHub's `Authorization`, GitLab's `PRIVATE-TOKEN`), as a careless proxy might echo it.
pub struct Fault {
    pub method: &'static str,
    pub path: &'static str,
    pub status: u16,
    pub headers: Vec<(&'static str, String)>,
    pub body: String,
    /// Apply the request (e.g. create the comment) and then answer with the fault.
    pub landed: bool,
    pub times: usize,
}

impl Fault {
    /// `status` with `body`, the request not applied, the next `times` times.
    pub fn new(
        method: &'static str,
        path: &'static str,
        status: u16,
        body: &str,
        times: usize,
    ) -> Fault {
        Fault {
            method,
            path,
            status,
            headers: Vec::new(),
            body: body.to_owned(),
            landed: false,
            times,
        }
    }
}

/// The first of `faults` that answers `request` (counting it down), as the answer and whether the
/// request is to be applied all the same; `secret` is the request's credential header.
pub fn next_fault(
    faults: &mut [Fault],
    request: &Incoming,
    secret: &str,
) -> Option<(Answer, bool)> {
    let f = faults
        .iter_mut()
        .find(|f| f.times > 0 && f.method == request.method && request.target.contains(f.path))?;
    f.times -= 1;
    let headers = f
        .headers
        .iter()
        .map(|(k, v)| ((*k).to_owned(), v.clone()))
        .collect();
    Some((
        (f.status, headers, f.body.replace("{secret}", secret)),
        f.landed,
    ))
}

/// Listens on a free 127.0.0.1 port and answers every request with `handler(base, request)`,
/// `base` being the server's own `http://127.0.0.1:<port>`. Returns that base.
pub fn serve<H>(handler: H) -> String
where
    H: Fn(&str, &Incoming) -> Answer + Send + Sync + 'static,
{
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1");
    let base = format!("http://{}", listener.local_addr().expect("local address"));
    let handler = Arc::new(handler);
    let b = base.clone();
    thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { continue };
            let (handler, b) = (handler.clone(), b.clone());
            thread::spawn(move || connection(stream, &b, &*handler));
        }
    });
    base
}

fn connection(stream: TcpStream, base: &str, handler: &dyn Fn(&str, &Incoming) -> Answer) {
    let mut reader = BufReader::new(stream.try_clone().expect("clone the stream"));
    let mut writer = stream;
    while let Some(request) = read_request(&mut reader) {
        let (status, extra, text) = handler(base, &request);
        let head = head(status, &extra, text.len());
        if writer.write_all(head.as_bytes()).is_err() || writer.write_all(text.as_bytes()).is_err()
        {
            return;
        }
    }
}

/// Listens on a free 127.0.0.1 port and answers every request with a 200 whose headers come at
/// once and whose `body` follows one byte every `every` (a second, as a stalled proxy or server
/// may send it); every byte resets a per-read timeout. Returns the server's `http://127.0.0.1:<port>`.
pub fn serve_trickling(body: &str, every: Duration) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1");
    let base = format!("http://{}", listener.local_addr().expect("local address"));
    let body = body.to_owned();
    thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { continue };
            let body = body.clone();
            thread::spawn(move || {
                let mut reader = BufReader::new(stream.try_clone().expect("clone the stream"));
                let mut writer = stream;
                if read_request(&mut reader).is_none() {
                    return;
                }
                // One answer per connection, and the client is told so: a pooled connection
                // reused for the next query would find it closed.
                let close = [("connection".to_string(), "close".to_string())];
                let head = head(200, &close, body.len());
                if writer.write_all(head.as_bytes()).is_err() {
                    return;
                }
                for byte in body.as_bytes() {
                    thread::sleep(every);
                    // The client gave up and closed the connection: stop.
                    if writer
                        .write_all(&[*byte])
                        .and_then(|()| writer.flush())
                        .is_err()
                    {
                        return;
                    }
                }
            });
        }
    });
    base
}

/// The next request on a connection, or None when it closed.
fn read_request(reader: &mut BufReader<TcpStream>) -> Option<Incoming> {
    let mut line = String::new();
    if reader.read_line(&mut line).unwrap_or(0) == 0 {
        return None;
    }
    let mut parts = line.split_whitespace();
    let (method, target) = (parts.next()?.to_owned(), parts.next()?.to_owned());
    let mut headers = BTreeMap::new();
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h).unwrap_or(0) == 0 {
            return None;
        }
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_owned());
        }
    }
    let body = read_body(reader, &headers);
    Some(Incoming {
        method,
        target,
        headers,
        body,
    })
}

fn head(status: u16, extra: &[(String, String)], len: usize) -> String {
    let mut head = format!(
        "HTTP/1.1 {status} {}\r\ncontent-type: application/json; charset=utf-8\r\ncontent-length: {len}\r\n",
        reason(status),
    );
    for (k, v) in extra {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    head
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        201 => "Created",
        204 => "No Content",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        429 => "Too Many Requests",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        _ => "Status",
    }
}

fn read_body(reader: &mut BufReader<TcpStream>, headers: &BTreeMap<String, String>) -> String {
    let mut bytes = Vec::new();
    if headers
        .get("transfer-encoding")
        .is_some_and(|v| v.contains("chunked"))
    {
        loop {
            let mut size = String::new();
            reader.read_line(&mut size).expect("read a chunk size");
            let n = usize::from_str_radix(size.trim(), 16).expect("chunk size in hex");
            let mut chunk = vec![0; n + 2];
            reader.read_exact(&mut chunk).expect("read the body");
            if n == 0 {
                break;
            }
            bytes.extend_from_slice(&chunk[..n]);
        }
    } else if let Some(n) = headers.get("content-length") {
        let mut buf = vec![0; n.parse().expect("content-length")];
        reader.read_exact(&mut buf).expect("read the body");
        bytes = buf;
    }
    String::from_utf8(bytes).expect("utf-8 body")
}
