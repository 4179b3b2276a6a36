//! Product id → plan tier, from configuration (`POLO_PLAN_ID_STARTER|PRO|
//! ENTERPRISE`, comma lists: the first id is the product we sell for that
//! tier, the others are recognised on existing subscriptions). The tier only
//! ever comes from here, never from metadata; an unknown product is parked.

use crate::domain::{PlanTier, ProductId};
use std::collections::HashMap;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Catalogue {
    tiers: HashMap<ProductId, PlanTier>,
    sold: HashMap<PlanTier, ProductId>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CatalogueError {
    #[error("{variable} is empty")]
    Empty { variable: &'static str },
    #[error("{variable} holds an invalid product id")]
    InvalidId { variable: &'static str },
    #[error("{variable} repeats a product id of another tier")]
    Duplicate { variable: &'static str },
}

impl CatalogueError {
    /// The variable whose list is at fault.
    pub fn variable(&self) -> &'static str {
        match self {
            Self::Empty { variable }
            | Self::InvalidId { variable }
            | Self::Duplicate { variable } => variable,
        }
    }
}

impl Catalogue {
    /// A catalogue that knows no product, for a process that never reads a
    /// subscription (provisioning-sync): a snapshot through it would be
    /// parked as `unknown_product`, never given a tier.
    pub fn empty() -> Self {
        Self {
            tiers: HashMap::new(),
            sold: HashMap::new(),
        }
    }

    /// Parses the three comma lists. Every problem is named by variable.
    pub fn from_lists(
        starter: &str,
        pro: &str,
        enterprise: &str,
    ) -> Result<Self, Vec<CatalogueError>> {
        let mut catalogue = Self {
            tiers: HashMap::new(),
            sold: HashMap::new(),
        };
        let mut problems = Vec::new();
        for (variable, tier, list) in [
            ("POLO_PLAN_ID_STARTER", PlanTier::Starter, starter),
            ("POLO_PLAN_ID_PRO", PlanTier::Pro, pro),
            ("POLO_PLAN_ID_ENTERPRISE", PlanTier::Enterprise, enterprise),
        ] {
            let ids: Vec<&str> = list
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .collect();
            if ids.is_empty() {
                problems.push(CatalogueError::Empty { variable });
                continue;
            }
            for (position, raw) in ids.into_iter().enumerate() {
                let Ok(id) = ProductId::parse(raw) else {
                    problems.push(CatalogueError::InvalidId { variable });
                    continue;
                };
                if catalogue.tiers.get(&id).is_some_and(|t| *t != tier) {
                    problems.push(CatalogueError::Duplicate { variable });
                    continue;
                }
                if position == 0 {
                    catalogue.sold.insert(tier, id.clone());
                }
                catalogue.tiers.insert(id, tier);
            }
        }
        if problems.is_empty() {
            Ok(catalogue)
        } else {
            Err(problems)
        }
    }

    pub fn tier_of(&self, product: &ProductId) -> Option<PlanTier> {
        self.tiers.get(product).copied()
    }

    /// The product a checkout or plan change to `tier` sells.
    pub fn product_for(&self, tier: PlanTier) -> Option<&ProductId> {
        self.sold.get(&tier)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_id_is_sold_and_the_others_are_recognised() {
        let c = Catalogue::from_lists("prod_s", "prod_p, prod_p_legacy", "prod_e").unwrap();
        let legacy = ProductId::parse("prod_p_legacy").unwrap();
        assert_eq!(c.tier_of(&legacy), Some(PlanTier::Pro));
        assert_eq!(c.product_for(PlanTier::Pro).unwrap().as_str(), "prod_p");
        assert_eq!(c.tier_of(&ProductId::parse("prod_x").unwrap()), None);
    }

    #[test]
    fn every_bad_list_is_named() {
        let err = Catalogue::from_lists("", "prod_p,bad id", "prod_p").unwrap_err();
        assert_eq!(
            err,
            vec![
                CatalogueError::Empty {
                    variable: "POLO_PLAN_ID_STARTER"
                },
                CatalogueError::InvalidId {
                    variable: "POLO_PLAN_ID_PRO"
                },
                CatalogueError::Duplicate {
                    variable: "POLO_PLAN_ID_ENTERPRISE"
                },
            ]
        );
    }
}
