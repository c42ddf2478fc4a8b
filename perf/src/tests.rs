//! Unit tests for the readers and the table format.

use super::*;

const WRK_OUTPUT: &str = "Running 5s test @ http://127.0.0.1:40001/me
  1 threads and 32 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency   535.41us  105.85us   3.16ms   86.83%
    Req/Sec    59.32k     2.49k   63.10k    82.00%
  Latency Distribution
     50%  525.00us
     75%  575.00us
     90%  637.00us
     99%    1.92ms
  295149 requests in 5.00s, 43.35MB read
  Non-2xx or 3xx responses: 3
Requests/sec:  59012.56
Transfer/sec:      8.67MB
";

#[test]
fn wrk_output_gives_rate_percentiles_and_errors() {
    let result = parse_wrk(WRK_OUTPUT).expect("parses");
    assert_eq!(result.requests_per_second, 59012.56);
    assert_eq!(result.p50_us, 525.0);
    assert_eq!(result.p99_us, 1920.0);
    assert_eq!(result.errors, 3);
}

#[test]
fn wrk_output_without_a_rate_is_not_a_result() {
    assert_eq!(
        parse_wrk("unable to connect to 127.0.0.1:9 Connection refused"),
        None
    );
}

#[test]
fn callgrind_total_is_read_from_its_closing_line() {
    let stderr = "==20598== Events    : Ir\n==20598== Collected : 20856013\n==20598==\n";
    assert_eq!(callgrind_collected(stderr), Some(20_856_013));
}

#[test]
fn criterion_median_comes_from_estimates_json() {
    let json = r#"{"mean":{"point_estimate":5.5},"median":{"point_estimate":4.25}}"#;
    assert_eq!(criterion_median_ns(json), Some(4.25));
}

#[test]
fn a_table_reads_back_what_it_wrote() {
    let mut table = Table::new(&["check", "time"]);
    table.push(vec!["jwt-hs256".into(), "5.1 µs".into()]);
    let markdown = format!(
        "{}{}",
        generated_notice("cargo run -p perf"),
        table.to_markdown()
    );
    assert_eq!(Table::parse(&markdown), Some(table));
}

#[test]
fn a_row_with_a_missing_cell_is_not_a_table() {
    assert_eq!(
        Table::parse("| a | b |\n| --- | ---: |\n| only one |\n"),
        None
    );
}

#[test]
fn numbers_read_as_people_read_them() {
    assert_eq!(grouped(61_234), "61,234");
    assert_eq!(grouped(999), "999");
    assert_eq!(human_ns(850.0), "850 ns");
    assert_eq!(human_ns(4_210.0), "4.2 µs");
    assert_eq!(human_ns(61_000_000.0), "61.0 ms");
}

#[test]
fn human_times_read_back_as_written() {
    for ns in [913.0, 5_500.0, 20_400_000.0] {
        assert_eq!(parse_human_ns(&human_ns(ns)), Some(ns));
    }
    assert_eq!(parse_human_ns("5 parsecs"), None);
}

#[test]
fn targets_are_judged_on_the_tables_figures() {
    let load = Table::parse(
        "| server | request | requests/s | × no-auth | p50 | p99 |\n\
         | --- | ---: | ---: | ---: | ---: | ---: |\n\
         | no-auth (GET /healthz) | GET /healthz | 100 | 1.00 | 1 µs | 2 µs |\n\
         | sessions-memory | GET /me | 97 | 0.97 | 1 µs | 2 µs |\n\
         | sessions-redis | GET /me | 40 | 0.40 | 1 µs | 2 µs |\n\
         | jwt-hs256 | GET /me | 70 | 0.70 | 1 µs | 2 µs |\n\
         | jwt-hs256 | POST /orders | 95 | 0.95 | 1 µs | 2 µs |\n\
         | hybrid-hs256 | GET /me | 66 | 0.66 | 1 µs | 2 µs |\n",
    )
    .expect("parses");
    let layers = Table::parse(
        "| check | median time | instructions | × bare decode |\n\
         | --- | ---: | ---: | ---: |\n\
         | hs256-jsonwebtoken-decode | 5.0 µs | 50,000 | 1.00× |\n\
         | hs256-cafe-verify | 5.5 µs | 65,000 | 1.30× |\n",
    )
    .expect("parses");
    let checks = Table::parse(
        "| mode | median time | instructions |\n| --- | ---: | ---: |\n\
         | sessions-memory | 913 ns | 10,428 |\n",
    )
    .expect("parses");
    let table = targets(&load, &layers, &checks).expect("every figure is there");
    let met: Vec<(&str, &str, &str)> = table
        .rows
        .iter()
        .map(|row| (row[0].as_str(), row[2].as_str(), row[3].as_str()))
        .collect();
    assert_eq!(
        met,
        [
            ("GET /me, sessions in memory", "0.97×", "yes"),
            ("GET /me, sessions in Redis", "0.40×", "no"),
            // The GET row, not the POST row of the same server.
            ("GET /me, JWT HS256", "0.70×", "no"),
            ("GET /me, hybrid HS256", "0.66×", "yes"),
            ("HS256 check, café against bare decode", "1.30×", "no"),
            ("memory session check, ID hash included", "913 ns", "yes"),
        ]
    );
}
