//! Demo mode's sample notes: after a demo account's first sync, a few past meetings get the
//! notes their owner might have taken, written in the note grammar and saved through the same
//! code as typed notes, so every page has something to show.

use sqlx::PgPool;
use uuid::Uuid;

use crate::notes::{self, Target};

const SAMPLES: [(&str, &str); 3] = [
    (
        "Globex renewal kick-off",
        "Renewal for 2027: Hank wants a multi-year deal, Frank is worried about the price.\n\n\
         - [ ] @hank send last year's usage report due:{in2}\n\
         - [ ] @hedy prepare two pricing options by Friday\n\
         !! @ada loop in legal about the data-processing addendum\n\
         Decision: offer a 2-year term with a 5% discount cap\n\
         ?? do they still need the on-premise connector\n",
    ),
    (
        "Ada / Charles 1:1",
        "Charles is happy on the platform team; wants more design work.\n\n\
         - [x] @charles share the RFC draft for the job queue\n\
         - [ ] @charles pair with Mary on the migration plan due:{ago1}\n\
         - [ ] @ada find a conference talk slot for Charles next week\n\
         !d Charles leads the job-queue redesign\n",
    ),
    (
        "Engineering stand-up",
        "- Katherine blocked on staging credentials\n\n\
         !! @katherine ping infra for staging access today\n\
         ?? should we move stand-up to 9:45\n\
         !a no, keep 9:30 for the US folks\n",
    ),
];

/// Seeds the sample notes once, for a user who has none yet.
pub async fn seed_notes(db: &PgPool, user_id: Uuid, time_zone: &str) -> sqlx::Result<()> {
    let has_notes: bool = sqlx::query_scalar!(
        r#"select exists(select 1 from notes where user_id = $1) as "exists!""#,
        user_id
    )
    .fetch_one(db)
    .await?;
    if has_notes {
        return Ok(());
    }
    let today = chrono::Utc::now().date_naive();
    for (title, template) in SAMPLES {
        let meeting: Option<Uuid> = sqlx::query_scalar!(
            "select id from meetings where user_id = $1 and title = $2 and starts_at < now()
               and status <> 'cancelled' order by starts_at desc limit 1",
            user_id,
            title
        )
        .fetch_optional(db)
        .await?;
        let Some(meeting) = meeting else { continue };
        let body = template
            .replace("{in2}", &(today + chrono::Duration::days(2)).to_string())
            .replace("{ago1}", &(today - chrono::Duration::days(1)).to_string());
        notes::save(
            db,
            user_id,
            time_zone,
            Target::Meeting(meeting),
            "",
            &body,
            0,
        )
        .await?;
    }
    Ok(())
}
