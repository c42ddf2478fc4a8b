//! What a page on another site can make a logged-in browser do, and what a
//! script injected into the café's own page can reach. The lab sends the
//! requests a browser would send, with the headers a browser adds.

use attack_lab::{
    ATTACKER_ORIGIN, Attack, Call, CrossSite, Family, Lab, LabResult, Mechanism, Outcome, Reply,
    Targets, judge, judge_all,
};
use serde_json::json;

const FAMILY: Family = Family::Browser;

/// The browser attacks.
pub const ATTACKS: &[Attack] = &[
    Attack {
        name: "csrf-form-post",
        family: FAMILY,
        attempt: "another site's auto-submitting form posts an order with the victim's cookies",
        defence: "403 or 415: cross-site writes are refused, and an HTML form cannot send JSON",
        source: "ASVS 5.0 3.5.1; OWASP CSRF Prevention Cheat Sheet",
        targets: Targets::Every,
        run: |lab| Box::pin(csrf_form_post(lab)),
    },
    Attack {
        name: "csrf-fetch-json",
        family: FAMILY,
        attempt: "another site's script posts a JSON order with `credentials: include`: first \
            as `text/plain` (a `no-cors` fetch or a text/plain form, which no preflight stops), \
            then as `application/json`",
        defence: "the text/plain body is refused (415, or 403); the JSON one the browser asks \
            about first (a CORS preflight) and sends nothing, since no other site is granted \
            CORS; in depth, 403: Sec-Fetch-Site and Origin say cross-site",
        source: "Fetch Standard, \"CORS-preflight fetch\"; ASVS 5.0 3.5.1, 3.5.2, 3.5.3; OWASP \
            CSRF Prevention Cheat Sheet (Fetch Metadata)",
        targets: Targets::Every,
        run: |lab| Box::pin(csrf_fetch_json(lab)),
    },
    Attack {
        name: "csrf-login",
        family: FAMILY,
        attempt: "another site logs the victim into the attacker's account (login CSRF): \
            first as `text/plain` (no preflight), then as `application/json`",
        defence: "the text/plain body is refused (415, or 403); the JSON one the browser asks \
            about first (a CORS preflight) and sends nothing, since no other site is granted \
            CORS; in depth, 403: logging in is a write like any other",
        source: "Fetch Standard, \"CORS-preflight fetch\"; ASVS 5.0 3.5.2; OWASP CSRF \
            Prevention Cheat Sheet (login CSRF)",
        // Only a login that sets a cookie puts the victim's browser in the
        // attacker's account; a token server's tokens land in the
        // attacker's own script.
        targets: Targets::Cookies,
        run: |lab| Box::pin(csrf_login(lab)),
    },
    Attack {
        name: "csrf-refresh",
        family: FAMILY,
        attempt: "another site posts to /refresh, hoping the refresh cookie goes along",
        defence: "403; and SameSite=Strict keeps the cookie home in the first place",
        source: "ASVS 5.0 3.3.2, 3.5.1",
        targets: Targets::Hybrid,
        run: |lab| Box::pin(csrf_refresh(lab)),
    },
    Attack {
        name: "cors-credentialed-read",
        family: FAMILY,
        attempt: "another site's script reads /me with the victim's credentials",
        defence: "no Access-Control-Allow-Origin for foreign origins: the browser hides the answer",
        source: "ASVS 5.0 3.4.2; OWASP HTML5 Security Cheat Sheet (CORS)",
        targets: Targets::Every,
        run: |lab| Box::pin(cors_credentialed_read(lab)),
    },
    Attack {
        name: "xss-reads-credential",
        family: FAMILY,
        attempt: "a script injected into the café's page reads the login's credential",
        defence: "nothing to read where the credential is an HttpOnly cookie; a token in the page \
            is readable",
        source: "ASVS 5.0 3.3.4; OWASP HTML5 Security Cheat Sheet (local storage)",
        targets: Targets::Every,
        run: |lab| Box::pin(xss_reads_credential(lab)),
    },
    Attack {
        name: "xss-session-riding",
        family: FAMILY,
        attempt: "a script injected into the café's page orders coffee as the victim",
        defence: "none at this layer, in any mode: the Content Security Policy keeps the script \
            out",
        source: "OWASP Cross Site Scripting Prevention Cheat Sheet",
        targets: Targets::Every,
        run: |lab| Box::pin(xss_session_riding(lab)),
    },
    Attack {
        name: "xss-inline-script",
        family: FAMILY,
        attempt: "an inline `<script>` injected into the café's page",
        defence: "the page's Content Security Policy allows only the café's own script file",
        source: "ASVS 5.0 3.4.3; OWASP Content Security Policy Cheat Sheet",
        targets: Targets::Every,
        run: |lab| Box::pin(xss_inline_script(lab)),
    },
    Attack {
        name: "clickjacking",
        family: FAMILY,
        attempt: "the café's page framed invisibly on another site",
        defence: "CSP frame-ancestors 'none'",
        source: "ASVS 5.0 3.4.6",
        targets: Targets::Every,
        run: |lab| Box::pin(clickjacking(lab)),
    },
    Attack {
        name: "cached-credentialed-response",
        family: FAMILY,
        attempt: "a shared cache keeps /me and shows it to the next user",
        defence: "Cache-Control: no-store on every API answer",
        source: "ASVS 5.0 14.3.2; OWASP Session Management Cheat Sheet (web content caching)",
        targets: Targets::Every,
        run: |lab| Box::pin(cached_credentialed_response(lab)),
    },
    Attack {
        name: "credential-replayed-elsewhere",
        family: FAMILY,
        attempt: "a stolen credential used from another machine and browser",
        defence: "none in any mode: a bearer credential works for whoever holds it; short \
            lifetimes and logout limit it",
        source: "RFC 6750 §5.2; RFC 9449 (DPoP) for sender-constrained tokens",
        targets: Targets::Every,
        run: |lab| Box::pin(credential_replayed_elsewhere(lab)),
    },
];

/// What the browser attaches by itself to a request from another site: the
/// session cookie (sessions), nothing otherwise (a token lives in the café's
/// page, and the hybrid's refresh cookie goes to /refresh only).
fn browser_attached(lab: &Lab, credential: &attack_lab::Login, call: Call) -> Call {
    match lab.server().mechanism {
        Mechanism::Sessions => credential.attach(call),
        Mechanism::Jwt | Mechanism::Hybrid => call,
    }
}

async fn csrf_form_post(lab: &Lab) -> LabResult {
    let login = lab.log_in(&lab.member().name).await?;
    let call = Call::post("/orders")
        .body("application/x-www-form-urlencoded", "item=forged+latte")
        .sent_from_another_site();
    let reply = lab.send(browser_attached(lab, &login, call)).await?;
    judge(&reply, &[401, 403, 415], "the forged order was placed")
}

async fn csrf_fetch_json(lab: &Lab) -> LabResult {
    let login = lab.log_in(&lab.member().name).await?;
    let call = Call::post("/orders")
        .json(&json!({ "item": "forged latte" }))
        .sent_from_another_site();
    // With cookies only where the browser has one for this request: the
    // session's. A token server's page holds its token; the attacker then
    // leaves credentials out, and `*` would grant the request.
    let credentialed = lab.server().mechanism == Mechanism::Sessions;
    let call = browser_attached(lab, &login, call);
    cross_site_json(
        lab,
        call,
        credentialed,
        &[401, 403],
        "the forged order was placed",
    )
    .await
}

async fn csrf_login(lab: &Lab) -> LabResult {
    let alice = lab.member();
    let call = lab
        .login_call(&alice.name, &alice.password)
        .sent_from_another_site();
    // Only servers whose login sets a cookie (the session's, the hybrid's
    // refresh cookie) are targets, and the browser keeps that cookie only
    // from a request with credentials.
    cross_site_json(lab, call, true, &[403], "a cross-site login went through").await
}

/// How the verdict starts when the server takes a JSON body sent as
/// `text/plain`: a request no preflight stops.
pub const NO_PREFLIGHT: &str = "a browser sends this without asking";

/// `call` (a JSON body) as a browser sends it with no preflight: the same
/// body as `text/plain;charset=UTF-8`, a CORS-safelisted type (a `no-cors`
/// fetch sends it so, and so can a form with `enctype="text/plain"`).
fn as_text_plain(call: &Call) -> Call {
    let mut plain = Call::new(call.method.clone(), &call.path);
    for (name, value) in &call.headers {
        if name.eq_ignore_ascii_case("content-type") {
            plain = plain.header(name, "text/plain;charset=UTF-8");
        } else {
            plain = plain.header(name, value);
        }
    }
    plain
        .header("sec-fetch-mode", "no-cors")
        .raw_body(call.body.clone().unwrap_or_default())
}

/// How the refusal of a cross-site JSON write starts when the server
/// would have taken it: only the browser's CORS preflight stops it.
pub const ONLY_THE_BROWSER: &str = "a browser never sends it";

/// A JSON `call` from another site's script, judged as a browser runs it.
/// First the same body as `text/plain`, which a browser sends with no
/// preflight: taken (2xx), the attack is accepted. Refused, the JSON
/// request decides: `Content-Type: application/json` is not a CORS-safelisted request
/// header, so the browser first sends a preflight (Fetch Standard,
/// "CORS-preflight fetch") and sends `call` only if the answer grants the
/// attacker's origin. The lab sends `call` all the same, to show whether
/// the server refuses it itself too (its Origin or Sec-Fetch-Site check:
/// defence in depth, for the day CORS is opened to some origin).
async fn cross_site_json(
    lab: &Lab,
    call: Call,
    credentialed: bool,
    refusals: &[u16],
    accepted: &str,
) -> LabResult {
    // First what needs no preflight (ASVS 5.0 3.5.2): a server that parses
    // JSON whatever the Content-Type takes it, and the browser sends it
    // (with its cookies, SameSite permitting) without asking anyone.
    let plain = lab.send(as_text_plain(&call)).await?;
    if (200..300).contains(&plain.status) {
        return Ok(Outcome::Accepted(format!(
            "{NO_PREFLIGHT}: the server parses JSON whatever the Content-Type \
             ({accepted} as text/plain: {})",
            plain.status
        )));
    }
    let preflight = Call::new(cafe_client::Method::OPTIONS, &call.path)
        .header("origin", ATTACKER_ORIGIN)
        .header("access-control-request-method", call.method.as_str())
        .header("access-control-request-headers", "content-type");
    let preflight = lab.send(preflight).await?;
    let grant = preflight_grant(&preflight, call.method.as_str(), credentialed);
    let reply = lab.send(call).await?;
    let Err(no_grant) = grant else {
        return judge(&reply, refusals, accepted);
    };
    if refusals.contains(&reply.status) {
        Ok(Outcome::Refused(format!(
            "the preflight grants no CORS ({no_grant}), and the server refuses it itself: {}",
            reply.summary()
        )))
    } else if (200..300).contains(&reply.status) {
        Ok(Outcome::Refused(format!(
            "{ONLY_THE_BROWSER}: the preflight grants no CORS to another site ({no_grant}); \
             sent anyway, the server takes it ({accepted}: {}): the missing CORS grant is its \
             only defence",
            reply.status
        )))
    } else {
        judge(&reply, refusals, accepted)
    }
}

/// Whether the preflight's answer lets the browser send a `method` request
/// with a `Content-Type` header from the attacker's page, as the Fetch
/// Standard checks it ("CORS check", then "CORS-preflight fetch"): the
/// attacker's origin allowed (with credentials: exactly, and
/// `Access-Control-Allow-Credentials: true`; without, `*` will do), an ok
/// status, the method (a CORS-safelisted one needs no listing) and the
/// header allowed. `Err` says what is missing.
fn preflight_grant(reply: &Reply, method: &str, credentialed: bool) -> Result<(), String> {
    let combined = |name: &str| {
        let values: Vec<&str> = reply
            .headers
            .get_all(name)
            .iter()
            .filter_map(|value| value.to_str().ok())
            .collect();
        (!values.is_empty()).then(|| values.join(", "))
    };
    let listed = |name: &str| -> Vec<String> {
        combined(name)
            .unwrap_or_default()
            .split(',')
            .map(|item| item.trim().to_owned())
            .filter(|item| !item.is_empty())
            .collect()
    };
    let status = reply.status;
    match combined("access-control-allow-origin") {
        None => return Err(format!("{status}, no Access-Control-Allow-Origin")),
        Some(origin) if origin == "*" && !credentialed => {}
        Some(origin) if origin == "*" => {
            return Err(format!(
                "{status}, Access-Control-Allow-Origin: *, which no request with cookies may use"
            ));
        }
        Some(origin) if origin != ATTACKER_ORIGIN => {
            return Err(format!("{status}, Access-Control-Allow-Origin: {origin}"));
        }
        Some(_)
            if credentialed
                && combined("access-control-allow-credentials").as_deref() != Some("true") =>
        {
            return Err(format!(
                "{status}, the origin allowed without Access-Control-Allow-Credentials: true"
            ));
        }
        Some(_) => {}
    }
    if !(200..300).contains(&status) {
        return Err(format!("{status}, not an ok status"));
    }
    let methods = listed("access-control-allow-methods");
    let safelisted = ["GET", "HEAD", "POST"].contains(&method);
    let any_method = !credentialed && methods.iter().any(|m| m == "*");
    if !safelisted && !any_method && !methods.iter().any(|m| m == method) {
        return Err(format!(
            "{status}, {method} not in Access-Control-Allow-Methods"
        ));
    }
    let headers = listed("access-control-allow-headers");
    let any_header = !credentialed && headers.iter().any(|h| h == "*");
    if !any_header
        && !headers
            .iter()
            .any(|h| h.eq_ignore_ascii_case("content-type"))
    {
        return Err(format!(
            "{status}, content-type not in Access-Control-Allow-Headers"
        ));
    }
    Ok(())
}

async fn csrf_refresh(lab: &Lab) -> LabResult {
    let login = lab.log_in(&lab.member().name).await?;
    let call = lab
        .refresh_call(login.refresh_token()?)
        .sent_from_another_site();
    judge(
        &lab.send(call).await?,
        &[403],
        "a cross-site refresh went through",
    )
}

async fn cors_credentialed_read(lab: &Lab) -> LabResult {
    let login = lab.log_in(&lab.member().name).await?;
    let preflight = Call::new(cafe_client::Method::OPTIONS, "/me")
        .header("origin", ATTACKER_ORIGIN)
        .header("access-control-request-method", "GET")
        .header("access-control-request-headers", "authorization");
    let preflight = lab.send(preflight).await?;
    let read = login.attach(
        Call::get("/me")
            .header("origin", ATTACKER_ORIGIN)
            .header("sec-fetch-site", "cross-site"),
    );
    let read = lab.send(read).await?;
    let mut verdicts = Vec::new();
    for reply in [&preflight, &read] {
        verdicts.push(match reply.header("access-control-allow-origin") {
            None => Outcome::Refused(format!("{}, no Access-Control-Allow-Origin", reply.status)),
            Some(allowed) => Outcome::Accepted(format!("Access-Control-Allow-Origin: {allowed}")),
        });
    }
    judge_all(verdicts)
}

async fn xss_reads_credential(lab: &Lab) -> LabResult {
    let alice = lab.member();
    let reply = lab
        .send(lab.login_call(&alice.name, &alice.password))
        .await?;
    let fields = &lab.profile().fields;
    let readable: Vec<&str> = [&fields.access_token, &fields.refresh_token]
        .into_iter()
        .map(String::as_str)
        .filter(|member| reply.json_str(member).is_some())
        .collect();
    Ok(if readable.is_empty() {
        Outcome::Refused("200, the credential is only in an HttpOnly cookie".to_owned())
    } else {
        Outcome::Accepted(format!(
            "the login's JSON hands the page's scripts: {}",
            readable.join(", ")
        ))
    })
}

async fn xss_session_riding(lab: &Lab) -> LabResult {
    let login = lab.log_in(&lab.member().name).await?;
    // A script on the café's own page: same origin, and it can attach
    // whatever the page attaches.
    let call = login.attach(
        Call::post("/orders")
            .json(&json!({ "item": "latte ordered by an injected script" }))
            .header("sec-fetch-site", "same-origin"),
    );
    judge(
        &lab.send(call).await?,
        &[401, 403],
        "the injected script placed an order",
    )
}

/// The page's `Content-Security-Policy` directive `name`, if any. A
/// server with no page at `/` (an API alone) has nothing to inject a
/// script into or to frame: the attack is skipped.
async fn page_policy(lab: &Lab, name: &str) -> Result<Option<String>, String> {
    let page = lab.send(Call::get("/")).await?;
    if page.status == 404 {
        return Err(lab.lacks("the server has no page at / (404) to inject into or frame"));
    }
    Ok(page.header("content-security-policy").and_then(|policy| {
        policy
            .split(';')
            .map(str::trim)
            .find(|directive| directive.starts_with(name))
            .map(str::to_owned)
    }))
}

async fn xss_inline_script(lab: &Lab) -> LabResult {
    Ok(match page_policy(lab, "script-src").await? {
        Some(directive) if !directive.contains("'unsafe-inline'") => {
            Outcome::Refused(format!("Content-Security-Policy: {directive}"))
        }
        other => Outcome::Accepted(format!("script-src allows inline scripts: {other:?}")),
    })
}

async fn clickjacking(lab: &Lab) -> LabResult {
    Ok(match page_policy(lab, "frame-ancestors").await? {
        Some(directive) if directive.contains("'none'") => {
            Outcome::Refused(format!("Content-Security-Policy: {directive}"))
        }
        other => Outcome::Accepted(format!("the page may be framed: {other:?}")),
    })
}

async fn cached_credentialed_response(lab: &Lab) -> LabResult {
    let login = lab.log_in(&lab.member().name).await?;
    let reply = lab.send(login.attach(Call::get("/me"))).await?;
    Ok(match reply.header("cache-control") {
        Some(value) if value.contains("no-store") => {
            Outcome::Refused(format!("{}, Cache-Control: {value}", reply.status))
        }
        other => Outcome::Accepted(format!("Cache-Control: {other:?}")),
    })
}

async fn credential_replayed_elsewhere(lab: &Lab) -> LabResult {
    let login = lab.log_in(&lab.member().name).await?;
    let call = login.attach(
        Call::get("/me")
            .header("user-agent", "curl/8.0 (the attacker's machine)")
            .header("x-forwarded-for", "203.0.113.66"),
    );
    judge(
        &lab.send(call).await?,
        &[401],
        "the copied credential worked from elsewhere",
    )
}

#[cfg(test)]
mod tests {
    use super::preflight_grant;
    use attack_lab::{ATTACKER_ORIGIN, Reply};

    fn answer(status: u16, headers: &[(&'static str, &'static str)]) -> Reply {
        let mut map = http::HeaderMap::new();
        for (name, value) in headers {
            map.append(*name, http::HeaderValue::from_static(value));
        }
        Reply {
            status,
            version: "HTTP/1.1".to_owned(),
            headers: map,
            text: String::new(),
            body: serde_json::Value::Null,
        }
    }

    const GRANT: [(&str, &str); 3] = [
        ("access-control-allow-origin", ATTACKER_ORIGIN),
        ("access-control-allow-credentials", "true"),
        ("access-control-allow-headers", "Content-Type"),
    ];

    #[test]
    fn the_exact_origin_with_credentials_and_the_header_is_a_grant() {
        assert_eq!(preflight_grant(&answer(204, &GRANT), "POST", true), Ok(()));
        // POST is CORS-safelisted: no Access-Control-Allow-Methods needed;
        // another method must be listed.
        let put = preflight_grant(&answer(204, &GRANT), "PUT", true).unwrap_err();
        assert!(
            put.contains("PUT not in Access-Control-Allow-Methods"),
            "{put}"
        );
    }

    #[test]
    fn an_answer_without_cors_is_no_grant_whatever_its_status() {
        for status in [200, 204, 404, 405] {
            let no = preflight_grant(&answer(status, &[]), "POST", false).unwrap_err();
            assert_eq!(no, format!("{status}, no Access-Control-Allow-Origin"));
        }
        let not_ok = preflight_grant(&answer(403, &GRANT), "POST", true).unwrap_err();
        assert_eq!(not_ok, "403, not an ok status");
    }

    #[test]
    fn a_wildcard_grants_only_a_request_without_cookies() {
        let wildcard = [
            ("access-control-allow-origin", "*"),
            ("access-control-allow-headers", "*"),
        ];
        assert_eq!(
            preflight_grant(&answer(200, &wildcard), "POST", false),
            Ok(())
        );
        let with_cookies = preflight_grant(&answer(200, &wildcard), "POST", true).unwrap_err();
        assert!(
            with_cookies.contains("no request with cookies"),
            "{with_cookies}"
        );
        // The exact origin, but `*` for headers and no credentials flag.
        let exact = [
            ("access-control-allow-origin", ATTACKER_ORIGIN),
            ("access-control-allow-headers", "*"),
        ];
        let no_flag = preflight_grant(&answer(200, &exact), "POST", true).unwrap_err();
        assert!(
            no_flag.contains("without Access-Control-Allow-Credentials"),
            "{no_flag}"
        );
        let no_header = preflight_grant(&answer(200, &[exact[0], GRANT[1]]), "POST", true);
        assert_eq!(
            no_header.unwrap_err(),
            "200, content-type not in Access-Control-Allow-Headers"
        );
    }

    #[test]
    fn another_origin_or_two_origins_are_no_grant() {
        let other = [("access-control-allow-origin", "https://cafe.example")];
        let no = preflight_grant(&answer(200, &other), "POST", false).unwrap_err();
        assert_eq!(no, "200, Access-Control-Allow-Origin: https://cafe.example");
        let two = [other[0], ("access-control-allow-origin", ATTACKER_ORIGIN)];
        assert!(preflight_grant(&answer(200, &two), "POST", false).is_err());
    }
}
