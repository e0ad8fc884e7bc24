//! Intrinsic functions in plain CloudFormation JSON (what the SAM
//! translator emits: `{"Ref": ..}`, `{"Fn::Sub": ..}`, `{"Fn::GetAtt": ..}`,
//! `{"Fn::Join": ..}`), resolved the way CloudFormation resolves them
//! against what provisioning recorded.

use std::collections::BTreeMap;

use anyhow::{Context, Result, anyhow, bail};
use serde_json::Value;

use crate::template::Resolved;

/// What names resolve to: pseudo parameters, parameters (their values or
/// defaults), and the resources provisioning recorded.
pub struct Scope<'a> {
    pub resolved: &'a Resolved,
    pub parameters: BTreeMap<String, String>,
    pub region: String,
    pub account: String,
}

impl Scope<'_> {
    fn reference(&self, name: &str) -> Result<String> {
        Ok(match name {
            "AWS::Partition" => "aws".to_owned(),
            "AWS::Region" => self.region.clone(),
            "AWS::AccountId" => self.account.clone(),
            "AWS::URLSuffix" => "amazonaws.com".to_owned(),
            _ => {
                if let Some(value) = self.parameters.get(name) {
                    return Ok(value.clone());
                }
                self.resolved
                    .refs
                    .get(name)
                    .cloned()
                    .ok_or_else(|| anyhow!("Ref {name}: not provisioned locally"))?
            }
        })
    }

    fn attribute(&self, id: &str, attr: &str) -> Result<String> {
        self.resolved
            .attribute(id, attr)
            .map(str::to_owned)
            .ok_or_else(|| anyhow!("Fn::GetAtt {id}.{attr}: not known locally"))
    }

    /// `${Name}`, `${Resource.Attr}` and `${!Literal}` in a `Fn::Sub` string.
    fn substitute(&self, text: &str, vars: &BTreeMap<String, String>) -> Result<String> {
        let mut out = String::with_capacity(text.len());
        let mut rest = text;
        while let Some(start) = rest.find("${") {
            out.push_str(&rest[..start]);
            let after = &rest[start + 2..];
            let end = after
                .find('}')
                .with_context(|| format!("Fn::Sub: unclosed ${{ in {text}"))?;
            let name = &after[..end];
            if let Some(literal) = name.strip_prefix('!') {
                out.push_str("${");
                out.push_str(literal);
                out.push('}');
            } else if let Some(value) = vars.get(name) {
                out.push_str(value);
            } else if let Some((id, attr)) = name.split_once('.') {
                out.push_str(&self.attribute(id, attr)?);
            } else {
                out.push_str(&self.reference(name)?);
            }
            rest = &after[end + 1..];
        }
        out.push_str(rest);
        Ok(out)
    }

    /// Any value with every intrinsic in it resolved.
    pub fn resolve(&self, value: &Value) -> Result<Value> {
        match value {
            Value::Array(items) => Ok(Value::Array(
                items
                    .iter()
                    .map(|v| self.resolve(v))
                    .collect::<Result<_>>()?,
            )),
            Value::Object(map) if map.len() == 1 => {
                let (key, arg) = map.iter().next().ok_or_else(|| anyhow!("empty object"))?;
                match key.as_str() {
                    "Ref" => {
                        let name = arg.as_str().context("Ref of a non-string")?;
                        Ok(Value::String(self.reference(name)?))
                    }
                    "Fn::GetAtt" => {
                        let (id, attr) = match arg {
                            Value::String(s) => s
                                .split_once('.')
                                .with_context(|| format!("Fn::GetAtt {s}"))?,
                            Value::Array(parts) => match parts.as_slice() {
                                [Value::String(id), Value::String(attr)] => {
                                    (id.as_str(), attr.as_str())
                                }
                                _ => bail!("Fn::GetAtt must be [Resource, Attribute]"),
                            },
                            other => bail!("Fn::GetAtt of {other}"),
                        };
                        Ok(Value::String(self.attribute(id, attr)?))
                    }
                    "Fn::Sub" => {
                        let (text, vars) = match arg {
                            Value::String(s) => (s.as_str(), BTreeMap::new()),
                            Value::Array(parts) => match parts.as_slice() {
                                [Value::String(s), Value::Object(vars)] => {
                                    let mut resolved = BTreeMap::new();
                                    for (name, v) in vars {
                                        resolved.insert(name.clone(), self.scalar(v)?);
                                    }
                                    (s.as_str(), resolved)
                                }
                                _ => bail!("Fn::Sub must be a string or [string, variables]"),
                            },
                            other => bail!("Fn::Sub of {other}"),
                        };
                        Ok(Value::String(self.substitute(text, &vars)?))
                    }
                    "Fn::Join" => match arg {
                        Value::Array(parts) => match parts.as_slice() {
                            [Value::String(delimiter), Value::Array(items)] => {
                                let items: Vec<String> = items
                                    .iter()
                                    .map(|v| self.scalar(v))
                                    .collect::<Result<_>>()?;
                                Ok(Value::String(items.join(delimiter)))
                            }
                            _ => bail!("Fn::Join must be [delimiter, [values]]"),
                        },
                        other => bail!("Fn::Join of {other}"),
                    },
                    other if other.starts_with("Fn::") => {
                        bail!("{other} is not supported by the local runner")
                    }
                    _ => Ok(Value::Object(
                        std::iter::once(Ok((key.clone(), self.resolve(arg)?)))
                            .collect::<Result<_>>()?,
                    )),
                }
            }
            Value::Object(map) => Ok(Value::Object(
                map.iter()
                    .map(|(k, v)| Ok((k.clone(), self.resolve(v)?)))
                    .collect::<Result<_>>()?,
            )),
            other => Ok(other.clone()),
        }
    }

    fn scalar(&self, value: &Value) -> Result<String> {
        match self.resolve(value)? {
            Value::String(s) => Ok(s),
            Value::Number(n) => Ok(n.to_string()),
            Value::Bool(b) => Ok(b.to_string()),
            other => bail!("expected a scalar, got {other}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn scope(resolved: &Resolved) -> Scope<'_> {
        Scope {
            resolved,
            parameters: BTreeMap::from([("Stage".to_owned(), "prod".to_owned())]),
            region: "ap-southeast-1".into(),
            account: "123456789012".into(),
        }
    }

    #[test]
    fn resolves_what_the_sam_translator_emits() {
        let mut r = Resolved::default();
        r.set_ref("Table", "t1");
        r.set_attribute("Machine", "Name", "m1");
        let s = scope(&r);
        let value = json!([
            {"Fn::Sub": ["arn:${AWS::Partition}:dynamodb:${AWS::Region}:${AWS::AccountId}:table/${tableName}", {"tableName": {"Ref": "Table"}}]},
            {"Fn::Sub": "arn:aws:states:${AWS::Region}:${AWS::AccountId}:execution:${Machine.Name}:*"},
            {"Fn::Join": ["-", [{"Ref": "Stage"}, "x"]]},
            {"Fn::GetAtt": ["Machine", "Name"]},
            {"Fn::Sub": "${!Literal}"},
        ]);
        assert_eq!(
            s.resolve(&value).unwrap(),
            json!([
                "arn:aws:dynamodb:ap-southeast-1:123456789012:table/t1",
                "arn:aws:states:ap-southeast-1:123456789012:execution:m1:*",
                "prod-x",
                "m1",
                "${Literal}",
            ])
        );
    }

    #[test]
    fn unknown_names_and_functions_are_errors() {
        let r = Resolved::default();
        let s = scope(&r);
        assert!(s.resolve(&json!({"Ref": "Nope"})).is_err());
        assert!(s.resolve(&json!({"Fn::If": ["c", 1, 2]})).is_err());
        assert!(s.resolve(&json!({"Fn::Sub": "${Open"})).is_err());
    }
}
