//! Credit packs sold through the payment provider. Prices are in the
//! smallest currency unit; Glimvid never sees card data.

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

pub fn find(id: &str) -> Option<Pack> {
    PACKS.into_iter().find(|p| p.id == id)
}
