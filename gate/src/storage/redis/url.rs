//! Redis URLs in messages: every secret hidden, what locates the server kept.

/// Query parameters whose values locate the server rather than open it.
const SHOWN_PARAMETERS: [&str; 3] = ["db", "protocol", "user"];

/// `url` with every secret it may hold replaced by `***`, for errors, logs
/// and `Debug`: the password of the user part (and a lone user part, which
/// may be a password put in the wrong place), the value of every query
/// parameter but `db`, `protocol` and `user` (so `?pass=` of a unix socket
/// and `?password=`), and a fragment other than `#insecure`. The URL is
/// parsed as the redis client parses it; one that does not parse is not
/// shown at all (its secret could be anywhere), only its scheme.
///
/// # Examples
///
/// ```
/// use gate::storage::redact_url;
///
/// assert_eq!(redact_url("redis://alice:pw@host:6379/0"), "redis://alice:***@host:6379/0");
/// assert_eq!(redact_url("redis://:pw@host/1"), "redis://:***@host/1");
/// assert_eq!(
///     redact_url("redis+unix:///tmp/redis.sock?db=2&pass=pw"),
///     "redis+unix:///tmp/redis.sock?db=2&pass=***"
/// );
/// assert_eq!(redact_url("redis://:p/w@host"), "redis://<a URL that does not parse>");
/// ```
pub fn redact_url(url: &str) -> String {
    let Ok(mut parsed) = url::Url::parse(url) else {
        // The scheme alone, when it looks like one, says what was meant.
        return match url.split_once("://") {
            Some((scheme, _))
                if scheme
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "+.-".contains(c)) =>
            {
                format!("{scheme}://<a URL that does not parse>")
            }
            _ => "<a URL that does not parse>".to_owned(),
        };
    };
    if parsed.password().is_some() {
        let _ = parsed.set_password(Some("***"));
    } else if !parsed.username().is_empty() {
        let _ = parsed.set_username("***");
    }
    if let Some(query) = parsed.query() {
        let shown = query
            .split('&')
            .map(|part| match part.split_once('=') {
                Some((key, _)) if SHOWN_PARAMETERS.contains(&decoded(key).as_str()) => {
                    part.to_owned()
                }
                Some((key, _)) => format!("{key}=***"),
                None if part.is_empty() => String::new(),
                None => "***".to_owned(),
            })
            .collect::<Vec<_>>()
            .join("&");
        parsed.set_query(Some(&shown));
    }
    match parsed.fragment() {
        None | Some("insecure") => {}
        Some(_) => parsed.set_fragment(Some("***")),
    }
    parsed.into()
}

/// A query key as the client reads it (`%70ass` is `pass`).
fn decoded(key: &str) -> String {
    url::form_urlencoded::parse(key.as_bytes())
        .next()
        .map(|(key, _)| key.into_owned())
        .unwrap_or_default()
}
