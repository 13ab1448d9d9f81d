//! The one list of error codes every part of Marquee speaks. GraphQL errors carry
//! the code in `extensions.code`; legacy REST maps the same code to an HTTP status.
//! Internal failures are logged with their cause and shown to clients as a bare
//! `INTERNAL` error, so SQL, hashes and stack traces never leave the process.

use std::fmt;

use http::StatusCode;
use serde::Serialize;

/// A stable, client-facing error code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ErrorCode {
    /// The request itself is malformed (bad JSON, bad query string, bad path parameter).
    BadRequest,
    /// A well-formed request whose values a domain rule refuses (names the field).
    BadUserInput,
    /// The GraphQL document does not parse.
    GraphqlParseFailed,
    /// The GraphQL document does not validate against the schema.
    GraphqlValidationFailed,
    /// No valid credentials were presented.
    Unauthenticated,
    /// Credentials are valid but do not allow this.
    Forbidden,
    NotFound,
    /// The change conflicts with existing state (duplicate, stale version).
    Conflict,
    /// The request body or a header is larger than allowed.
    PayloadTooLarge,
    /// The query exceeds a depth, alias, cost or similar limit.
    QueryTooComplex,
    RateLimited,
    /// An automatic persisted query's hash is not known yet: send the query with it.
    PersistedQueryNotFound,
    /// The subgraph that owns the data is down or its breaker is open.
    SubgraphUnavailable,
    /// A backend this process needs (database, cache, bus) does not answer.
    ServiceUnavailable,
    Internal,
}

impl ErrorCode {
    pub const ALL: [ErrorCode; 15] = [
        Self::BadRequest,
        Self::BadUserInput,
        Self::GraphqlParseFailed,
        Self::GraphqlValidationFailed,
        Self::Unauthenticated,
        Self::Forbidden,
        Self::NotFound,
        Self::Conflict,
        Self::PayloadTooLarge,
        Self::QueryTooComplex,
        Self::RateLimited,
        Self::PersistedQueryNotFound,
        Self::SubgraphUnavailable,
        Self::ServiceUnavailable,
        Self::Internal,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::BadRequest => "BAD_REQUEST",
            Self::BadUserInput => "BAD_USER_INPUT",
            Self::GraphqlParseFailed => "GRAPHQL_PARSE_FAILED",
            Self::GraphqlValidationFailed => "GRAPHQL_VALIDATION_FAILED",
            Self::Unauthenticated => "UNAUTHENTICATED",
            Self::Forbidden => "FORBIDDEN",
            Self::NotFound => "NOT_FOUND",
            Self::Conflict => "CONFLICT",
            Self::PayloadTooLarge => "PAYLOAD_TOO_LARGE",
            Self::QueryTooComplex => "QUERY_TOO_COMPLEX",
            Self::RateLimited => "RATE_LIMITED",
            Self::PersistedQueryNotFound => "PERSISTED_QUERY_NOT_FOUND",
            Self::SubgraphUnavailable => "SUBGRAPH_UNAVAILABLE",
            Self::ServiceUnavailable => "SERVICE_UNAVAILABLE",
            Self::Internal => "INTERNAL",
        }
    }

    pub fn parse(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.as_str() == code)
    }

    /// The HTTP status a REST response (or a GraphQL-over-HTTP request error) carries.
    pub fn http_status(self) -> StatusCode {
        match self {
            Self::BadRequest
            | Self::GraphqlParseFailed
            | Self::GraphqlValidationFailed
            | Self::PersistedQueryNotFound => StatusCode::BAD_REQUEST,
            Self::BadUserInput => StatusCode::UNPROCESSABLE_ENTITY,
            Self::Unauthenticated => StatusCode::UNAUTHORIZED,
            Self::Forbidden => StatusCode::FORBIDDEN,
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::Conflict => StatusCode::CONFLICT,
            Self::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::QueryTooComplex => StatusCode::BAD_REQUEST,
            Self::RateLimited => StatusCode::TOO_MANY_REQUESTS,
            Self::SubgraphUnavailable | Self::ServiceUnavailable => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An error on its way to a client. `message` is safe to show; `source`, when
/// present, is only logged.
///
/// It deliberately does not implement `Display`: async-graphql converts every
/// `Display` type into a bare message, which would drop the code. `?` in a
/// resolver goes through `From<Error> for async_graphql::Error` instead.
#[derive(Debug)]
pub struct Error {
    pub code: ErrorCode,
    pub message: String,
    /// The input field a `BAD_USER_INPUT` error is about, e.g. `input.password`.
    pub field: Option<String>,
    source: Option<anyhow::Error>,
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            field: None,
            source: None,
        }
    }

    /// A refused input value; `field` names it as the client wrote it.
    pub fn bad_input(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: Some(field.into()),
            ..Self::new(ErrorCode::BadUserInput, message)
        }
    }

    pub fn not_found(what: impl fmt::Display) -> Self {
        Self::new(ErrorCode::NotFound, format!("{what} not found"))
    }

    pub fn unauthenticated() -> Self {
        Self::new(ErrorCode::Unauthenticated, "sign in to do this")
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Forbidden, message)
    }

    pub fn conflict(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Conflict, message)
    }

    /// An unexpected failure: the cause is logged here, the client sees only `INTERNAL`.
    pub fn internal(cause: impl Into<anyhow::Error>) -> Self {
        let cause = cause.into();
        tracing::error!(error = %format!("{cause:#}"), "internal error");
        Self {
            source: Some(cause),
            ..Self::new(ErrorCode::Internal, "internal error")
        }
    }

    pub fn unavailable(what: impl fmt::Display, cause: impl Into<anyhow::Error>) -> Self {
        let cause = cause.into();
        tracing::error!(error = %format!("{cause:#}"), "{what} unavailable");
        Self {
            source: Some(cause),
            ..Self::new(
                ErrorCode::ServiceUnavailable,
                format!("{what} is unavailable, try again shortly"),
            )
        }
    }

    /// The logged cause of an internal error.
    pub fn cause(&self) -> Option<&anyhow::Error> {
        self.source.as_ref()
    }

    pub fn with_field(mut self, field: impl Into<String>) -> Self {
        self.field = Some(field.into());
        self
    }

    /// The GraphQL error a resolver returns: message plus `extensions.code` (and `field`).
    pub fn to_graphql(&self) -> async_graphql::Error {
        let mut err = async_graphql::Error::new(self.message.clone());
        let code = self.code.as_str();
        let field = self.field.clone();
        err = async_graphql::ErrorExtensions::extend_with(err, move |_, ext| {
            ext.set("code", code);
            if let Some(field) = &field {
                ext.set("field", field.as_str());
            }
        });
        err
    }
}

impl From<Error> for async_graphql::Error {
    fn from(e: Error) -> Self {
        e.to_graphql()
    }
}

impl From<sea_orm::DbErr> for Error {
    fn from(e: sea_orm::DbErr) -> Self {
        Error::internal(e)
    }
}

impl From<sea_orm::TransactionError<Error>> for Error {
    fn from(e: sea_orm::TransactionError<Error>) -> Self {
        match e {
            sea_orm::TransactionError::Connection(db) => Error::internal(db),
            sea_orm::TransactionError::Transaction(e) => e,
        }
    }
}

impl From<crate::cache::CacheError> for Error {
    fn from(e: crate::cache::CacheError) -> Self {
        Error::unavailable("cache", e)
    }
}

impl From<crate::events::BusError> for Error {
    fn from(e: crate::events::BusError) -> Self {
        Error::unavailable("event bus", e)
    }
}

/// JSON body of a REST error, the legacy envelope.
#[derive(Debug, Serialize)]
pub struct RestErrorBody<'a> {
    pub success: bool,
    pub error: RestErrorDetail<'a>,
}

#[derive(Debug, Serialize)]
pub struct RestErrorDetail<'a> {
    pub code: ErrorCode,
    pub message: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub details: Option<serde_json::Value>,
}

impl axum::response::IntoResponse for Error {
    fn into_response(self) -> axum::response::Response {
        let body = RestErrorBody {
            success: false,
            error: RestErrorDetail {
                code: self.code,
                message: &self.message,
                details: self
                    .field
                    .as_ref()
                    .map(|f| serde_json::json!({ "field": f })),
            },
        };
        (self.code.http_status(), axum::Json(body)).into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_round_trips_through_its_name() {
        for code in ErrorCode::ALL {
            assert_eq!(ErrorCode::parse(code.as_str()), Some(code));
            let json = serde_json::to_value(code).unwrap();
            assert_eq!(json, serde_json::json!(code.as_str()));
        }
    }

    #[test]
    fn statuses_match_the_legacy_contract() {
        assert_eq!(ErrorCode::BadRequest.http_status(), 400);
        assert_eq!(ErrorCode::BadUserInput.http_status(), 422);
        assert_eq!(ErrorCode::Unauthenticated.http_status(), 401);
        assert_eq!(ErrorCode::Forbidden.http_status(), 403);
        assert_eq!(ErrorCode::NotFound.http_status(), 404);
        assert_eq!(ErrorCode::Conflict.http_status(), 409);
        assert_eq!(ErrorCode::RateLimited.http_status(), 429);
        assert_eq!(ErrorCode::SubgraphUnavailable.http_status(), 503);
    }

    #[test]
    fn internal_errors_hide_their_cause() {
        let e = Error::internal(anyhow::anyhow!("syntax error at SELECT * FROM users"));
        assert_eq!(e.message, "internal error");
        let gql = e.to_graphql();
        assert!(!gql.message.contains("SELECT"));
        let ext = serde_json::to_value(gql.extensions.unwrap()).unwrap();
        assert_eq!(ext["code"], "INTERNAL");
    }

    #[test]
    fn bad_input_names_the_field() {
        let gql = Error::bad_input("input.email", "email is not valid").to_graphql();
        let ext = serde_json::to_value(gql.extensions.unwrap()).unwrap();
        assert_eq!(ext["code"], "BAD_USER_INPUT");
        assert_eq!(ext["field"], "input.email");
    }
}
