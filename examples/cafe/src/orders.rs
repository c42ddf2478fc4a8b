//! Coffee orders, kept per user.

use serde::Serialize;
use std::sync::Mutex;

/// One order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Order {
    /// Sequential, starting at 1.
    pub id: u64,
    /// What was ordered, e.g. `flat white`.
    pub item: String,
    /// Who ordered it.
    pub by: String,
}

/// Every order, in memory.
#[derive(Debug, Default)]
pub struct Orders {
    all: Mutex<Vec<Order>>,
}

impl Orders {
    /// Records an order by `by`.
    pub fn place(&self, by: &str, item: &str) -> Order {
        let mut all = self.all.lock().unwrap_or_else(|p| p.into_inner());
        let order = Order {
            id: all.len() as u64 + 1,
            item: item.to_owned(),
            by: by.to_owned(),
        };
        all.push(order.clone());
        order
    }

    /// The orders `by` placed, oldest first.
    pub fn placed_by(&self, by: &str) -> Vec<Order> {
        let all = self.all.lock().unwrap_or_else(|p| p.into_inner());
        all.iter().filter(|o| o.by == by).cloned().collect()
    }
}
