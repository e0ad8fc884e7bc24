//! The HTTP edge shared by every Lambda function and the local runner:
//! rate limit, dispatch to the endpoint's handler, map the result, write the
//! usage-log line.

pub mod input;
pub mod respond;
mod routes;

use lambda_http::{Body, Request, Response};

use crate::accounts::{self, Principal};
use crate::app::App;
use crate::error::{Error, Result};
use crate::ratelimit::{self, RateClass};
use crate::usage;
pub use input::RequestMeta;
pub use respond::Reply;

/// Declares the endpoints once: variant, binary name, rate class, handler.
macro_rules! endpoints {
    ($($variant:ident => $name:literal, $class:ident, $handler:path;)*) => {
        /// One per Lambda function. The name is the function's binary name in
        /// `functions/` and its `BuildProperties.Binary` in `infra/template.yaml`,
        /// which is how the local runner finds the handler for a template route.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum Endpoint {
            $($variant,)*
        }

        impl Endpoint {
            pub const ALL: &[Endpoint] = &[$(Endpoint::$variant,)*];

            pub fn name(self) -> &'static str {
                match self {
                    $(Endpoint::$variant => $name,)*
                }
            }

            fn rate_class(self) -> RateClass {
                match self {
                    $(Endpoint::$variant => RateClass::$class,)*
                }
            }

            async fn call(self, ctx: &mut Ctx<'_>, req: &Request) -> Result<Reply> {
                match self {
                    $(Endpoint::$variant => $handler(ctx, req).await,)*
                }
            }
        }
    };
}

// Credential routes share the tight `Auth` budget.
endpoints! {
    AuthRegister => "auth-register", Auth, routes::accounts::register;
    AuthLogin => "auth-login", Auth, routes::accounts::login;
    AuthLogout => "auth-logout", Auth, routes::accounts::logout;
    AuthVerifyEmail => "auth-verify-email", Auth, routes::accounts::verify_email;
    AuthVerifyEmailResend => "auth-verify-email-resend", Auth, routes::accounts::resend_verification;
    AuthPasswordReset => "auth-password-reset", Auth, routes::accounts::password_reset;
    AuthPasswordResetConfirm => "auth-password-reset-confirm", Auth, routes::accounts::password_reset_confirm;
    MeGet => "me-get", Api, routes::accounts::me;
    MeUpdate => "me-update", Api, routes::accounts::update_me;
    MePassword => "me-password", Auth, routes::accounts::change_password;
    MeEmail => "me-email", Auth, routes::accounts::change_email;
    MePolicyAck => "me-policy-ack", Api, routes::accounts::policy_ack;
    PolicyGet => "policy-get", Api, routes::accounts::policy;
    EmailUnsubscribe => "email-unsubscribe", Api, routes::accounts::unsubscribe;
    MeExportsCreate => "me-exports-create", Api, routes::privacy::start_export;
    MeExportsList => "me-exports-list", Api, routes::privacy::list_exports;
    MeExportsGet => "me-exports-get", Api, routes::privacy::get_export;
    MeDelete => "me-delete", Auth, routes::privacy::delete_account;
    UploadsCreate => "uploads-create", Api, routes::uploads::create;
    UploadsComplete => "uploads-complete", Api, routes::uploads::complete;
    UploadsList => "uploads-list", Api, routes::uploads::list;
    UploadsDelete => "uploads-delete", Api, routes::uploads::delete;
    VideosCreate => "videos-create", Api, routes::videos::create;
    VideosList => "videos-list", Api, routes::videos::list;
    VideosGet => "videos-get", Api, routes::videos::get;
    VideosCancel => "videos-cancel", Api, routes::videos::cancel;
    VideosDelete => "videos-delete", Api, routes::videos::delete;
    PublicVideo => "public-video", Api, routes::videos::public;
    CreditsGet => "credits-get", Api, routes::credits::statement;
    CreditsPacks => "credits-packs", Api, routes::credits::packs;
    BillingWebhook => "billing-webhook", Api, routes::billing::webhook;
    BillingCheckout => "billing-checkout", Api, routes::billing::checkout;
    BillingPortal => "billing-portal", Api, routes::billing::portal;
    BillingSubscription => "billing-subscription", Api, routes::billing::subscription;
    BillingInvoices => "billing-invoices", Api, routes::billing::invoices;
    OpenApiGet => "openapi-get", Api, routes::developer::openapi;
    ApiKeysCreate => "api-keys-create", Auth, routes::developer::create_key;
    ApiKeysList => "api-keys-list", Api, routes::developer::list_keys;
    ApiKeysDelete => "api-keys-delete", Auth, routes::developer::delete_key;
    WebhooksCreate => "webhooks-create", Api, routes::developer::create_webhook;
    WebhooksList => "webhooks-list", Api, routes::developer::list_webhooks;
    WebhooksDelete => "webhooks-delete", Api, routes::developer::delete_webhook;
    WebhooksDeliveries => "webhooks-deliveries", Api, routes::developer::webhook_deliveries;
}

impl Endpoint {
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|e| e.name() == name)
    }

    /// The endpoint Lambda runs this process for: the function's `Handler`,
    /// which Lambda passes as `_HANDLER`. One artifact serves every route;
    /// each route is still its own function (role, log group, alarms).
    pub fn from_handler() -> anyhow::Result<Self> {
        let handler = crate::config::handler()?;
        Self::from_name(&handler)
            .ok_or_else(|| anyhow::anyhow!("Handler {handler} names no HTTP endpoint"))
    }
}

/// Per-request state a handler can add to, read back for the usage log.
pub struct Ctx<'a> {
    pub app: &'a App,
    pub meta: &'a RequestMeta,
    user_id: Option<String>,
}

impl Ctx<'_> {
    /// Requires a valid bearer token and remembers whose it is.
    pub async fn authenticate(&mut self, req: &Request) -> Result<Principal> {
        let principal =
            accounts::authenticate(self.app, input::header(req, "authorization")).await?;
        self.user_id = Some(principal.user.id.clone());
        Ok(principal)
    }

    /// Accepts a session or a personal API key (`accounts::authenticate_or_key`).
    pub async fn authenticate_or_key(&mut self, req: &Request) -> Result<accounts::User> {
        let user =
            accounts::authenticate_or_key(self.app, input::header(req, "authorization")).await?;
        self.user_id = Some(user.id.clone());
        Ok(user)
    }

    pub fn attribute_to(&mut self, user_id: &str) {
        self.user_id = Some(user_id.to_owned());
    }
}

/// Handles one API request end to end. Never fails: every outcome is a response.
pub async fn serve(app: &App, endpoint: Endpoint, req: Request) -> Response<Body> {
    let meta = RequestMeta::of(&req);
    let mut ctx = Ctx {
        app,
        meta: &meta,
        user_id: None,
    };
    let result = match ratelimit::admit(app, &meta.ip, endpoint.rate_class()).await {
        Ok(()) => endpoint.call(&mut ctx, &req).await,
        Err(err) => Err(err),
    };
    let user_id = ctx.user_id;
    let response = match result {
        Ok(reply) => respond::reply_response(reply),
        Err(err) => {
            if let Error::Internal(source) = &err {
                tracing::error!(route = %meta.route, error = %format!("{source:#}"), "request failed");
            }
            respond::error_response(&err)
        }
    };
    let status = response.status().as_u16();
    if status >= 500 {
        crate::telemetry::count(
            "ServerErrors",
            1,
            &[("request_id", &meta.request_id), ("route", &meta.route)],
        );
    }
    tracing::info!(
        request_id = %meta.request_id,
        route = %meta.route,
        status,
        user_id = user_id.as_deref().unwrap_or("-"),
        "request"
    );
    usage::record(
        app,
        usage::Request {
            request_id: &meta.request_id,
            ip: &meta.ip,
            method: &meta.method,
            route: &meta.route,
            status,
            user_id: user_id.as_deref(),
        },
    )
    .await;
    response
}

/// The answer for a path or method no function serves, shaped like every other error.
pub fn not_found(err: Error) -> Response<Body> {
    respond::error_response(&err)
}
