//! Reads `infra/template.yaml`, the single source of truth for resources, and
//! resolves what the local runner needs from it: tables to create, HTTP
//! routes and the binaries that serve them, and the functions' environment.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Context, Result, anyhow, bail};
use serde_yaml::Value;

#[derive(Debug, Clone)]
pub struct Template {
    resources: serde_yaml::Mapping,
    parameters: serde_yaml::Mapping,
    globals_env: serde_yaml::Mapping,
}

#[derive(Debug, Clone)]
pub struct HttpRoute {
    pub function: String,
    pub binary: String,
    pub method: String,
    /// API Gateway path syntax, e.g. `/videos/{id}`.
    pub path: String,
}

#[derive(Debug, Clone)]
pub struct TableSpec {
    pub logical_id: String,
    /// The `Properties` block, which mirrors the CreateTable request.
    pub properties: Value,
}

fn tag_name(tagged: &serde_yaml::value::TaggedValue) -> String {
    tagged.tag.to_string().trim_start_matches('!').to_owned()
}

fn get<'v>(value: &'v Value, key: &str) -> Option<&'v Value> {
    value.as_mapping().and_then(|m| m.get(key))
}

impl Template {
    pub fn load(path: &Path) -> Result<Self> {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        Self::parse(&text)
    }

    pub fn parse(text: &str) -> Result<Self> {
        let doc: Value = serde_yaml::from_str(text).context("parsing template YAML")?;
        let mapping =
            |v: Option<&Value>| v.and_then(Value::as_mapping).cloned().unwrap_or_default();
        let resources = mapping(get(&doc, "Resources"));
        if resources.is_empty() {
            bail!("template has no Resources");
        }
        let globals_env = mapping(
            get(&doc, "Globals")
                .and_then(|g| get(g, "Function"))
                .and_then(|f| get(f, "Environment"))
                .and_then(|e| get(e, "Variables")),
        );
        Ok(Template {
            resources,
            parameters: mapping(get(&doc, "Parameters")),
            globals_env,
        })
    }

    fn resources_of_type<'a>(
        &'a self,
        kind: &'a str,
    ) -> impl Iterator<Item = (String, &'a Value)> + 'a {
        self.resources.iter().filter_map(move |(id, res)| {
            let id = id.as_str()?;
            (get(res, "Type")?.as_str()? == kind).then(|| (id.to_owned(), res))
        })
    }

    pub fn tables(&self) -> Vec<TableSpec> {
        self.resources_of_type("AWS::DynamoDB::Table")
            .map(|(logical_id, res)| TableSpec {
                logical_id,
                properties: get(res, "Properties").cloned().unwrap_or(Value::Null),
            })
            .collect()
    }

    pub fn http_routes(&self) -> Result<Vec<HttpRoute>> {
        let mut routes = Vec::new();
        for (function, res) in self.resources_of_type("AWS::Serverless::Function") {
            let Some(events) = get(res, "Properties")
                .and_then(|p| get(p, "Events"))
                .and_then(Value::as_mapping)
            else {
                continue;
            };
            for event in events.values() {
                if get(event, "Type").and_then(Value::as_str) != Some("HttpApi") {
                    continue;
                }
                let props = get(event, "Properties")
                    .with_context(|| format!("{function}: HttpApi event without Properties"))?;
                let field = |name: &str| {
                    get(props, name)
                        .and_then(Value::as_str)
                        .map(str::to_owned)
                        .with_context(|| format!("{function}: HttpApi event without {name}"))
                };
                let binary = get(res, "Metadata")
                    .and_then(|m| get(m, "BuildProperties"))
                    .and_then(|b| get(b, "Binary"))
                    .and_then(Value::as_str)
                    .with_context(|| {
                        format!("{function}: Metadata.BuildProperties.Binary is missing")
                    })?;
                routes.push(HttpRoute {
                    function: function.clone(),
                    binary: binary.to_owned(),
                    method: field("Method")?.to_uppercase(),
                    path: field("Path")?,
                });
            }
        }
        Ok(routes)
    }

    /// The functions' environment (Globals and per-function variables),
    /// with `!Ref` resolved: resources to their local names, parameters to
    /// their defaults.
    pub fn environment(
        &self,
        local_name: impl Fn(&str) -> String,
    ) -> Result<BTreeMap<String, String>> {
        let mut env = BTreeMap::new();
        let mut sources = vec![&self.globals_env];
        let per_function: Vec<serde_yaml::Mapping> = self
            .resources_of_type("AWS::Serverless::Function")
            .filter_map(|(_, res)| {
                get(res, "Properties")
                    .and_then(|p| get(p, "Environment"))
                    .and_then(|e| get(e, "Variables"))
                    .and_then(Value::as_mapping)
                    .cloned()
            })
            .collect();
        sources.extend(per_function.iter());
        for vars in sources {
            for (key, value) in vars {
                let key = key
                    .as_str()
                    .ok_or_else(|| anyhow!("non-string variable name"))?;
                let resolved = self
                    .resolve(value, &local_name)
                    .with_context(|| format!("variable {key}"))?;
                if let Some(previous) = env.insert(key.to_owned(), resolved.clone())
                    && previous != resolved
                {
                    bail!(
                        "variable {key} has different values in different functions; the runner hosts them in one process"
                    );
                }
            }
        }
        Ok(env)
    }

    fn resolve(&self, value: &Value, local_name: &impl Fn(&str) -> String) -> Result<String> {
        match value {
            Value::String(s) => Ok(s.clone()),
            Value::Number(n) => Ok(n.to_string()),
            Value::Bool(b) => Ok(b.to_string()),
            Value::Tagged(tagged) if tag_name(tagged) == "Ref" => {
                let name = tagged
                    .value
                    .as_str()
                    .ok_or_else(|| anyhow!("!Ref of a non-string"))?;
                if let Some(param) = self.parameters.get(name) {
                    let default = get(param, "Default")
                        .ok_or_else(|| anyhow!("parameter {name} has no Default"))?;
                    return self.resolve(default, local_name);
                }
                if self.resources.contains_key(name) {
                    return Ok(local_name(name));
                }
                bail!("!Ref {name} names no parameter or resource")
            }
            other => bail!("unsupported value {other:?}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn repo_template() -> Template {
        Template::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../infra/template.yaml"))
            .unwrap()
    }

    #[test]
    fn reads_routes_tables_and_environment_from_the_real_template() {
        let t = repo_template();
        let routes = t.http_routes().unwrap();
        assert!(routes.iter().any(|r| r.method == "POST"
            && r.path == "/auth/register"
            && r.binary == "auth-register"));
        let tables: Vec<String> = t.tables().into_iter().map(|t| t.logical_id).collect();
        assert!(tables.contains(&"AccountsTable".to_owned()));
        let env = t.environment(|id| format!("local-{id}")).unwrap();
        assert_eq!(env["ACCOUNTS_TABLE"], "local-AccountsTable");
        assert_eq!(env["AUTH_RATE_LIMIT_PER_MINUTE"], "10");
    }

    #[test]
    fn every_template_route_has_a_handler() {
        for route in repo_template().http_routes().unwrap() {
            assert!(
                glimvid::http::Endpoint::from_name(&route.binary).is_some(),
                "{} has no endpoint",
                route.binary
            );
        }
    }

    #[test]
    fn unknown_ref_is_an_error() {
        let t = Template::parse(
            "Resources:\n  F:\n    Type: AWS::Serverless::Function\n    Properties:\n      Environment:\n        Variables:\n          X: !Ref Nope\n",
        )
        .unwrap();
        assert!(t.environment(|id| id.to_owned()).is_err());
    }
}
