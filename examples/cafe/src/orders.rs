//! Coffee orders, kept per user.

use serde::{Deserialize, Serialize};

/// One order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Order {
    /// Sequential, starting at 1.
    pub id: u64,
    /// What was ordered, e.g. `flat white`.
    pub item: String,
    /// Who ordered it.
    pub by: String,
}
