//! Today: the signed-in home page.

use askama::Template;
use axum::response::{Html, IntoResponse, Response};

use crate::{
    AppState,
    auth::session::SignedIn,
    http::{AppResult, layout::Layout},
};

#[derive(Template)]
#[template(path = "today.html")]
struct TodayPage {
    layout: Layout,
    name: String,
}

pub async fn page(state: AppState, user: SignedIn) -> AppResult<Response> {
    let page = TodayPage {
        layout: Layout::for_user(&state, &user, "Today", "today").await?,
        name: user.name.clone(),
    };
    Ok(Html(page.render().map_err(anyhow::Error::from)?).into_response())
}
