//! The HTTP stack around every route: request ids, a trace span per request, metrics, security
//! headers, friendly error pages, compression, body limit and timeout.

pub mod error;
pub mod layout;
pub mod notice;
pub mod params;
pub mod rate_limit;

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use axum::{
    Router,
    body::Body,
    extract::{MatchedPath, Request, State},
    http::{HeaderName, HeaderValue, StatusCode, header},
    middleware::{self, Next},
    response::Response,
};
use tower::{Layer as _, ServiceExt as _};
use tower_http::{
    catch_panic::CatchPanicLayer,
    compression::{
        CompressionLayer, DefaultPredicate, Predicate as _, predicate::NotForContentType,
    },
    limit::RequestBodyLimitLayer,
    request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer},
    set_header::SetResponseHeaderLayer,
    timeout::TimeoutLayer,
    trace::TraceLayer,
};
use tracing::{Span, field::Empty};

pub use error::{AppError, AppResult, error_page};

/// Largest request body accepted; a note of a megabyte is already a book.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// No inline script anywhere: scripts come from `/static` only.
const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self'; \
     img-src 'self' data:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'";

/// Wraps the application's routes in the shared middleware stack. `uploads` names the routes
/// (exact paths) allowed a larger body than [`MAX_BODY_BYTES`], with their limit.
pub fn stack(
    router: Router,
    request_timeout: Duration,
    https: bool,
    uploads: &[(&'static str, usize)],
) -> Router {
    let hsts = https.then(|| HeaderValue::from_static("max-age=31536000; includeSubDomains"));
    let limits = BodyLimits(uploads.to_vec().into());
    // `Router::layer` wraps inside-out: the first layer here is the innermost.
    router
        .layer(middleware::from_fn_with_state(limits, limit_body))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::SERVICE_UNAVAILABLE,
            request_timeout,
        ))
        .layer(CatchPanicLayer::custom(panic_response))
        .layer(middleware::from_fn(friendly_errors))
        .layer(middleware::from_fn(record_metrics))
        // A zip is compressed already: gzip over it costs CPU for nothing (the default
        // predicate skips only images, gRPC and event streams).
        .layer(CompressionLayer::new().compress_when(
            DefaultPredicate::new().and(NotForContentType::const_new("application/zip")),
        ))
        // Pages can hold private notes: no shared or browser cache unless a route says otherwise.
        .layer(header_layer(header::CACHE_CONTROL, "no-store"))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::STRICT_TRANSPORT_SECURITY,
            hsts,
        ))
        .layer(header_layer(
            header::REFERRER_POLICY,
            "strict-origin-when-cross-origin",
        ))
        .layer(header_layer(header::X_FRAME_OPTIONS, "DENY"))
        .layer(header_layer(header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .layer(header_layer(
            header::CONTENT_SECURITY_POLICY,
            CONTENT_SECURITY_POLICY,
        ))
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(request_span)
                .on_request(())
                .on_response(log_response)
                .on_failure(()),
        )
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
}

/// The body limit of each upload route; every other route has [`MAX_BODY_BYTES`].
#[derive(Clone)]
struct BodyLimits(Arc<[(&'static str, usize)]>);

/// tower-http's body limit (413 on a longer `Content-Length`, a cut-off stream otherwise), with
/// the limit of the request's route: an upload route's own, else the global one.
async fn limit_body(State(limits): State<BodyLimits>, request: Request, next: Next) -> Response {
    let path = request.uri().path();
    let limit = limits
        .0
        .iter()
        .find(|(route, _)| *route == path)
        .map_or(MAX_BODY_BYTES, |(_, limit)| *limit);
    // The limit wraps the body in its own type; the rest of the stack takes a plain `Body`.
    let next = next.map_request(|request: Request<_>| request.map(Body::new));
    match RequestBodyLimitLayer::new(limit)
        .layer(next)
        .oneshot(request)
        .await
    {
        Ok(response) => response.map(Body::new),
        Err(never) => match never {},
    }
}

fn header_layer(name: HeaderName, value: &'static str) -> SetResponseHeaderLayer<HeaderValue> {
    SetResponseHeaderLayer::if_not_present(name, HeaderValue::from_static(value))
}

fn request_span(request: &Request<Body>) -> Span {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "unmatched".into());
    let request_id = request
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    tracing::info_span!(
        "request",
        method = %request.method(),
        route,
        request_id,
        user_id = Empty,
        status = Empty,
        latency_ms = Empty,
    )
}

fn log_response(response: &Response, latency: Duration, span: &Span) {
    span.record("status", response.status().as_u16());
    span.record("latency_ms", latency.as_secs_f64() * 1000.0);
    if response.status().is_server_error() {
        tracing::warn!(status = response.status().as_u16(), "request failed");
    } else {
        tracing::info!(status = response.status().as_u16(), "request finished");
    }
}

async fn record_metrics(request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "unmatched".into());
    let method = request.method().to_string();
    let started = Instant::now();
    let response = next.run(request).await;
    let labels = [
        ("method", method),
        ("route", route),
        ("status", response.status().as_u16().to_string()),
    ];
    metrics::counter!("http_requests_total", &labels).increment(1);
    metrics::histogram!("http_request_duration_seconds", &labels)
        .record(started.elapsed().as_secs_f64());
    response
}

/// Any error response without a body of its own kind (axum's empty 404/405 and plain-text
/// rejections, the body limit's 413, the timeout's 408) becomes an HTML page, so users never see
/// a blank or plain-text error. HTML and JSON errors pass through untouched. Under the API's
/// path every error that is not a problem detail already (an HTML panic page included) becomes
/// one instead: programs get `application/problem+json` whatever failed.
async fn friendly_errors(request: Request, next: Next) -> Response {
    let api = crate::api::owns(request.uri().path());
    let response = next.run(request).await;
    let status = response.status();
    let content_type = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    let bare = content_type.is_none_or(|v| v.starts_with("text/plain"));
    let replace = if api {
        content_type != Some(crate::api::problem::CONTENT_TYPE)
    } else {
        bare
    };
    if !(status.is_client_error() || status.is_server_error()) || !replace {
        return response;
    }
    let status = match status {
        // A form that does not deserialize (axum says 422) is simply a bad request to the user.
        StatusCode::UNPROCESSABLE_ENTITY if !api => StatusCode::BAD_REQUEST,
        // Docket's own 500s are already pages; a bare one comes from a layer, in practice the
        // session store failing to save while the database is unreachable: say "try again".
        StatusCode::INTERNAL_SERVER_ERROR if bare => {
            tracing::warn!("a layer answered 500 (session store unavailable?); answering 503");
            StatusCode::SERVICE_UNAVAILABLE
        }
        other => other,
    };
    let mut page = if api {
        crate::api::problem::bare(status)
    } else {
        error_page(status, None)
    };
    for name in [header::ALLOW, header::RETRY_AFTER, header::WWW_AUTHENTICATE] {
        if let Some(value) = response.headers().get(&name) {
            page.headers_mut().insert(name, value.clone());
        }
    }
    if status == StatusCode::SERVICE_UNAVAILABLE {
        page.headers_mut()
            .entry(header::RETRY_AFTER)
            .or_insert(HeaderValue::from_static("2"));
    }
    page
}

/// Where no route matches: a bare 404, which [`friendly_errors`] makes a page or, under the
/// API's path, a problem detail.
pub async fn not_found() -> StatusCode {
    StatusCode::NOT_FOUND
}

fn panic_response(_: Box<dyn std::any::Any + Send + 'static>) -> Response {
    tracing::error!("handler panicked");
    let mut response = error_page(StatusCode::INTERNAL_SERVER_ERROR, None);
    *response.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
    response
}
