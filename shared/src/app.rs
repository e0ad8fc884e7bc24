//! Everything a handler needs, built once per cold start and shared by every
//! invocation: configuration and the AWS clients.

use crate::config::Config;

#[derive(Clone, Debug)]
pub struct App {
    pub config: Config,
    pub dynamo: aws_sdk_dynamodb::Client,
    pub s3: aws_sdk_s3::Client,
    pub sfn: aws_sdk_sfn::Client,
    /// The AI providers the configuration chose (see `providers`).
    pub providers: std::sync::Arc<crate::providers::ProviderSet>,
}

impl App {
    /// Loads AWS configuration the standard way (so `AWS_ENDPOINT_URL` points
    /// the SDK at the local emulator) and the app configuration from the
    /// environment.
    pub async fn from_env() -> anyhow::Result<Self> {
        let config = Config::from_env()?;
        Ok(Self::new(config, &aws_sdk_config().await))
    }

    /// As `from_env`, plus the AI providers' API keys from Secrets Manager
    /// (pipeline workers only: they alone call providers, and only their
    /// roles may read the secrets).
    pub async fn for_worker() -> anyhow::Result<Self> {
        let mut config = Config::from_env()?;
        let sdk = aws_sdk_config().await;
        crate::providers::keys::resolve(&mut config, &sdk).await?;
        Ok(Self::new(config, &sdk))
    }

    pub fn new(config: Config, sdk: &aws_config::SdkConfig) -> Self {
        App {
            providers: crate::providers::ProviderSet::new(&config.providers),
            config,
            dynamo: aws_sdk_dynamodb::Client::new(sdk),
            // Path-style addressing works with any endpoint, including the
            // local emulator on 127.0.0.1.
            s3: aws_sdk_s3::Client::from_conf(
                aws_sdk_s3::config::Builder::from(sdk)
                    .force_path_style(true)
                    .build(),
            ),
            sfn: aws_sdk_sfn::Client::new(sdk),
        }
    }
}

pub async fn aws_sdk_config() -> aws_config::SdkConfig {
    aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await
}
