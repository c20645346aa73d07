//! A small fault-injecting HTTP proxy between CloudKestrel and moto, on 127.0.0.1.
//!
//! Every request is forwarded to moto as it came; the answers of the operations named in
//! the proxy's rules are changed on the way back (cut in half, emptied, a field
//! removed) or made up entirely (for what moto does not implement). So a test sees the
//! real SDK, the real wire format and the real collector read a malformed answer.
//!
//! Blocking threads, one per connection, each connection carrying one exchange
//! (`Connection: close` both ways): simple, and more than fast enough for tests.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

/// What to do to the answers of one operation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// A 200 with the first half of the body (cut at a character boundary), its
    /// Content-Length set to match: a complete-looking exchange of half a document.
    Truncate,
    /// A 200 with an empty body.
    Empty,
    /// The first element (XML) or key (JSON, depth first) of this name removed.
    Remove(String),
    /// This answer instead of moto's (moto's is not asked for).
    Answer { status: u16, body: String },
    /// An AWS error answer of the operation's protocol: `status` and `code`.
    Error { status: u16, code: &'static str },
    /// The connection closed without an answer.
    Reset,
}

/// One rule: `operation` as `service:Operation` (`s3:ListBuckets`, `config:PutConfigRule`).
#[derive(Debug, Clone)]
pub struct Rule {
    pub operation: String,
    pub fault: Fault,
    /// Only requests whose body holds this (e.g. one role's account id).
    pub body_contains: Option<String>,
}

impl Rule {
    pub fn new(operation: &str, fault: Fault) -> Rule {
        Rule {
            operation: operation.to_string(),
            fault,
            body_contains: None,
        }
    }

    /// The rule for requests whose body holds `text` only.
    pub fn when_body_contains(mut self, text: &str) -> Rule {
        self.body_contains = Some(text.to_string());
        self
    }

    fn matches(&self, op: &str, body: &[u8]) -> bool {
        self.operation == op
            && self
                .body_contains
                .as_deref()
                .is_none_or(|t| String::from_utf8_lossy(body).contains(t))
    }
}

/// A running proxy. Dropping it leaves the listener thread parked on accept, which
/// ends with the test process.
pub struct FaultProxy {
    pub url: String,
    /// Answers changed so far, per rule (by index).
    applied: Arc<Vec<AtomicUsize>>,
    /// Every operation seen, in order.
    seen: Arc<Mutex<Vec<String>>>,
}

impl FaultProxy {
    /// Starts a proxy in front of `upstream` (`http://127.0.0.1:PORT`).
    pub fn start(upstream: &str, rules: Vec<Rule>) -> FaultProxy {
        let upstream = upstream
            .strip_prefix("http://")
            .expect("an http:// upstream")
            .trim_end_matches('/')
            .to_string();
        let listener = TcpListener::bind("127.0.0.1:0").expect("a loopback port");
        let url = format!("http://{}", listener.local_addr().unwrap());
        let applied: Arc<Vec<AtomicUsize>> =
            Arc::new(rules.iter().map(|_| AtomicUsize::new(0)).collect());
        let seen = Arc::new(Mutex::new(Vec::new()));
        let rules = Arc::new(rules);
        {
            let (applied, seen) = (applied.clone(), seen.clone());
            std::thread::spawn(move || {
                for conn in listener.incoming() {
                    let Ok(conn) = conn else { continue };
                    let (rules, applied, seen, upstream) = (
                        rules.clone(),
                        applied.clone(),
                        seen.clone(),
                        upstream.clone(),
                    );
                    std::thread::spawn(move || {
                        let _ = exchange(conn, &upstream, &rules, &applied, &seen);
                    });
                }
            });
        }
        FaultProxy { url, applied, seen }
    }

    /// How many answers rule `i` changed.
    pub fn applied(&self, i: usize) -> usize {
        self.applied[i].load(Ordering::SeqCst)
    }

    /// The operations seen so far.
    pub fn seen(&self) -> Vec<String> {
        self.seen.lock().unwrap().clone()
    }
}

struct Message {
    head: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Message {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn write_to(&self, w: &mut impl Write) -> std::io::Result<()> {
        let mut out = format!("{}\r\n", self.head);
        for (k, v) in &self.headers {
            let k_lower = k.to_ascii_lowercase();
            if !matches!(
                k_lower.as_str(),
                "content-length" | "transfer-encoding" | "connection" | "keep-alive"
            ) {
                out.push_str(&format!("{k}: {v}\r\n"));
            }
        }
        out.push_str(&format!(
            "Content-Length: {}\r\nConnection: close\r\n\r\n",
            self.body.len()
        ));
        w.write_all(out.as_bytes())?;
        w.write_all(&self.body)?;
        w.flush()
    }
}

/// Reads one HTTP/1.1 message: head, headers, and a body by Content-Length, chunked
/// encoding, or (a response of a closing connection) up to the end.
fn read_message(r: &mut BufReader<TcpStream>, is_response: bool) -> std::io::Result<Message> {
    let mut head = String::new();
    r.read_line(&mut head)?;
    let head = head.trim_end().to_string();
    if head.is_empty() {
        return Err(std::io::Error::other("connection closed"));
    }
    let mut headers = Vec::new();
    loop {
        let mut line = String::new();
        r.read_line(&mut line)?;
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some((k, v)) = line.split_once(':') {
            headers.push((k.trim().to_string(), v.trim().to_string()));
        }
    }
    let mut m = Message {
        head,
        headers,
        body: Vec::new(),
    };
    if let Some(n) = m
        .header("content-length")
        .and_then(|v| v.parse::<usize>().ok())
    {
        m.body = vec![0; n];
        r.read_exact(&mut m.body)?;
    } else if m
        .header("transfer-encoding")
        .is_some_and(|v| v.eq_ignore_ascii_case("chunked"))
    {
        loop {
            let mut size = String::new();
            r.read_line(&mut size)?;
            let n = usize::from_str_radix(size.trim().split(';').next().unwrap_or("0"), 16)
                .map_err(std::io::Error::other)?;
            let mut chunk = vec![0; n + 2];
            r.read_exact(&mut chunk)?;
            if n == 0 {
                break;
            }
            m.body.extend_from_slice(&chunk[..n]);
        }
    } else if is_response {
        r.read_to_end(&mut m.body)?;
    }
    Ok(m)
}

/// `service:Operation` of a request, from how each protocol names it.
fn operation_of(req: &Message) -> String {
    let scope_service = req
        .header("authorization")
        .and_then(|a| a.split("Credential=").nth(1))
        .and_then(|c| c.split('/').nth(3))
        .unwrap_or("unknown")
        .to_string();
    if let Some(target) = req.header("x-amz-target") {
        let op = target.rsplit('.').next().unwrap_or(target);
        return format!("{scope_service}:{op}");
    }
    let body = String::from_utf8_lossy(&req.body);
    if let Some(action) = body.split('&').find_map(|kv| kv.strip_prefix("Action=")) {
        return format!("{scope_service}:{action}");
    }
    // restXml: S3 and S3 Control, path-style.
    let mut parts = req.head.split(' ');
    let method = parts.next().unwrap_or("");
    let target = parts.next().unwrap_or("");
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    if path.starts_with("/v20180820/configuration/publicAccessBlock") {
        return format!("s3control:{}PublicAccessBlock", verb(method));
    }
    let keys: Vec<&str> = query
        .split('&')
        .map(|kv| kv.split('=').next().unwrap_or(""))
        .collect();
    let sub = [
        ("acl", "BucketAcl"),
        ("policy", "BucketPolicy"),
        ("publicAccessBlock", "PublicAccessBlock"),
        ("ownershipControls", "BucketOwnershipControls"),
        ("location", "BucketLocation"),
    ]
    .into_iter()
    .find(|(k, _)| keys.contains(k));
    match (path, sub) {
        ("/", _) if method == "GET" => "s3:ListBuckets".into(),
        (_, Some((_, what))) => format!("s3:{}{what}", verb(method)),
        _ => format!("s3:{method} {path}"),
    }
}

fn verb(method: &str) -> &'static str {
    match method {
        "PUT" => "Put",
        "DELETE" => "Delete",
        _ => "Get",
    }
}

fn exchange(
    client: TcpStream,
    upstream: &str,
    rules: &[Rule],
    applied: &[AtomicUsize],
    seen: &Mutex<Vec<String>>,
) -> std::io::Result<()> {
    let mut reader = BufReader::new(client.try_clone()?);
    let req = read_message(&mut reader, false)?;
    let op = operation_of(&req);
    seen.lock().unwrap().push(op.clone());
    let matching: Vec<usize> = (0..rules.len())
        .filter(|&i| rules[i].matches(&op, &req.body))
        .collect();
    let answer = matching.iter().find_map(|&i| match &rules[i].fault {
        Fault::Answer { status, body } => Some((status, body)),
        _ => None,
    });
    if matching.iter().any(|&i| rules[i].fault == Fault::Reset) {
        for &i in &matching {
            applied[i].fetch_add(1, Ordering::SeqCst);
        }
        return Ok(());
    }
    let error = matching.iter().find_map(|&i| match &rules[i].fault {
        Fault::Error { status, code } => Some((*status, *code)),
        _ => None,
    });
    let mut resp = match (answer, error) {
        (_, Some((status, code))) => error_answer(&op, status, code),
        (Some((status, body)), None) => Message {
            head: format!(
                "HTTP/1.1 {status} {}",
                if *status < 300 { "OK" } else { "Error" }
            ),
            headers: vec![(
                "Content-Type".into(),
                if body.starts_with('<') {
                    "text/xml"
                } else {
                    "application/x-amz-json-1.1"
                }
                .into(),
            )],
            body: body.clone().into_bytes(),
        },
        (None, None) => forward(&req, upstream)?,
    };
    // A made-up answer first, then the faults on it, in rule order.
    for &i in &matching {
        if change(&mut resp, &rules[i].fault) {
            applied[i].fetch_add(1, Ordering::SeqCst);
        }
    }
    let mut client = client;
    resp.write_to(&mut client)
}

/// An error answer as each protocol writes one.
fn error_answer(op: &str, status: u16, code: &str) -> Message {
    let message = format!("{code} injected by the test proxy");
    let (content_type, body) = match op.split(':').next().unwrap_or_default() {
        "config" | "organizations" => (
            "application/x-amz-json-1.1",
            format!(r#"{{"__type": "{code}", "message": "{message}"}}"#),
        ),
        // S3 Control wraps its errors like the query protocol does.
        "iam" | "sts" | "s3control" => (
            "text/xml",
            format!("<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code><Message>{message}</Message></Error><RequestId>test</RequestId></ErrorResponse>"),
        ),
        _ => (
            "application/xml",
            format!("<Error><Code>{code}</Code><Message>{message}</Message><RequestId>test</RequestId></Error>"),
        ),
    };
    Message {
        head: format!("HTTP/1.1 {status} Error"),
        headers: vec![("Content-Type".into(), content_type.into())],
        body: body.into_bytes(),
    }
}

fn forward(req: &Message, upstream: &str) -> std::io::Result<Message> {
    let mut up = TcpStream::connect(upstream)?;
    req.write_to(&mut up)?;
    read_message(&mut BufReader::new(up), true)
}

/// Applies a fault to an answer; whether it changed anything.
fn change(resp: &mut Message, fault: &Fault) -> bool {
    match fault {
        Fault::Answer { .. } | Fault::Error { .. } | Fault::Reset => true,
        Fault::Empty => {
            resp.head = "HTTP/1.1 200 OK".into();
            resp.body.clear();
            true
        }
        Fault::Truncate => {
            if resp.body.len() < 2 {
                return false;
            }
            let text = String::from_utf8_lossy(&resp.body).into_owned();
            let mut cut = text.len() / 2;
            while !text.is_char_boundary(cut) {
                cut -= 1;
            }
            resp.body = text.as_bytes()[..cut].to_vec();
            resp.head = "HTTP/1.1 200 OK".into();
            true
        }
        Fault::Remove(name) => {
            let text = String::from_utf8_lossy(&resp.body).into_owned();
            let changed = if text.trim_start().starts_with('<') {
                remove_xml_element(&text, name)
            } else {
                remove_json_key(&text, name)
            };
            match changed {
                Some(t) => {
                    resp.body = t.into_bytes();
                    true
                }
                None => false,
            }
        }
    }
}

/// The text without its first `<name>…</name>` or `<name/>` element (an element of
/// that name inside it included).
fn remove_xml_element(text: &str, name: &str) -> Option<String> {
    let open = format!("<{name}>");
    let open_attrs = format!("<{name} ");
    let empty = format!("<{name}/>");
    let start = [&open, &open_attrs, &empty]
        .iter()
        .filter_map(|p| text.find(p.as_str()))
        .min()?;
    let rest = &text[start..];
    if rest.starts_with(&empty) {
        return Some(format!("{}{}", &text[..start], &rest[empty.len()..]));
    }
    let close = format!("</{name}>");
    let end = rest.find(&close)? + close.len();
    Some(format!("{}{}", &text[..start], &rest[end..]))
}

/// The JSON text without its first key `name` (depth first).
fn remove_json_key(text: &str, name: &str) -> Option<String> {
    fn remove(v: &mut serde_json::Value, name: &str) -> bool {
        match v {
            serde_json::Value::Object(m) => {
                if m.shift_remove(name).is_some() {
                    return true;
                }
                m.values_mut().any(|x| remove(x, name))
            }
            serde_json::Value::Array(a) => a.iter_mut().any(|x| remove(x, name)),
            _ => false,
        }
    }
    let mut v: serde_json::Value = serde_json::from_str(text).ok()?;
    remove(&mut v, name).then(|| v.to_string())
}
