//! Everything a handler needs, built once per cold start and shared by every
//! invocation: configuration and the AWS clients.

use crate::config::Config;

#[derive(Clone, Debug)]
pub struct App {
    pub config: Config,
    pub dynamo: aws_sdk_dynamodb::Client,
    pub s3: aws_sdk_s3::Client,
    pub sfn: aws_sdk_sfn::Client,
    /// Mail notices are queued here; the stage workers also set their own
    /// retry backoff on the message in hand.
    pub sqs: aws_sdk_sqs::Client,
    pub ses: aws_sdk_sesv2::Client,
    /// The AI providers the configuration chose (see `providers`).
    #[cfg(feature = "pipeline")]
    pub providers: std::sync::Arc<crate::providers::ProviderSet>,
}

impl App {
    /// Loads AWS configuration the standard way (so `AWS_ENDPOINT_URL` points
    /// the SDK at the local emulator) and the app configuration from the
    /// environment, with Stripe's key and webhook secret where the
    /// environment names them (`secrets::resolve_payments`).
    pub async fn from_env() -> anyhow::Result<Self> {
        let mut config = Config::from_env()?;
        let sdk = aws_sdk_config().await;
        // Only the payment functions' environments name the secrets; for
        // the others this reads nothing.
        let secrets = aws_sdk_secretsmanager::Client::new(&sdk);
        crate::secrets::resolve_payments(&mut config, &secrets).await?;
        Ok(Self::new(config, &sdk))
    }

    /// As `from_env`, plus the AI providers' API keys from Secrets Manager
    /// (pipeline workers only: they alone call providers, and only their
    /// roles may read the secrets).
    #[cfg(feature = "pipeline")]
    pub async fn for_worker() -> anyhow::Result<Self> {
        let mut config = Config::from_env()?;
        let sdk = aws_sdk_config().await;
        crate::providers::keys::resolve(&mut config, &sdk).await?;
        Ok(Self::new(config, &sdk))
    }

    pub fn new(config: Config, sdk: &aws_config::SdkConfig) -> Self {
        Self::wired(config, sdk, &Wiring::default())
    }

    pub fn wired(config: Config, sdk: &aws_config::SdkConfig, wiring: &Wiring) -> Self {
        let interceptors = || wiring.interceptors.iter().cloned();
        let mut s3 = aws_sdk_s3::config::Builder::from(sdk)
            // Path-style addressing works with any endpoint, including the
            // local emulator on 127.0.0.1.
            .force_path_style(true);
        s3.set_interceptors(interceptors());
        if let Some(endpoint) = &wiring.s3_endpoint {
            s3.set_endpoint_url(Some(endpoint.clone()));
        }
        let mut dynamo = aws_sdk_dynamodb::config::Builder::from(sdk);
        dynamo.set_interceptors(interceptors());
        let mut sfn = aws_sdk_sfn::config::Builder::from(sdk);
        sfn.set_interceptors(interceptors());
        let sqs = {
            let mut sqs = aws_sdk_sqs::config::Builder::from(sdk);
            sqs.set_interceptors(interceptors());
            aws_sdk_sqs::Client::from_conf(sqs.build())
        };
        let ses = {
            let mut ses = aws_sdk_sesv2::config::Builder::from(sdk);
            ses.set_interceptors(interceptors());
            aws_sdk_sesv2::Client::from_conf(ses.build())
        };
        App {
            #[cfg(feature = "pipeline")]
            providers: crate::providers::ProviderSet::new(&config.providers),
            config,
            dynamo: aws_sdk_dynamodb::Client::from_conf(dynamo.build()),
            s3: aws_sdk_s3::Client::from_conf(s3.build()),
            sfn: aws_sdk_sfn::Client::from_conf(sfn.build()),
            sqs,
            ses,
        }
    }
}

/// What a host adds to the SDK configuration when it builds the clients.
/// Lambda adds nothing; the local runner adds its per-function call audit
/// and sends S3 traffic through its CORS front.
#[derive(Clone, Debug, Default)]
pub struct Wiring {
    pub interceptors: Vec<aws_sdk_s3::config::SharedInterceptor>,
    pub s3_endpoint: Option<String>,
}

pub async fn aws_sdk_config() -> aws_config::SdkConfig {
    aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await
}
