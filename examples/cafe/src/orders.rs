//! Coffee orders, kept per user, and bounded: at most
//! [`MAX_ORDERS_PER_USER`] each, listed at most [`MAX_ORDERS_PER_PAGE`] at
//! a time.

use serde::{Deserialize, Serialize};

/// How many orders one user may place in all. Without a limit, one member
/// with a script fills the store (and makes every listing of theirs
/// longer) for as long as their login lasts. A thousand is more coffee
/// than the demo café will ever see from one person; a real shop would
/// archive old orders instead.
pub const MAX_ORDERS_PER_USER: usize = 1_000;

/// The most orders one `GET /orders` answers; the rest are on the pages
/// its `Link: <…>; rel="next"` header leads to.
pub const MAX_ORDERS_PER_PAGE: usize = 100;

/// One order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Order {
    /// Unique among the user's orders, starting at 1, and growing: a
    /// user's orders are listed by id, and "the orders after id N" is the
    /// next page. A store may skip ids, and may number each user's orders
    /// on its own (Redis does, so that one script on the user's keys
    /// places an order).
    pub id: u64,
    /// What was ordered, e.g. `flat white`.
    pub item: String,
    /// Who ordered it.
    pub by: String,
}
