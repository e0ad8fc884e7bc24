//! What Glimvid sells through Stripe: credit packs (one payment) and
//! monthly plans (a subscription granting credits each paid period).
//! Prices are in the smallest currency unit; Glimvid never sees card data.

use serde::Serialize;

#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
pub struct Pack {
    pub id: &'static str,
    pub credits: i64,
    pub price_cents: i64,
    pub currency: &'static str,
}

pub const PACKS: [Pack; 3] = [
    Pack {
        id: "starter",
        credits: 5,
        price_cents: 499,
        currency: "usd",
    },
    Pack {
        id: "creator",
        credits: 20,
        price_cents: 1499,
        currency: "usd",
    },
    Pack {
        id: "studio",
        credits: 60,
        price_cents: 3999,
        currency: "usd",
    },
];

#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
pub struct Plan {
    pub id: &'static str,
    pub credits_per_month: i64,
    pub price_cents: i64,
    pub currency: &'static str,
}

/// Cheaper per credit than the pack of the same size: that is the reason
/// to commit to a month.
pub const PLANS: [Plan; 2] = [
    Plan {
        id: "monthly-20",
        credits_per_month: 20,
        price_cents: 1299,
        currency: "usd",
    },
    Plan {
        id: "monthly-60",
        credits_per_month: 60,
        price_cents: 3499,
        currency: "usd",
    },
];

pub fn pack(id: &str) -> Option<Pack> {
    PACKS.into_iter().find(|p| p.id == id)
}

pub fn plan(id: &str) -> Option<Plan> {
    PLANS.into_iter().find(|p| p.id == id)
}

/// What a Stripe object bought, by the metadata Glimvid put on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Product {
    Pack(Pack),
    Plan(Plan),
}

impl Product {
    pub fn id(self) -> &'static str {
        match self {
            Product::Pack(p) => p.id,
            Product::Plan(p) => p.id,
        }
    }

    pub fn kind(self) -> &'static str {
        match self {
            Product::Pack(_) => "pack",
            Product::Plan(_) => "plan",
        }
    }

    pub fn credits(self) -> i64 {
        match self {
            Product::Pack(p) => p.credits,
            Product::Plan(p) => p.credits_per_month,
        }
    }

    pub fn price_cents(self) -> i64 {
        match self {
            Product::Pack(p) => p.price_cents,
            Product::Plan(p) => p.price_cents,
        }
    }

    pub fn currency(self) -> &'static str {
        match self {
            Product::Pack(p) => p.currency,
            Product::Plan(p) => p.currency,
        }
    }

    /// The line Stripe shows on Checkout, the invoice and the receipt.
    pub fn description(self) -> String {
        match self {
            Product::Pack(p) => format!("Glimvid {} pack: {} credits", p.id, p.credits),
            Product::Plan(p) => format!(
                "Glimvid monthly plan: {} credits a month",
                p.credits_per_month
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_plan_costs_less_per_credit_than_the_pack_its_size() {
        for plan in PLANS {
            let pack = PACKS
                .into_iter()
                .find(|p| p.credits == plan.credits_per_month)
                .unwrap();
            assert!(plan.price_cents < pack.price_cents, "{plan:?} vs {pack:?}");
        }
    }
}
