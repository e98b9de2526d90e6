//! What the base template needs on every page: title, the signed-in user, the CSRF token for
//! its forms, and banners about the user's accounts and sync.

/// The signed-in user as the header shows them.
#[derive(Debug, Clone)]
pub struct NavUser {
    pub name: String,
    pub email: String,
}

/// A message shown at the top of every page, with an optional action button.
#[derive(Debug, Clone)]
pub struct Banner {
    pub tone: &'static str,
    pub text: String,
    pub action: Option<(String, String)>,
}

#[derive(Debug, Clone, Default)]
pub struct Layout {
    pub title: String,
    pub user: Option<NavUser>,
    pub csrf_token: String,
    pub banners: Vec<Banner>,
    /// One line about the calendar sync ("Synced 3 minutes ago"), with a Sync now button.
    pub sync_line: Option<String>,
    /// The active top-level section, for `aria-current` in the navigation.
    pub section: &'static str,
}

impl Layout {
    /// A page outside any session: the sign-in page, error pages.
    pub fn bare(title: &str) -> Self {
        Layout {
            title: title.to_owned(),
            ..Layout::default()
        }
    }

    pub fn is(&self, section: &str) -> bool {
        self.section == section
    }
}

impl Layout {
    /// The layout of a signed-in page: the user, their CSRF token, and a banner for every
    /// account that needs them (reconnect, missing permission).
    pub async fn for_user(
        state: &crate::AppState,
        user: &crate::auth::session::SignedIn,
        title: &str,
        section: &'static str,
    ) -> Result<Layout, crate::http::AppError> {
        let accounts = crate::accounts::for_user(&state.db, user.id).await?;
        let banners = accounts
            .iter()
            .filter_map(|a| {
                let provider = a.provider();
                let reconnect = Some((
                    "Reconnect".to_owned(),
                    format!("/auth/{}/login?next=/settings", provider.as_str()),
                ));
                match a.status.as_str() {
                    "needs_reconnect" => Some(Banner {
                        tone: "bad",
                        text: format!(
                            "Docket lost access to your {} account {}{}. Your notes are safe; reconnect to resume syncing.",
                            provider.label(),
                            a.email,
                            a.status_reason
                                .as_deref()
                                .map(|r| format!(" ({r})"))
                                .unwrap_or_default()
                        ),
                        action: reconnect,
                    }),
                    "needs_permission" => Some(Banner {
                        tone: "warn",
                        text: format!(
                            "Docket may not read the calendar of your {} account {}. Reconnect and allow calendar access.",
                            provider.label(),
                            a.email
                        ),
                        action: reconnect,
                    }),
                    _ => None,
                }
            })
            .collect();
        Ok(Layout {
            title: title.to_owned(),
            user: Some(NavUser {
                name: user.name.clone(),
                email: user.email.clone(),
            }),
            csrf_token: user.csrf_token.clone(),
            banners,
            sync_line: None,
            section,
        })
    }
}
