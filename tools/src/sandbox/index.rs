//! The sandbox's lookups by customer: external id → customer, customer →
//! its subscriptions. Polo answers these from indexes; scanning every
//! customer or subscription instead made each lookup cost O(customers),
//! which at the scale harness's 100,000 accounts turned a linear job into a
//! quadratic one in the stand-in alone. Every insert goes through
//! [`State::insert_customer`] and [`State::insert_subscription`], so the
//! maps stay in step with the records (ids and external ids never change).

use super::model::{Customer, State, Subscription};
use std::collections::HashMap;

#[derive(Debug, Default)]
pub struct Index {
    by_external: HashMap<String, String>,
    subscriptions_by_customer: HashMap<String, Vec<String>>,
}

impl Index {
    pub fn customer_of(&self, external_id: &str) -> Option<&String> {
        self.by_external.get(external_id)
    }
}

impl State {
    /// Stores a new customer (or replaces one of the same id).
    pub fn insert_customer(&mut self, customer: Customer) {
        if let Some(external) = &customer.external_id {
            self.index
                .by_external
                .insert(external.clone(), customer.id.clone());
        }
        self.customers.insert(customer.id.clone(), customer);
    }

    /// Stores a new subscription (or replaces one of the same id).
    pub fn insert_subscription(&mut self, subscription: Subscription) {
        let ids = self
            .index
            .subscriptions_by_customer
            .entry(subscription.customer_id.clone())
            .or_default();
        if !ids.contains(&subscription.id) {
            ids.push(subscription.id.clone());
        }
        self.subscriptions
            .insert(subscription.id.clone(), subscription);
    }

    /// The subscriptions of one customer.
    pub fn subscriptions_of(&self, customer_id: &str) -> Vec<&Subscription> {
        self.index
            .subscriptions_by_customer
            .get(customer_id)
            .map(|ids| {
                ids.iter()
                    .filter_map(|id| self.subscriptions.get(id))
                    .collect()
            })
            .unwrap_or_default()
    }
}
