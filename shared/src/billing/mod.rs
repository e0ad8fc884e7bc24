//! Payments through Stripe: Checkout for packs (one payment) and monthly
//! plans (a subscription), the customer portal for cards, plan changes and
//! cancellation, and the webhook that turns what was paid into credits.
//!
//! Glimvid never sees card data: Stripe's hosted pages collect it. Every
//! grant lands in the one credits ledger (`credits`), with its source.

pub mod catalog;
pub mod records;
pub mod stripe;
pub mod webhook;

use serde::{Deserialize, Serialize};

use crate::accounts::Principal;
use crate::app::App;
use crate::error::{Error, Result};
use catalog::Product;
pub use records::{Payment, Subscription};

/// `POST /billing/checkout`: exactly one of the two.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CheckoutInput {
    #[serde(default)]
    pub pack: Option<String>,
    #[serde(default)]
    pub plan: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct Redirect {
    pub url: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
}

fn product_of(input: &CheckoutInput) -> Result<Product> {
    let pack = input
        .pack
        .as_deref()
        .map(|id| {
            catalog::pack(id).ok_or_else(|| {
                Error::invalid_code("unknown_pack", "pack", "there is no such credit pack")
            })
        })
        .transpose()?;
    let plan = input
        .plan
        .as_deref()
        .map(|id| {
            catalog::plan(id)
                .ok_or_else(|| Error::invalid_code("unknown_plan", "plan", "there is no such plan"))
        })
        .transpose()?;
    match (pack, plan) {
        (Some(pack), None) => Ok(Product::Pack(pack)),
        (None, Some(plan)) => Ok(Product::Plan(plan)),
        (Some(_), Some(_)) => Err(Error::invalid_code(
            "invalid_input",
            "plan",
            "name a pack or a plan, not both",
        )),
        (None, None) => Err(Error::bad_request("invalid_input", "name a pack or a plan")),
    }
}

fn pair(key: &str, value: impl Into<String>) -> (String, String) {
    (key.to_owned(), value.into())
}

/// The Checkout Session's parameters: the product at its price, the user
/// as `client_reference_id` and in the metadata of everything Stripe makes
/// from it (the invoice of a pack, the subscription of a plan), so each
/// webhook event names whose it is and what was bought.
fn checkout_form(
    app: &App,
    principal: &Principal,
    product: Product,
    customer: Option<&str>,
) -> Vec<(String, String)> {
    let user = &principal.user;
    let web = &app.config.mail.web_app_url;
    let mut form = vec![
        pair("client_reference_id", &user.id),
        pair(
            "success_url",
            format!("{web}/#/credits?checkout=success&session={{CHECKOUT_SESSION_ID}}"),
        ),
        pair("cancel_url", format!("{web}/#/credits?checkout=cancelled")),
        pair("locale", user.language.as_str()),
        pair("line_items[0][quantity]", "1"),
        pair("line_items[0][price_data][currency]", product.currency()),
        pair(
            "line_items[0][price_data][unit_amount]",
            product.price_cents().to_string(),
        ),
        pair(
            "line_items[0][price_data][product_data][name]",
            product.description(),
        ),
        pair("metadata[user_id]", &user.id),
        pair(&format!("metadata[{}]", product.kind()), product.id()),
    ];
    if let Some(customer) = customer {
        form.push(pair("customer", customer));
    }
    match product {
        Product::Pack(pack) => {
            form.push(pair("mode", "payment"));
            if customer.is_none() {
                // One customer per user: the portal shows every invoice.
                form.push(pair("customer_creation", "always"));
            }
            // An invoice for a one-off payment: the hosted link the
            // payments list and the receipt point to.
            form.push(pair("invoice_creation[enabled]", "true"));
            form.push(pair(
                "invoice_creation[invoice_data][metadata][user_id]",
                &user.id,
            ));
            form.push(pair(
                "invoice_creation[invoice_data][metadata][pack]",
                pack.id,
            ));
        }
        Product::Plan(plan) => {
            form.push(pair("mode", "subscription"));
            form.push(pair(
                "line_items[0][price_data][recurring][interval]",
                "month",
            ));
            form.push(pair("subscription_data[metadata][user_id]", &user.id));
            form.push(pair("subscription_data[metadata][plan]", plan.id));
        }
    }
    form
}

/// Creates a Stripe Checkout Session for a pack or a plan; the web app
/// sends the user to its `url`.
pub async fn checkout(app: &App, principal: &Principal, input: CheckoutInput) -> Result<Redirect> {
    let product = product_of(&input)?;
    let stripe = stripe::Client::new(&app.config.payments)?;
    let user_id = &principal.user.id;
    if matches!(product, Product::Plan(_))
        && records::subscriptions(app, user_id)
            .await?
            .iter()
            .any(Subscription::is_live)
    {
        return Err(Error::conflict(
            "already_subscribed",
            "you already have a plan; change or cancel it under Manage billing",
        ));
    }
    let customer = records::customer(app, user_id).await?;
    let form = checkout_form(app, principal, product, customer.as_deref());
    let session = stripe.create_checkout_session(&form).await?;
    let url = session
        .url
        .ok_or_else(|| Error::internal("checkout session", "Stripe returned no url"))?;
    tracing::info!(user_id = %user_id, session = %session.id, product = product.id(), "checkout session created");
    Ok(Redirect {
        url,
        id: Some(session.id),
    })
}

/// `POST /billing/portal`: Stripe's customer portal, for cards, invoices
/// and cancelling a plan.
pub async fn portal(app: &App, principal: &Principal) -> Result<Redirect> {
    let stripe = stripe::Client::new(&app.config.payments)?;
    let no_account = || {
        Error::conflict(
            "no_billing_account",
            "there is nothing to manage until you have paid once",
        )
    };
    let customer = records::customer(app, &principal.user.id)
        .await?
        .ok_or_else(no_account)?;
    let return_url = format!("{}/#/credits", app.config.mail.web_app_url);
    let session = stripe
        .create_portal_session(&customer, &return_url)
        .await?
        .ok_or_else(no_account)?;
    let url = session
        .url
        .ok_or_else(|| Error::internal("portal session", "Stripe returned no url"))?;
    Ok(Redirect { url, id: None })
}

/// `GET /billing/subscription`: the plan that is live, or the last one.
pub async fn current_subscription(app: &App, user_id: &str) -> Result<Option<Subscription>> {
    Ok(records::subscriptions(app, user_id)
        .await?
        .into_iter()
        .next())
}

/// Before an account is deleted: every live subscription cancelled at
/// Stripe, so nobody is billed for an account that is gone. Fails (and the
/// deletion with it) when Stripe cannot be told.
pub async fn cancel_all(app: &App, user_id: &str) -> Result<usize> {
    let live: Vec<Subscription> = records::subscriptions(app, user_id)
        .await?
        .into_iter()
        .filter(Subscription::is_live)
        .collect();
    if live.is_empty() {
        return Ok(0);
    }
    let stripe = stripe::Client::new(&app.config.payments)?;
    for sub in &live {
        stripe.cancel_subscription(&sub.id).await?;
        tracing::info!(user_id, subscription = %sub.id, "subscription cancelled for account deletion");
    }
    Ok(live.len())
}
