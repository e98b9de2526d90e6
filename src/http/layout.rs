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
    /// Reload the page every few seconds (while the first sync runs), without script.
    pub refresh: bool,
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
        let (sync_line, refresh) = sync_line(state, user.id).await?;
        Ok(Layout {
            title: title.to_owned(),
            user: Some(NavUser {
                name: user.name.clone(),
                email: user.email.clone(),
            }),
            csrf_token: user.csrf_token.clone(),
            banners,
            sync_line,
            section,
            // Only the agenda reloads itself: a reload elsewhere could lose what is being typed.
            refresh: refresh && section == "today",
        })
    }
}

#[derive(sqlx::FromRow)]
struct SyncSummary {
    accounts: i64,
    running: Option<bool>,
    progress: Option<i64>,
    last_success: Option<chrono::DateTime<chrono::Utc>>,
    error: Option<String>,
    next_due: Option<chrono::DateTime<chrono::Utc>>,
}

/// The sync state in plain words: syncing now (with progress on the first sync), the last
/// success, or the problem and when Docket tries again.
async fn sync_line(
    state: &crate::AppState,
    user_id: uuid::Uuid,
) -> Result<(Option<String>, bool), crate::http::AppError> {
    let s: SyncSummary = sqlx::query_as(
        "select count(*) as accounts,
                bool_or(s.lease_until > now()) as running,
                sum(s.progress)::bigint as progress,
                max(s.last_success_at) as last_success,
                max(s.last_error) as error,
                min(s.due_at) as next_due
         from sync_state s join accounts a on a.id = s.account_id
         where s.user_id = $1 and a.status = 'active'",
    )
    .bind(user_id)
    .fetch_one(&state.db)
    .await?;
    if s.accounts == 0 {
        return Ok((None, false));
    }
    let now = chrono::Utc::now();
    let first = s.last_success.is_none();
    let line = match (s.running.unwrap_or(false), first, &s.error, s.last_success) {
        (true, true, _, _) => format!(
            "Syncing your calendar for the first time… {} events so far.",
            s.progress.unwrap_or(0)
        ),
        (true, false, _, _) => "Syncing now…".to_owned(),
        (false, _, Some(error), _) => format!(
            "Sync problem: {error}. Docket will try again {}.",
            s.next_due
                .map(|d| crate::time::relative(d, now))
                .unwrap_or_else(|| "soon".into())
        ),
        (false, _, None, Some(at)) => format!("Synced {}.", crate::time::relative(at, now)),
        (false, _, None, None) => "Waiting for the first sync…".to_owned(),
    };
    Ok((Some(line), first && s.running.unwrap_or(false)))
}
