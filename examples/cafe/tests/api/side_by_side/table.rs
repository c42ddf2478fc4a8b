//! The side-by-side table built from the measurements: one row per
//! question, one cell per column, each cell read from what `measure` saw,
//! from a lab attack's outcome or from a table the benchmarks wrote.

use super::account::{Aftermath, Fate};
use super::{COLUMNS, Column, Measured, StillWorks, book_dir};
use attack_lab::{Outcome, catalogue};
use std::path::Path;
use std::time::Duration;

/// `1800 s` as `30 min`, `604800 s` as `7 days`.
pub(super) fn spoken(duration: Duration) -> String {
    let seconds = duration.as_secs();
    match seconds {
        s if s % 86_400 == 0 => format!("{} days", s / 86_400),
        s if s % 3_600 == 0 => format!("{} h", s / 3_600),
        s if s % 60 == 0 => format!("{} min", s / 60),
        s => format!("{s} s"),
    }
}

/// The cells of a row the benchmarks wrote (`cargo run --release -p perf`),
/// found by its first cells: figures are read, never typed.
fn benchmark_row(file: &str, first_cells: &[&str]) -> Vec<String> {
    table_row(&book_dir().join("performance").join(file), first_cells)
}

/// The cells of a row of the Markdown table in `path`, found by its first
/// cells.
fn table_row(path: &Path, first_cells: &[&str]) -> Vec<String> {
    let text = std::fs::read_to_string(path).unwrap();
    text.lines()
        .map(|line| {
            line.trim_matches('|')
                .split('|')
                .map(|cell| cell.trim().to_owned())
                .collect::<Vec<String>>()
        })
        .find(|cells| {
            cells.len() >= first_cells.len()
                && cells
                    .iter()
                    .zip(first_cells)
                    .all(|(cell, wanted)| cell == wanted)
        })
        .unwrap_or_else(|| panic!("no row {first_cells:?} in {}", path.display()))
}

/// How a lab attack ended, in a word; a risk or a refusal the lab table
/// does not expect fails the attack lab's own test, not this one. The lab
/// here has the key, the clock and a second server, so an attack may be
/// skipped only because it means nothing in the mode.
fn attack_cell(measured: &Measured, attack: &str) -> &'static str {
    match &measured.attacks[attack] {
        Outcome::Refused(_) => "refused",
        Outcome::Accepted(_) => "**risk**",
        Outcome::Skipped(why) if why.starts_with("not applicable") => "—",
        Outcome::Skipped(why) => panic!("{attack} was skipped: {why}"),
    }
}

/// What the other device's credentials do after an event on the phone:
/// the cookie, or each token.
fn aftermath_cell(aftermath: Aftermath) -> String {
    match aftermath.refresh {
        Fate::NotApplicable => format!("cookie {}", aftermath.access.cell()),
        refresh if refresh == aftermath.access => format!("both tokens {}", refresh.cell()),
        refresh => format!(
            "refresh token {}; access token {}",
            refresh.cell(),
            aftermath.access.cell()
        ),
    }
}

/// One row: what it is (linked to the chapter that explains it), one cell
/// per column, and the evidence.
struct Row {
    label: &'static str,
    chapter: &'static str,
    cells: Vec<String>,
    evidence: String,
}

/// Where the account rows come from; `EVENT` names the event, `ATTACKS` the
/// lab's attacks on it.
const ACCOUNT_EVIDENCE: &str = "measured: alice logs in on a phone and a laptop, EVENT, and \
    the laptop tries its credentials at once and, if one still works, a second before and \
    after its expiry, in each column's own deployment \
    (`side_by_side::side_by_side_every_mode_measured_the_same_way`; the same steps mode by mode \
    in `side_by_side::account::every_mode_after_a_password_change_an_ended_login_and_idling`); \
    lab: ATTACKS";

fn rows(measured: &[Measured]) -> Vec<Row> {
    let per_column = |cell: &dyn Fn(Column, &Measured) -> String| -> Vec<String> {
        COLUMNS
            .iter()
            .zip(measured)
            .map(|(column, measured)| cell(*column, measured))
            .collect()
    };
    let calls = |calls: &[&str]| {
        if calls.is_empty() {
            "nothing".to_owned()
        } else {
            calls
                .iter()
                .map(|call| format!("`{call}`"))
                .collect::<Vec<_>>()
                .join(", ")
        }
    };
    let attack =
        |name: &'static str| move |_: Column, m: &Measured| attack_cell(m, name).to_owned();
    // A row read from one lab attack's outcomes.
    let lab_row = |label: &'static str, chapter: &'static str, name: &'static str| Row {
        label,
        chapter,
        cells: per_column(&attack(name)),
        evidence: format!("lab: `{name}`"),
    };
    // Whether the login still works somewhere else: the multi-server chapter's rows.
    let many_servers_row =
        |label: &'static str, outcome: fn(&Measured) -> &StillWorks, how: &str| Row {
            label,
            chapter: "../many-servers.md",
            cells: per_column(&|_, m| outcome(m).cell()),
            evidence: format!("measured: {how}"),
        };
    vec![
        Row {
            label: "Store calls at login",
            chapter: "../jwt/where-the-data-lives.md",
            cells: per_column(&|_, m| calls(&m.stored_at_login)),
            evidence: "measured: the calls `POST /login` makes besides the account lookup and the \
                rate limit, which every mode makes"
                .to_owned(),
        },
        Row {
            label: "Server memory per login",
            chapter: "../many-servers.md",
            cells: per_column(&|column, m| memory_per_login(column, m)),
            evidence: "[Many servers](../many-servers.md): `cargo run -p cafe --example \
                memory_per_login`, a million of each"
                .to_owned(),
        },
        Row {
            label: "Store calls per request (`GET /me`)",
            chapter: "../performance.md",
            cells: per_column(&|_, m| {
                format!(
                    "{}: {}",
                    m.lookups_per_request.len(),
                    calls(&m.lookups_per_request)
                )
            }),
            evidence: "`hardening::each_mode_looks_up_exactly_what_its_chapter_says` (in memory); \
                on Redis, one round trip: \
                `redis_robustness::an_authenticated_request_on_a_redis_session_\
                is_one_round_trip_and_one_command`, \
                `redis_robustness::an_access_token_with_both_checks_on_redis_\
                is_one_round_trip_and_one_command`"
                .to_owned(),
        },
        Row {
            label: "Check per request: median time, instructions",
            chapter: "../performance.md",
            cells: per_column(&|column, _| {
                let row = benchmark_row("request-checks.md", &[column.benchmark()]);
                format!("{} / {} instr.", row[1], row[2])
            }),
            evidence: "[request checks](../performance.md): criterion's median, and callgrind's \
                instruction count, which barely varies from run to run"
                .to_owned(),
        },
        Row {
            label: "`GET /me` throughput, × no auth",
            chapter: "../performance.md",
            cells: per_column(&|column, _| {
                format!(
                    "{}×",
                    benchmark_row("load.md", &[column.benchmark(), "GET /me"])[3]
                )
            }),
            evidence: "[load](../performance.md), `wrk`".to_owned(),
        },
        Row {
            label: "Credential header on every request",
            chapter: "../performance.md",
            cells: per_column(&|_, m| format!("{} bytes", m.credential_bytes)),
            evidence: "measured: `Cookie` or `Authorization` header of the login's credential; \
                [sizes](../performance.md)"
                .to_owned(),
        },
        Row {
            label: "A login lasts",
            chapter: "../sessions/expiry.md",
            cells: per_column(&|column, m| match column {
                Column::SessionsMemory | Column::SessionsRedis => format!(
                    "{} idle, {} at most",
                    spoken(m.lifetime.access),
                    spoken(m.lifetime.login)
                ),
                _ => format!(
                    "access {}, renewed for {} at most",
                    spoken(m.lifetime.access),
                    spoken(m.lifetime.login)
                ),
            }),
            evidence: "measured: the credential works a second before each limit and not a second \
                after (plus the 5 s leeway for tokens), on the server's clock"
                .to_owned(),
        },
        Row {
            label: "Refresh inactivity limit",
            chapter: "../account/logins.md",
            cells: per_column(&|_, m| match m.lifetime.refresh_idle {
                Some(idle) => format!("{} without a refresh", spoken(idle)),
                None => format!("— (the session's {} idle)", spoken(m.lifetime.access)),
            }),
            evidence: "measured: a refresh a second before the limit renews the login, one a \
                second after it is refused, on the server's clock (ASVS 5.0 requirement \
                7.3.1); lab: `refresh-after-idle`"
                .to_owned(),
        },
        lab_row(
            "After logout, the old credential",
            "../jwt/logging-out.md",
            "access-after-logout",
        ),
        lab_row(
            "After logout, the refresh token",
            "../jwt/logging-out.md",
            "refresh-after-logout",
        ),
        Row {
            label: "Logout clears the browser (`Clear-Site-Data`)",
            chapter: "../account/logins.md",
            cells: per_column(&|_, m| match &m.logout_clears {
                Some(value) => format!("`{value}`"),
                None => "no".to_owned(),
            }),
            evidence: "measured: the `Clear-Site-Data` header of the `POST /logout` answer (ASVS \
                5.0 requirement 14.3.1)"
                .to_owned(),
        },
        lab_row(
            "After a ban, the old credential",
            "../jwt/expiry-and-revocation.md",
            "access-after-ban",
        ),
        Row {
            label: "A password change ends the other logins",
            chapter: "../account/logins.md",
            cells: per_column(&|_, m| aftermath_cell(m.account.password_changed)),
            evidence: ACCOUNT_EVIDENCE
                .replace(
                    "EVENT",
                    "the phone changes the password (ASVS 5.0 requirements 6.2.2, 6.2.3 and 7.4.3)",
                )
                .replace("ATTACKS", "`credential-after-password-change`"),
        },
        Row {
            label: "List your logins and end one",
            chapter: "../account/logins.md",
            cells: per_column(&|_, m| aftermath_cell(m.account.login_ended)),
            evidence: ACCOUNT_EVIDENCE
                .replace(
                    "EVENT",
                    "the phone lists alice's logins (`GET /me/logins`) and ends the laptop's \
                    (`DELETE /me/logins/{id}` with her password given again; ASVS 5.0 \
                    requirement 7.5.2)",
                )
                .replace(
                    "ATTACKS",
                    "`login-ended-elsewhere`, `end-login-without-password` for a thief without \
                    the password, and `another-users-login-id` for an id not one's own",
                ),
        },
        lab_row(
            "Refresh token used twice",
            "../jwt/refreshing.md",
            "refresh-reuse-after-rotation",
        ),
        many_servers_row(
            "A second server accepts the login",
            |m| &m.second_server,
            "the credential sent to the second server; \
                `many_servers::with_redis_every_server_knows_every_session`",
        ),
        many_servers_row(
            "The login survives a restart",
            |m| &m.after_restart,
            "the credential sent to the first server restarted; \
                `many_servers::a_restarted_server_forgets_memory_sessions_but_not_redis_ones`",
        ),
        lab_row(
            "Another site forges a write (CSRF)",
            "../sessions/attacks.md",
            "csrf-form-post",
        ),
        lab_row(
            "Another site posts to `/refresh`",
            "../browser/hybrid.md",
            "csrf-refresh",
        ),
        lab_row(
            "Injected script reads the credential",
            "../browser/where-to-keep-it.md",
            "xss-reads-credential",
        ),
        lab_row(
            "Injected script acts as the user",
            "../browser/where-to-keep-it.md",
            "xss-session-riding",
        ),
        Row {
            label: "Stolen cookie or access token, used elsewhere",
            chapter: "../attacks/threats.md",
            cells: per_column(&|column, m| {
                let ends_at_logout =
                    matches!(m.attacks["access-after-logout"], Outcome::Refused(_));
                let until = if ends_at_logout { "until logout, " } else { "" };
                match (attack_cell(m, "credential-replayed-elsewhere"), column) {
                    ("**risk**", Column::SessionsMemory | Column::SessionsRedis) => format!(
                        "**risk**: works {until}≤ {} idle, ≤ {}",
                        spoken(m.lifetime.access),
                        spoken(m.lifetime.login)
                    ),
                    ("**risk**", _) => {
                        format!("**risk**: works {until}≤ {}", spoken(m.lifetime.access))
                    }
                    (other, _) => other.to_owned(),
                }
            }),
            evidence: "lab: `credential-replayed-elsewhere`".to_owned(),
        },
        Row {
            label: "Forged or tampered credentials",
            chapter: "../attacks/jwt.md",
            cells: per_column(&|_, m| forgeries(m)),
            evidence: "lab: every attack of the JWT and Sessions families that applies to the mode"
                .to_owned(),
        },
    ]
}

/// What a login keeps in the column's store, in bytes, from the measurement
/// of a million of each (`examples/cafe/measurements/memory-per-login.md`):
/// a session record, or a refresh family, whichever the login was seen to
/// create; with a denylist, each login ended (by a logout, from another
/// device, by a password change or "log out everywhere") adds an entry,
/// named by the login, until every access token it was given has expired.
fn memory_per_login(column: Column, measured: &Measured) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("measurements/memory-per-login.md");
    let store = if column.in_redis() { "Redis" } else { "memory" };
    let bytes = |state: &str| table_row(&path, &[store, state])[2].clone();
    let record = if measured.stored_at_login.contains(&"sessions.create") {
        "a session record (and its user index)"
    } else {
        "a refresh family (and its user index)"
    };
    let mut cell = format!("{} B", bytes(record));
    if column == Column::JwtChecked {
        cell.push_str(&format!(
            ", + {} B per ended login until its access tokens expire",
            bytes("a denylist entry")
        ));
    }
    cell
}

/// The forgery families of the lab, counted: how many applied, how many
/// were refused.
fn forgeries(measured: &Measured) -> String {
    let forgery_families = [attack_lab::Family::Jwt, attack_lab::Family::Sessions];
    let mut applied = 0;
    let mut refused = 0;
    for attack in catalogue() {
        if !forgery_families.contains(&attack.family) {
            continue;
        }
        match attack_cell(measured, attack.name) {
            "refused" => {
                applied += 1;
                refused += 1;
            }
            "—" => {}
            _ => applied += 1,
        }
    }
    if refused == applied {
        format!("all {applied} refused")
    } else {
        format!("**{} of {applied} work**", applied - refused)
    }
}

/// The table, then where each row comes from (a seventh column would not
/// fit a page).
pub(super) fn table(measured: &[Measured]) -> String {
    let rows = rows(measured);
    let mut table = String::from("| | ");
    table.push_str(&COLUMNS.map(Column::title).join(" | "));
    table.push_str(" |\n| --- |");
    table.push_str(&" --- |".repeat(COLUMNS.len()));
    table.push('\n');
    for row in &rows {
        table.push_str(&format!(
            "| [{}]({}) | {} |\n",
            row.label,
            row.chapter,
            row.cells.join(" | ")
        ));
    }
    table.push_str("\nThe columns, as `cafe serve` runs them:\n\n");
    for column in COLUMNS {
        table.push_str(&format!(
            "- **{}**: `cafe serve {}`\n",
            column.title(),
            column.flags()
        ));
    }
    table.push_str("\nWhere each row comes from:\n\n");
    for row in &rows {
        table.push_str(&format!("- {}: {}\n", row.label, row.evidence));
    }
    table
}
