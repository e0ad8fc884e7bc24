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

/// One per Lambda function. The name is the function's binary name in
/// `functions/` and its `BuildProperties.Binary` in `infra/template.yaml`,
/// which is how the local runner finds the handler for a template route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    AuthRegister,
    AuthLogin,
    AuthLogout,
    MeGet,
    MeUpdate,
    MePassword,
    UploadsCreate,
    UploadsComplete,
    UploadsList,
    UploadsDelete,
    VideosCreate,
    VideosList,
    VideosGet,
    VideosCancel,
    VideosDelete,
    PublicVideo,
    CreditsGet,
    CreditsPacks,
    BillingWebhook,
    MeExport,
    MeDelete,
}

impl Endpoint {
    pub const ALL: [Endpoint; 21] = [
        Endpoint::AuthRegister,
        Endpoint::AuthLogin,
        Endpoint::AuthLogout,
        Endpoint::MeGet,
        Endpoint::MeUpdate,
        Endpoint::MePassword,
        Endpoint::UploadsCreate,
        Endpoint::UploadsComplete,
        Endpoint::UploadsList,
        Endpoint::UploadsDelete,
        Endpoint::VideosCreate,
        Endpoint::VideosList,
        Endpoint::VideosGet,
        Endpoint::VideosCancel,
        Endpoint::VideosDelete,
        Endpoint::PublicVideo,
        Endpoint::CreditsGet,
        Endpoint::CreditsPacks,
        Endpoint::BillingWebhook,
        Endpoint::MeExport,
        Endpoint::MeDelete,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Endpoint::AuthRegister => "auth-register",
            Endpoint::AuthLogin => "auth-login",
            Endpoint::AuthLogout => "auth-logout",
            Endpoint::MeGet => "me-get",
            Endpoint::MeUpdate => "me-update",
            Endpoint::MePassword => "me-password",
            Endpoint::UploadsCreate => "uploads-create",
            Endpoint::UploadsComplete => "uploads-complete",
            Endpoint::UploadsList => "uploads-list",
            Endpoint::UploadsDelete => "uploads-delete",
            Endpoint::VideosCreate => "videos-create",
            Endpoint::VideosList => "videos-list",
            Endpoint::VideosGet => "videos-get",
            Endpoint::VideosCancel => "videos-cancel",
            Endpoint::VideosDelete => "videos-delete",
            Endpoint::PublicVideo => "public-video",
            Endpoint::CreditsGet => "credits-get",
            Endpoint::CreditsPacks => "credits-packs",
            Endpoint::BillingWebhook => "billing-webhook",
            Endpoint::MeExport => "me-export",
            Endpoint::MeDelete => "me-delete",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|e| e.name() == name)
    }

    fn rate_class(self) -> RateClass {
        match self {
            Endpoint::AuthRegister
            | Endpoint::AuthLogin
            | Endpoint::AuthLogout
            | Endpoint::MePassword
            | Endpoint::MeDelete => RateClass::Auth,
            _ => RateClass::Api,
        }
    }

    async fn call(self, ctx: &mut Ctx<'_>, req: &Request) -> Result<Reply> {
        use routes::{accounts as a, credits as c, privacy as p, uploads as u, videos as v};
        match self {
            Endpoint::AuthRegister => a::register(ctx, req).await,
            Endpoint::AuthLogin => a::login(ctx, req).await,
            Endpoint::AuthLogout => a::logout(ctx, req).await,
            Endpoint::MeGet => a::me(ctx, req).await,
            Endpoint::MeUpdate => a::update_me(ctx, req).await,
            Endpoint::MePassword => a::change_password(ctx, req).await,
            Endpoint::UploadsCreate => u::create(ctx, req).await,
            Endpoint::UploadsComplete => u::complete(ctx, req).await,
            Endpoint::UploadsList => u::list(ctx, req).await,
            Endpoint::UploadsDelete => u::delete(ctx, req).await,
            Endpoint::VideosCreate => v::create(ctx, req).await,
            Endpoint::VideosList => v::list(ctx, req).await,
            Endpoint::VideosGet => v::get(ctx, req).await,
            Endpoint::VideosCancel => v::cancel(ctx, req).await,
            Endpoint::VideosDelete => v::delete(ctx, req).await,
            Endpoint::PublicVideo => v::public(ctx, req).await,
            Endpoint::CreditsGet => c::statement(ctx, req).await,
            Endpoint::CreditsPacks => c::packs(ctx, req).await,
            Endpoint::BillingWebhook => c::webhook(ctx, req).await,
            Endpoint::MeExport => p::export(ctx, req).await,
            Endpoint::MeDelete => p::delete_account(ctx, req).await,
        }
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
