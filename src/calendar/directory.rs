//! People from attendees, organizations from their e-mail domains.

use std::collections::{HashMap, HashSet};

use sqlx::{PgPool, Postgres, Transaction};
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

/// Turns attendees into people and organizations for one listing. It remembers the ids it has
/// seen (memory grows with the people in a calendar, not its events).
pub struct Directory {
    user_id: Uuid,
    my_emails: HashSet<String>,
    my_domains: HashSet<String>,
    /// Lower-cased address → the person's id and the display name last written.
    people: HashMap<String, (Uuid, Option<String>)>,
    organizations: HashMap<String, Uuid>,
}

/// One person as a batch of attendees describes them.
struct Seen<'a> {
    key: String,
    /// As first written (the stored address keeps its spelling).
    email: &'a str,
    name: Option<&'a str>,
    domain: Option<String>,
    is_me: bool,
}

fn key_of(email: &str) -> String {
    email.trim().to_lowercase()
}

impl Directory {
    /// The user's own addresses are "me"; their domains are not organizations.
    pub async fn load(tx: &mut Transaction<'_, Postgres>, user_id: Uuid) -> sqlx::Result<Self> {
        let emails = sqlx::query_scalar!(
            r#"select lower(email) as "email!" from accounts where user_id = $1
             union select lower(email) from users where id = $1"#,
            user_id,
        )
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

    /// The person for an attendee of a batch already passed to [`Directory::upsert_people`].
    pub fn person_id(&self, attendee: &Attendee) -> Option<Uuid> {
        self.people.get(&key_of(&attendee.email)).map(|(id, _)| *id)
    }

    /// Creates or updates the people `attendees` name, and the organizations of their company
    /// domains, with a few statements whatever their number. People are one per lower-cased
    /// address; the best display name wins: a real name replaces a missing one (the last one
    /// listed wins), and is never replaced by a missing one.
    ///
    /// They are written in a short transaction of their own, one per user at a time, not in the
    /// listing's: two listings of one user creating the same person would otherwise wait for
    /// each other's end (the second insert of a key waits for the first to commit), and could
    /// each wait for the other. A listing that fails later leaves these people, who then show
    /// with no meetings until a sync lists them again; its meetings, attendees and cursor are
    /// still all or nothing.
    pub async fn upsert_people(
        &mut self,
        db: &PgPool,
        attendees: &[&Attendee],
    ) -> sqlx::Result<()> {
        let mut at: HashMap<String, usize> = HashMap::new();
        let mut seen: Vec<Seen> = Vec::new();
        for attendee in attendees {
            let key = key_of(&attendee.email);
            let name = attendee.name.as_deref();
            if let Some(&k) = at.get(&key) {
                seen[k].name = name.or(seen[k].name);
                continue;
            }
            // Already written in this sync, and nothing new to say about them.
            if let Some((_, written)) = self.people.get(&key)
                && (name.is_none() || name == written.as_deref())
            {
                continue;
            }
            let domain =
                domain_of(&key).filter(|d| !is_free_mail(d) && !self.my_domains.contains(d));
            at.insert(key.clone(), seen.len());
            seen.push(Seen {
                is_me: self.my_emails.contains(&key),
                key,
                email: attendee.email.trim(),
                name,
                domain,
            });
        }
        if seen.is_empty() {
            return Ok(());
        }
        let mut tx = db.begin().await?;
        sqlx::query_scalar!(
            r#"select 1 as "locked!" from (select pg_advisory_xact_lock(hashtextextended('docket.people.' || $1::text, 0))) l"#,
            self.user_id.to_string(),
        )
        .fetch_one(&mut *tx)
        .await?;
        self.write_people(&mut tx, seen).await?;
        tx.commit().await
    }

    async fn write_people(
        &mut self,
        tx: &mut Transaction<'_, Postgres>,
        mut seen: Vec<Seen<'_>>,
    ) -> sqlx::Result<()> {
        // Who exists already, by the (user_id, lower(email)) index: only new people and real
        // changes are written, so an incremental sync locks and rewrites no unchanged person.
        let unknown: Vec<String> = seen
            .iter()
            .filter(|p| !self.people.contains_key(&p.key))
            .map(|p| p.key.clone())
            .collect();
        let mut stored: HashMap<String, (Option<String>, bool, bool)> = HashMap::new();
        if !unknown.is_empty() {
            let rows = sqlx::query!(
                r#"select id, email, name, organization_id is not null as "has_organization!", is_me
                 from people where user_id = $1 and lower(email) = any($2)"#,
                self.user_id,
                unknown.as_slice(),
            )
            .fetch_all(&mut **tx)
            .await?;
            for row in rows {
                let key = key_of(&row.email);
                self.people.insert(key.clone(), (row.id, row.name.clone()));
                stored.insert(key, (row.name, row.has_organization, row.is_me));
            }
        }
        seen.retain(|p| match stored.get(&p.key) {
            Some((name, has_organization, is_me)) => {
                (p.name.is_some() && p.name != name.as_deref())
                    || (!has_organization && p.domain.is_some())
                    || (p.is_me && !is_me)
            }
            // New, or written earlier in this sync and now with another name.
            None => true,
        });
        if seen.is_empty() {
            return Ok(());
        }
        self.upsert_organizations(tx, &seen).await?;
        let emails: Vec<&str> = seen.iter().map(|p| p.email).collect();
        let names: Vec<Option<&str>> = seen.iter().map(|p| p.name).collect();
        let organizations: Vec<Option<Uuid>> = seen
            .iter()
            .map(|p| {
                p.domain
                    .as_ref()
                    .and_then(|d| self.organizations.get(d).copied())
            })
            .collect();
        let me: Vec<bool> = seen.iter().map(|p| p.is_me).collect();
        // `distinct on` guards the one-row-per-key rule of `on conflict` should PostgreSQL's
        // lower() fold two addresses together that Rust's did not. Rows that would not change
        // are left alone (no dead tuples on every sync), so they are not returned either.
        let written = sqlx::query!(
            "insert into people (id, user_id, email, name, organization_id, is_me)
             select gen_random_uuid(), $1, u.email, u.name, u.organization_id, u.is_me
             from (select distinct on (lower(u.email)) u.*
                   from unnest($2::text[], $3::text[], $4::uuid[], $5::bool[])
                        with ordinality as u(email, name, organization_id, is_me, n)
                   order by lower(u.email), u.n) u
             on conflict (user_id, lower(email)) do update set
                name = coalesce(excluded.name, people.name),
                organization_id = coalesce(people.organization_id, excluded.organization_id),
                is_me = people.is_me or excluded.is_me
             where (excluded.name is not null and excluded.name is distinct from people.name)
                or (people.organization_id is null and excluded.organization_id is not null)
                or (excluded.is_me and not people.is_me)
             returning id, email, name",
            self.user_id,
            &emails as &[&str],
            &names as &[Option<&str>],
            &organizations as &[Option<Uuid>],
            me.as_slice(),
        )
        .fetch_all(&mut **tx)
        .await?;
        for row in written {
            self.people.insert(key_of(&row.email), (row.id, row.name));
        }
        // Rows another sync of this user wrote meanwhile come back only if they changed.
        let missing: Vec<&str> = seen
            .iter()
            .filter(|p| !self.people.contains_key(&p.key))
            .map(|p| p.key.as_str())
            .collect();
        if !missing.is_empty() {
            let found = sqlx::query!(
                "select id, email, name from people where user_id = $1 and lower(email) = any($2)",
                self.user_id,
                &missing as &[&str],
            )
            .fetch_all(&mut **tx)
            .await?;
            for row in found {
                self.people.insert(key_of(&row.email), (row.id, row.name));
            }
        }
        Ok(())
    }

    /// The organizations of the batch's company domains, created on first sight.
    async fn upsert_organizations(
        &mut self,
        tx: &mut Transaction<'_, Postgres>,
        seen: &[Seen<'_>],
    ) -> sqlx::Result<()> {
        let mut domains: Vec<&str> = seen
            .iter()
            .filter_map(|p| p.domain.as_deref())
            .filter(|d| !self.organizations.contains_key(*d))
            .collect::<HashSet<_>>()
            .into_iter()
            .collect();
        // In one order, like every other multi-row write of shared rows.
        domains.sort_unstable();
        if domains.is_empty() {
            return Ok(());
        }
        let names: Vec<String> = domains.iter().map(|d| organization_name(d)).collect();
        // `do update` (a no-op) so that existing organizations return their id too.
        let rows = sqlx::query!(
            "insert into organizations (id, user_id, domain, name)
             select gen_random_uuid(), $1, u.domain, u.name
             from unnest($2::text[], $3::text[]) as u(domain, name)
             on conflict on constraint organizations_user_domain_key
                do update set domain = excluded.domain
             returning id, domain",
            self.user_id,
            &domains as &[&str],
            names.as_slice(),
        )
        .fetch_all(&mut **tx)
        .await?;
        self.organizations
            .extend(rows.into_iter().map(|r| (r.domain, r.id)));
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
