//! What the base template needs on every page: title, the signed-in user, the CSRF token for
//! its forms, and banners about the user's accounts and sync.

use crate::{auth::provider::Provider, kinds::AccountStatus};

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
    /// What the user just did, with a way to undo it (see [`super::notice`]).
    pub notice: Option<super::notice::Notice>,
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

    /// The layout showing the notice the page's address carries.
    pub fn with_notice(self, notice: super::notice::PageNotice) -> Layout {
        Layout {
            notice: notice.0,
            ..self
        }
    }
}

impl Layout {
    /// The layout of a signed-in page: the user, their CSRF token, and a banner for every
    /// account that needs them (reconnect, missing permission). Everything it shows was loaded
    /// with the session, so it costs no query.
    pub fn for_user(
        user: &crate::auth::session::SignedIn,
        title: &str,
        section: &'static str,
    ) -> Layout {
        let accounts = &user.accounts;
        // Signed in with an identity only (OpenID Connect): nothing to show until a calendar
        // is linked, so say where to link one.
        let no_calendar = (!accounts.is_empty()
            && accounts.iter().all(|a| a.provider.signs_in_only()))
        .then(|| Banner {
            tone: "warn",
            text: "No calendar is connected yet. Connect a Google or Microsoft account, a CalDAV calendar or a calendar URL in Settings to see your meetings here.".to_owned(),
            action: Some(("Connect a calendar".to_owned(), "/settings".to_owned())),
        });
        let banners = no_calendar
            .into_iter()
            .chain(accounts.iter().filter_map(|a| {
                let provider = a.provider;
                let reconnect = Some(("Reconnect".to_owned(), provider.reconnect_path()));
                match a.status {
                    AccountStatus::NeedsReconnect => Some(Banner {
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
                    AccountStatus::NeedsPermission => Some(Banner {
                        tone: "warn",
                        text: format!(
                            "Docket may not read the calendar of your {} account {}. Reconnect and allow calendar access.",
                            provider.label(),
                            a.email
                        ),
                        action: reconnect,
                    }),
                    AccountStatus::Active
                    | AccountStatus::Disconnected
                    | AccountStatus::SignInOnly => None,
                }
            }))
            .collect();
        let (sync_line, refresh) = sync_line(accounts);
        Layout {
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
            notice: None,
        }
    }
}

/// An account with its sync state, as every page's header needs it (loaded with the session).
#[derive(Debug, Clone, Hash, serde::Serialize, serde::Deserialize)]
pub struct AccountState {
    pub provider: Provider,
    pub email: String,
    pub status: AccountStatus,
    pub status_reason: Option<String>,
    pub running: Option<bool>,
    pub progress: Option<i32>,
    pub last_success_at: Option<chrono::DateTime<chrono::Utc>>,
    pub last_error: Option<String>,
    pub due_at: Option<chrono::DateTime<chrono::Utc>>,
}

/// The sync state in plain words: syncing now (with progress on the first sync), the last
/// success, or the problem and when Docket tries again. Only active accounts count.
fn sync_line(accounts: &[AccountState]) -> (Option<String>, bool) {
    let active: Vec<&AccountState> = accounts
        .iter()
        .filter(|a| a.status == AccountStatus::Active && a.due_at.is_some())
        .collect();
    if active.is_empty() {
        return (None, false);
    }
    let now = chrono::Utc::now();
    let running = active.iter().any(|a| a.running == Some(true));
    let progress: i64 = active
        .iter()
        .filter_map(|a| a.progress)
        .map(i64::from)
        .sum();
    let last_success = active.iter().filter_map(|a| a.last_success_at).max();
    let error = active.iter().filter_map(|a| a.last_error.clone()).max();
    let next_due = active.iter().filter_map(|a| a.due_at).min();
    let first = last_success.is_none();
    let line = match (running, first, &error, last_success) {
        (true, true, _, _) => {
            format!("Syncing your calendar for the first time… {progress} events so far.")
        }
        (true, false, _, _) => "Syncing now…".to_owned(),
        (false, _, Some(error), _) => format!(
            "Sync problem: {error}. Docket will try again {}.",
            next_due
                .map(|d| crate::time::relative(d, now))
                .unwrap_or_else(|| "soon".into())
        ),
        (false, _, None, Some(at)) => format!("Synced {}.", crate::time::relative(at, now)),
        (false, _, None, None) => "Waiting for the first sync…".to_owned(),
    };
    (Some(line), first && running)
}
