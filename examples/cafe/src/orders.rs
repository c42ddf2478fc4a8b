//! Coffee orders, kept per user.

use async_trait::async_trait;
use cafe::store::{OrderStore, StoreError};
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

/// Every order, in this process's memory.
#[derive(Debug, Default)]
pub struct MemoryOrders {
    all: Mutex<Vec<Order>>,
}

#[async_trait]
impl OrderStore for MemoryOrders {
    async fn place(&self, by: &str, item: &str) -> Result<Order, StoreError> {
        let mut all = self.all.lock().unwrap_or_else(|p| p.into_inner());
        let order = Order {
            id: all.len() as u64 + 1,
            item: item.to_owned(),
            by: by.to_owned(),
        };
        all.push(order.clone());
        Ok(order)
    }

    async fn placed_by(&self, by: &str) -> Result<Vec<Order>, StoreError> {
        let all = self.all.lock().unwrap_or_else(|p| p.into_inner());
        Ok(all.iter().filter(|o| o.by == by).cloned().collect())
    }
}
