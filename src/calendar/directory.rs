//! People from attendees, organizations from their e-mail domains.

use std::collections::{HashMap, HashSet};

use sqlx::{Postgres, Transaction};
use uuid::Uuid;

use super::Attendee;

/// Free-mail domains: a shared inbox provider says nothing about someone's organization.
const FREE_MAIL: &[&str] = &[
    "gmail.com",
    "googlemail.com",
    "outlook.com",
    "hotmail.com",
    "hotmail.co.uk",
    "live.com",
    "msn.com",
    "yahoo.com",
    "yahoo.co.uk",
    "ymail.com",
    "icloud.com",
    "me.com",
    "mac.com",
    "aol.com",
    "proton.me",
    "protonmail.com",
    "pm.me",
    "gmx.com",
    "gmx.de",
    "web.de",
    "mail.com",
    "zoho.com",
    "yandex.com",
    "fastmail.com",
    "hey.com",
    "qq.com",
    "163.com",
];

pub fn is_free_mail(domain: &str) -> bool {
    FREE_MAIL.contains(&domain)
}

pub fn domain_of(email: &str) -> Option<String> {
    let (_, domain) = email.rsplit_once('@')?;
    let domain = domain.trim().to_ascii_lowercase();
    (!domain.is_empty() && domain.contains('.')).then_some(domain)
}

/// A readable organization name from its domain: `acme.example` → `Acme`.
pub fn organization_name(domain: &str) -> String {
    let label = domain.split('.').next().unwrap_or(domain);
    let mut chars = label.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => domain.to_owned(),
    }
}

/// Resolves attendees to people rows within one sync transaction, caching ids.
pub struct Directory {
    user_id: Uuid,
    my_emails: HashSet<String>,
    my_domains: HashSet<String>,
    people: HashMap<String, Uuid>,
    organizations: HashMap<String, Uuid>,
}

impl Directory {
    /// The user's own addresses are "me"; their domains are not organizations.
    pub async fn load(tx: &mut Transaction<'_, Postgres>, user_id: Uuid) -> sqlx::Result<Self> {
        let emails: Vec<String> = sqlx::query_scalar(
            "select lower(email) from accounts where user_id = $1
             union select lower(email) from users where id = $1",
        )
        .bind(user_id)
        .fetch_all(&mut **tx)
        .await?;
        let my_domains = emails
            .iter()
            .filter_map(|e| domain_of(e))
            .filter(|d| !is_free_mail(d))
            .collect();
        Ok(Directory {
            user_id,
            my_emails: emails.into_iter().collect(),
            my_domains,
            people: HashMap::new(),
            organizations: HashMap::new(),
        })
    }

    async fn organization(
        &mut self,
        tx: &mut Transaction<'_, Postgres>,
        email: &str,
    ) -> sqlx::Result<Option<Uuid>> {
        let Some(domain) = domain_of(email) else {
            return Ok(None);
        };
        if is_free_mail(&domain) || self.my_domains.contains(&domain) {
            return Ok(None);
        }
        if let Some(id) = self.organizations.get(&domain) {
            return Ok(Some(*id));
        }
        let id: Uuid = sqlx::query_scalar(
            "insert into organizations (id, user_id, domain, name) values ($1, $2, $3, $4)
             on conflict on constraint organizations_user_domain_key do update set domain = excluded.domain
             returning id",
        )
        .bind(Uuid::new_v4())
        .bind(self.user_id)
        .bind(&domain)
        .bind(organization_name(&domain))
        .fetch_one(&mut **tx)
        .await?;
        self.organizations.insert(domain, id);
        Ok(Some(id))
    }

    /// The person for `attendee`, created on first sight. The best display name wins: a real
    /// name replaces a missing one, and is never replaced by a missing one.
    pub async fn person(
        &mut self,
        tx: &mut Transaction<'_, Postgres>,
        attendee: &Attendee,
    ) -> sqlx::Result<Uuid> {
        let key = attendee.email.trim().to_lowercase();
        if let Some(id) = self.people.get(&key)
            && attendee.name.is_none()
        {
            return Ok(*id);
        }
        let organization = self.organization(tx, &key).await?;
        let id: Uuid = sqlx::query_scalar(
            "insert into people (id, user_id, email, name, organization_id, is_me)
             values ($1, $2, $3, $4, $5, $6)
             on conflict (user_id, lower(email)) do update set
                name = coalesce(excluded.name, people.name),
                organization_id = coalesce(people.organization_id, excluded.organization_id),
                is_me = people.is_me or excluded.is_me
             returning id",
        )
        .bind(Uuid::new_v4())
        .bind(self.user_id)
        .bind(attendee.email.trim())
        .bind(attendee.name.as_deref())
        .bind(organization)
        .bind(self.my_emails.contains(&key))
        .fetch_one(&mut **tx)
        .await?;
        self.people.insert(key, id);
        Ok(id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn organizations_come_from_company_domains_only() {
        assert_eq!(
            domain_of("Wile@ACME.example").as_deref(),
            Some("acme.example")
        );
        assert!(is_free_mail("gmail.com"));
        assert!(!is_free_mail("acme.example"));
        assert_eq!(organization_name("globex.example"), "Globex");
        assert_eq!(domain_of("no-at-sign"), None);
    }
}
