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
