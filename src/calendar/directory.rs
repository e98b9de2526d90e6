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

/// Turns attendees into people and organizations within one sync transaction.
pub struct Directory {
    user_id: Uuid,
    my_emails: HashSet<String>,
    my_domains: HashSet<String>,
}

/// One person as a batch of attendees describes them.
struct Seen<'a> {
    /// As first written (the stored address keeps its spelling).
    email: &'a str,
    name: Option<&'a str>,
    organization: Option<String>,
    is_me: bool,
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
        })
    }

    /// Creates or updates the people `attendees` name, and the organizations of their company
    /// domains, with one statement each. People are one per lower-cased address; the best
    /// display name wins: a real name replaces a missing one (the last one listed wins), and is
    /// never replaced by a missing one.
    pub async fn upsert_people(
        &self,
        tx: &mut Transaction<'_, Postgres>,
        attendees: &[&Attendee],
    ) -> sqlx::Result<()> {
        let mut at: HashMap<String, usize> = HashMap::new();
        let mut people: Vec<Seen> = Vec::new();
        for attendee in attendees {
            let email = attendee.email.trim();
            let key = email.to_lowercase();
            let name = attendee.name.as_deref();
            match at.get(&key) {
                Some(&k) => people[k].name = name.or(people[k].name),
                None => {
                    let organization = domain_of(&key)
                        .filter(|d| !is_free_mail(d) && !self.my_domains.contains(d));
                    people.push(Seen {
                        email,
                        name,
                        organization,
                        is_me: self.my_emails.contains(&key),
                    });
                    at.insert(key, people.len() - 1);
                }
            }
        }
        if people.is_empty() {
            return Ok(());
        }
        let domains: Vec<&str> = people
            .iter()
            .filter_map(|p| p.organization.as_deref())
            .collect::<HashSet<_>>()
            .into_iter()
            .collect();
        if !domains.is_empty() {
            let names: Vec<String> = domains.iter().map(|d| organization_name(d)).collect();
            sqlx::query(
                "insert into organizations (id, user_id, domain, name)
                 select gen_random_uuid(), $1, u.domain, u.name
                 from unnest($2::text[], $3::text[]) as u(domain, name)
                 on conflict on constraint organizations_user_domain_key do nothing",
            )
            .bind(self.user_id)
            .bind(&domains)
            .bind(&names)
            .execute(&mut **tx)
            .await?;
        }
        let emails: Vec<&str> = people.iter().map(|p| p.email).collect();
        let names: Vec<Option<&str>> = people.iter().map(|p| p.name).collect();
        let organizations: Vec<Option<&str>> =
            people.iter().map(|p| p.organization.as_deref()).collect();
        let me: Vec<bool> = people.iter().map(|p| p.is_me).collect();
        // `distinct on` guards the one-row-per-key rule of `on conflict` should PostgreSQL's
        // lower() fold two addresses together that Rust's did not. Rows that would not change
        // are left alone (no dead tuples on every sync).
        sqlx::query(
            "insert into people (id, user_id, email, name, organization_id, is_me)
             select gen_random_uuid(), $1, u.email, u.name, o.id, u.is_me
             from (select distinct on (lower(u.email)) u.*
                   from unnest($2::text[], $3::text[], $4::text[], $5::bool[])
                        with ordinality as u(email, name, domain, is_me, n)
                   order by lower(u.email), u.n) u
             left join organizations o on o.user_id = $1 and o.domain = u.domain
             on conflict (user_id, lower(email)) do update set
                name = coalesce(excluded.name, people.name),
                organization_id = coalesce(people.organization_id, excluded.organization_id),
                is_me = people.is_me or excluded.is_me
             where (excluded.name is not null and excluded.name is distinct from people.name)
                or (people.organization_id is null and excluded.organization_id is not null)
                or (excluded.is_me and not people.is_me)",
        )
        .bind(self.user_id)
        .bind(&emails)
        .bind(&names)
        .bind(&organizations)
        .bind(&me)
        .execute(&mut **tx)
        .await?;
        Ok(())
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
