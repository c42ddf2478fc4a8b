//! Orders are bounded: at most 1,000 per user, however many requests
//! arrive at once, and `GET /orders` answers them a page of at most 100 at
//! a time, with a `Link: <…>; rel="next"` header (RFC 8288) while there
//! are more. Each test runs once per mechanism, as in `conformance`.

use crate::support::{
    Call, Mode, TestApp, Visitor, for_every_mechanism, spawn_app, spawn_app_with, statuses_at_once,
};
use cafe::orders::MAX_ORDERS_PER_USER;
use cafe::store::{MemoryOrders, OrderStore};
use serde_json::{Value, json};
use std::sync::Arc;

const ALICE: (&str, &str) = ("alice", "wonderland-42");
const ADMIN: (&str, &str) = ("admin", "admin-secret-42");

/// An app whose order store the test holds too, to place orders without
/// a request each.
async fn app_with_orders(mode: Mode) -> (TestApp, Arc<MemoryOrders>) {
    let orders = Arc::new(MemoryOrders::default());
    let mut config = mode.config();
    config.stores.orders = orders.clone();
    (spawn_app_with(mode, config).await, orders)
}

/// Places `count` orders for `by` straight in the store.
async fn place_in_store(orders: &MemoryOrders, by: &str, count: usize) {
    for _ in 0..count {
        orders
            .place(by, "flat white", MAX_ORDERS_PER_USER)
            .await
            .unwrap();
    }
}

/// The target of a `Link: <target>; rel="next"` header, if there is one.
fn next_link(link: Option<&str>) -> Option<String> {
    let link = link?;
    let (target, params) = link.split_once(';')?;
    assert_eq!(params.trim(), "rel=\"next\"", "{link}");
    let target = target.trim().strip_prefix('<')?.strip_suffix('>')?;
    Some(target.to_owned())
}

/// Every order `visitor` can list, following `rel="next"` from `first`,
/// and the size of each page.
async fn every_page(visitor: &Visitor, first: &str) -> (Vec<Value>, Vec<usize>) {
    let (mut orders, mut sizes) = (Vec::new(), Vec::new());
    let mut next = Some(first.to_owned());
    while let Some(path) = next {
        assert!(sizes.len() < 50, "more pages than there can be orders");
        let page = visitor.get(&path).await;
        assert_eq!(page.status, 200, "{path}: {}", page.text);
        let listed = page.body.as_array().expect("a JSON array of orders");
        sizes.push(listed.len());
        orders.extend(listed.iter().cloned());
        next = next_link(page.header("link"));
    }
    (orders, sizes)
}

fn ids(orders: &[Value]) -> Vec<u64> {
    orders.iter().map(|o| o["id"].as_u64().unwrap()).collect()
}

async fn a_member_keeps_at_most_1000_orders(mode: Mode) {
    let (app, orders) = app_with_orders(mode).await;
    place_in_store(&orders, "alice", 999).await;
    let alice = app.logged_in(ALICE.0, ALICE.1).await;

    let thousandth = alice.post("/orders", json!({ "item": "flat white" })).await;
    assert_eq!(thousandth.status, 201, "{}", thousandth.text);
    let refused = alice.post("/orders", json!({ "item": "cortado" })).await;
    assert_eq!(refused.status, 409, "{}", refused.text);
    let message = refused.body["error"].as_str().unwrap();
    assert!(message.contains("1000"), "says the limit: {message}");

    // The limit is per user: admin still orders.
    let admin = app.logged_in(ADMIN.0, ADMIN.1).await;
    let theirs = admin.post("/orders", json!({ "item": "espresso" })).await;
    assert_eq!(theirs.status, 201);

    let (listed, _) = every_page(&alice, "/orders").await;
    assert_eq!(listed.len(), 1000);
    assert!(listed.iter().all(|o| o["by"] == "alice"));
}

async fn two_orders_at_once_at_999_make_1000_not_1001(mode: Mode) {
    let (app, orders) = app_with_orders(mode).await;
    place_in_store(&orders, "alice", 999).await;
    let alice = app.logged_in(ALICE.0, ALICE.1).await;
    let order = Call::post("/orders").json(&json!({ "item": "flat white" }));

    let statuses = statuses_at_once(vec![(alice.clone(), order); 8]).await;
    assert_eq!(
        statuses.iter().filter(|&&s| s == 201).count(),
        1,
        "{statuses:?}"
    );
    assert!(
        statuses.iter().all(|&s| s == 201 || s == 409),
        "{statuses:?}"
    );
    let (listed, _) = every_page(&alice, "/orders").await;
    assert_eq!(listed.len(), 1000);
}

async fn orders_come_in_pages_of_100_linked_by_next(mode: Mode) {
    let (app, orders) = app_with_orders(mode).await;
    place_in_store(&orders, "alice", 250).await;
    place_in_store(&orders, "admin", 3).await;
    let alice = app.logged_in(ALICE.0, ALICE.1).await;

    let first = alice.get("/orders").await;
    assert_eq!(first.status, 200);
    let page = first.body.as_array().expect("still a JSON array of orders");
    assert_eq!(page.len(), 100);
    let last = page[99]["id"].as_u64().unwrap();
    assert_eq!(
        first.header("link"),
        Some(format!("</orders?after={last}>; rel=\"next\"").as_str())
    );

    let (listed, sizes) = every_page(&alice, "/orders").await;
    assert_eq!(sizes, [100, 100, 50], "the last page has no next link");
    let ids = ids(&listed);
    assert!(
        ids.windows(2).all(|w| w[0] < w[1]),
        "oldest first, once each"
    );
    assert!(listed.iter().all(|o| o["by"] == "alice"));

    // A smaller page on request, and its next link keeps the size.
    let (small, sizes) = every_page(&alice, "/orders?limit=60").await;
    assert_eq!(sizes, [60, 60, 60, 60, 10]);
    assert_eq!(small, listed);
    let ten = alice.get("/orders?limit=10").await;
    let tenth = ten.body[9]["id"].as_u64().unwrap();
    assert_eq!(
        ten.header("link"),
        Some(format!("</orders?after={tenth}&limit=10>; rel=\"next\"").as_str())
    );

    // After the newest: an empty page, and no next.
    let newest = ids[ids.len() - 1];
    let beyond = alice.get(&format!("/orders?after={newest}")).await;
    assert_eq!((beyond.status, &beyond.body), (200, &json!([])));
    assert_eq!(beyond.header("link"), None);
}

async fn bad_paging_values_are_400(mode: Mode) {
    let app = spawn_app(mode).await;
    let alice = app.logged_in(ALICE.0, ALICE.1).await;
    for query in [
        "limit=0",
        "limit=101",
        "limit=-1",
        "limit=ten",
        "limit=",
        "after=-1",
        "after=first",
        "after=18446744073709551616",
    ] {
        let answer = alice.get(&format!("/orders?{query}")).await;
        assert_eq!(answer.status, 400, "{query}: {}", answer.text);
        assert!(answer.body["error"].is_string(), "{query}: {}", answer.text);
    }
    for query in ["limit=1", "limit=100", "after=0", "after=7&limit=5"] {
        let answer = alice.get(&format!("/orders?{query}")).await;
        assert_eq!(answer.status, 200, "{query}: {}", answer.text);
    }
}

/// The real number, over real HTTP, in one mode: the requests are counted,
/// not assumed.
#[tokio::test]
async fn the_1001st_of_1001_requests_is_refused() {
    let app = spawn_app(Mode::Sessions).await;
    let alice = app.logged_in(ALICE.0, ALICE.1).await;
    let order = json!({ "item": "flat white" });
    let (mut sent, mut created) = (0, 0);
    for _ in 0..1000 {
        let answer = alice.post("/orders", order.clone()).await;
        sent += 1;
        if answer.status == 201 {
            created += 1;
        }
    }
    let last = alice.post("/orders", order).await;
    sent += 1;
    assert_eq!((sent, created), (1001, 1000));
    assert_eq!(last.status, 409, "{}", last.text);
    let (listed, sizes) = every_page(&alice, "/orders").await;
    assert_eq!(listed.len(), 1000);
    assert_eq!(sizes, [100; 10]);
}

for_every_mechanism!(
    a_member_keeps_at_most_1000_orders,
    two_orders_at_once_at_999_make_1000_not_1001,
    orders_come_in_pages_of_100_linked_by_next,
    bad_paging_values_are_400,
);
