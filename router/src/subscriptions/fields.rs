//! Which subscription fields the bus feeds: read from the supergraph's
//! `@fromEvents(subject:, key:, value:, check:, resume:)` on `Subscription` fields (a
//! composed directive a subgraph declares), and how a field's subject template
//! becomes a subject for one subscriber.

use std::collections::HashMap;

use graphql_tools::static_graphql::schema::{Definition, TypeDefinition, Value as SdlValue};
use kit::ErrorCode;
use serde_json::Value;

use crate::response::GraphqlError;

pub(crate) const DIRECTIVE: &str = "fromEvents";

/// Where the root value of one event comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Source {
    /// The payload member holding the `id` of the returned entity, fetched
    /// with `_entities` from the subgraph that declares the field.
    Entity { key: String },
    /// The payload member that is the value itself (the whole payload when `None`).
    Value { member: Option<String> },
}

/// One bus-fed subscription field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LiveField {
    /// Subject after the deployment's prefix, with `{viewer}` and `{argument}` holes.
    pub subject: String,
    pub source: Source,
    /// The named return type (the entity's `__typename`).
    pub return_type: String,
    /// A query run with the subscriber's token and the field's arguments
    /// before subscribing; an error refuses the subscription.
    pub check: Option<String>,
    /// The argument holding a resume cursor (an event id).
    pub resume: Option<String>,
    /// A subject template (like `subject`): each event on it runs `check`
    /// again, and the subscription ends once the check fails (a member
    /// removed from a room stops receiving at once).
    pub recheck: Option<String>,
}

impl LiveField {
    pub fn needs_viewer(&self) -> bool {
        self.subject.contains("{viewer}")
    }

    /// The subject for a subscriber: `prefix.` + the template with `{viewer}`
    /// and each `{argument}` filled in, every filled token sanitized so a
    /// value cannot widen the subject with wildcards.
    pub fn subject_for(
        &self,
        prefix: &str,
        viewer: Option<&str>,
        arguments: &serde_json::Map<String, Value>,
    ) -> Result<String, GraphqlError> {
        fill(&self.subject, prefix, viewer, arguments)
    }

    /// The recheck subject for a subscriber, filled like `subject_for`.
    pub fn recheck_for(
        &self,
        prefix: &str,
        viewer: Option<&str>,
        arguments: &serde_json::Map<String, Value>,
    ) -> Result<Option<String>, GraphqlError> {
        self.recheck
            .as_deref()
            .map(|t| fill(t, prefix, viewer, arguments))
            .transpose()
    }
}

fn fill(
    template: &str,
    prefix: &str,
    viewer: Option<&str>,
    arguments: &serde_json::Map<String, Value>,
) -> Result<String, GraphqlError> {
    let mut out = String::with_capacity(prefix.len() + template.len() + 40);
    out.push_str(prefix);
    out.push('.');
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let close = rest[open..].find('}').map(|c| open + c).ok_or_else(|| {
            GraphqlError::new(ErrorCode::Internal, "a subscription subject is malformed")
        })?;
        let name = &rest[open + 1..close];
        let value = if name == "viewer" {
            viewer.map(str::to_string).ok_or_else(|| {
                GraphqlError::new(
                    ErrorCode::Unauthenticated,
                    "this subscription needs a signed-in user",
                )
            })?
        } else {
            match arguments.get(name) {
                Some(Value::String(s)) => s.clone(),
                Some(Value::Number(n)) => n.to_string(),
                _ => {
                    return Err(GraphqlError::new(
                        ErrorCode::BadUserInput,
                        format!("the subscription needs `{name}`"),
                    ))
                }
            }
        };
        if value.is_empty() {
            return Err(GraphqlError::new(
                ErrorCode::BadUserInput,
                format!("`{name}` may not be empty"),
            ));
        }
        out.push_str(&kit::events::sanitize_token(&value));
        rest = &rest[close + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// Every `@fromEvents` field of the supergraph's subscription type, by name.
pub(crate) fn live_fields(sdl: &str) -> HashMap<String, LiveField> {
    let Ok(doc) = crate::composition::parse_supergraph(sdl) else {
        return HashMap::new();
    };
    let subscription = doc
        .definitions
        .iter()
        .find_map(|d| match d {
            Definition::SchemaDefinition(s) => s.subscription.clone(),
            _ => None,
        })
        .unwrap_or_else(|| "Subscription".to_string());
    let mut out = HashMap::new();
    for def in &doc.definitions {
        let fields = match def {
            Definition::TypeDefinition(TypeDefinition::Object(o)) if o.name == subscription => {
                &o.fields
            }
            Definition::TypeExtension(
                graphql_tools::static_graphql::schema::TypeExtension::Object(o),
            ) if o.name == subscription => &o.fields,
            _ => continue,
        };
        for field in fields {
            let Some(d) = field.directives.iter().find(|d| d.name == DIRECTIVE) else {
                continue;
            };
            let arg = |name: &str| {
                d.arguments.iter().find_map(|(k, v)| match v {
                    SdlValue::String(s) if k == name => Some(s.clone()),
                    _ => None,
                })
            };
            let Some(subject) = arg("subject") else {
                tracing::warn!(field = %field.name, "@fromEvents without a subject is ignored");
                continue;
            };
            let source = match arg("key") {
                Some(key) => Source::Entity { key },
                None => Source::Value {
                    member: arg("value"),
                },
            };
            out.insert(
                field.name.clone(),
                LiveField {
                    subject,
                    source,
                    return_type: named_type(&field.field_type).to_string(),
                    check: arg("check"),
                    resume: arg("resume"),
                    recheck: arg("recheck"),
                },
            );
        }
    }
    out
}

fn named_type(t: &graphql_tools::static_graphql::schema::Type) -> &str {
    use graphql_tools::static_graphql::schema::Type;
    match t {
        Type::NamedType(n) => n,
        Type::ListType(inner) | Type::NonNullType(inner) => named_type(inner),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const SDL: &str = r#"
schema { query: Query subscription: Subscription }
directive @fromEvents(subject: String!, key: String, value: String, check: String, resume: String, recheck: String) on FIELD_DEFINITION
type Query { a: Int }
type Chat { id: ID! }
type Subscription {
  chatAdded(roomId: ID!, after: ID): Chat! @fromEvents(subject: "social.chat.{roomId}", key: "messageId", check: "query { a }", resume: "after", recheck: "social.left.{roomId}")
  unread: Int! @fromEvents(subject: "social.unread.{viewer}", value: "count")
  plain: Int
}
"#;

    #[test]
    fn directives_on_subscription_fields_are_read() {
        let f = live_fields(SDL);
        assert_eq!(f.len(), 2);
        let chat = &f["chatAdded"];
        assert_eq!(
            chat.source,
            Source::Entity {
                key: "messageId".into()
            }
        );
        assert_eq!(chat.return_type, "Chat");
        assert_eq!(chat.check.as_deref(), Some("query { a }"));
        assert_eq!(chat.resume.as_deref(), Some("after"));
        assert_eq!(f["unread"].resume, None);
        assert_eq!(
            chat.recheck_for("m", None, json!({"roomId": "r.1"}).as_object().unwrap())
                .unwrap()
                .as_deref(),
            Some("m.social.left.r_1")
        );
        assert_eq!(f["unread"].recheck, None);
        assert!(!chat.needs_viewer());
        assert!(f["unread"].needs_viewer());
        assert_eq!(
            f["unread"].source,
            Source::Value {
                member: Some("count".into())
            }
        );
    }

    #[test]
    fn subjects_are_filled_and_cannot_be_widened() {
        let f = live_fields(SDL);
        let args = json!({"roomId": "r1.>"});
        let subject = f["chatAdded"]
            .subject_for("m", None, args.as_object().unwrap())
            .unwrap();
        assert_eq!(subject, "m.social.chat.r1__");
        let unread = f["unread"]
            .subject_for("m", Some("u1"), &Default::default())
            .unwrap();
        assert_eq!(unread, "m.social.unread.u1");
        let anonymous = f["unread"].subject_for("m", None, &Default::default());
        assert_eq!(
            anonymous.unwrap_err().code(),
            Some(ErrorCode::Unauthenticated.as_str())
        );
    }
}
