//! The closed sets of values Docket stores as text (each column has a CHECK constraint listing
//! them): typed in Rust, so a misspelt status or kind is a compile error, not a silent mismatch.
//!
//! They travel as PostgreSQL `text` both ways. (sqlx's derive would name a type to look up on
//! every new connection, one statement more; these encode and decode as plain strings.)

/// Declares a text-backed enum: its strings, `FromStr`/`Display`, serde, and sqlx as `text`.
macro_rules! text_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name {
            $($(#[$vmeta])* $variant),+
        }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The stored text.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text),+
                }
            }
        }

        impl std::str::FromStr for $name {
            type Err = $crate::kinds::UnknownValue;

            fn from_str(s: &str) -> Result<Self, $crate::kinds::UnknownValue> {
                match s {
                    $($text => Ok($name::$variant),)+
                    _ => Err($crate::kinds::UnknownValue { kind: stringify!($name), value: s.to_owned() }),
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
                text.parse().map_err(serde::de::Error::custom)
            }
        }

        // The API describes each as a string holding one of its values (OpenAPI `enum`).
        impl utoipa::PartialSchema for $name {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                utoipa::openapi::ObjectBuilder::new()
                    .schema_type(utoipa::openapi::Type::String)
                    .enum_values(Some([$($text),+]))
                    .into()
            }
        }

        impl utoipa::ToSchema for $name {}

        impl sqlx::Type<sqlx::Postgres> for $name {
            fn type_info() -> sqlx::postgres::PgTypeInfo {
                <&str as sqlx::Type<sqlx::Postgres>>::type_info()
            }

            fn compatible(ty: &sqlx::postgres::PgTypeInfo) -> bool {
                <&str as sqlx::Type<sqlx::Postgres>>::compatible(ty)
            }
        }

        // Bound as `text[]` by the set-based writes (one array per column).
        impl sqlx::postgres::PgHasArrayType for $name {
            fn array_type_info() -> sqlx::postgres::PgTypeInfo {
                <&str as sqlx::postgres::PgHasArrayType>::array_type_info()
            }

            fn array_compatible(ty: &sqlx::postgres::PgTypeInfo) -> bool {
                <&str as sqlx::postgres::PgHasArrayType>::array_compatible(ty)
            }
        }

        impl sqlx::Encode<'_, sqlx::Postgres> for $name {
            fn encode_by_ref(
                &self,
                buf: &mut sqlx::postgres::PgArgumentBuffer,
            ) -> Result<sqlx::encode::IsNull, sqlx::error::BoxDynError> {
                <&str as sqlx::Encode<sqlx::Postgres>>::encode(self.as_str(), buf)
            }
        }

        impl sqlx::Decode<'_, sqlx::Postgres> for $name {
            fn decode(value: sqlx::postgres::PgValueRef<'_>) -> Result<Self, sqlx::error::BoxDynError> {
                let text = <&str as sqlx::Decode<sqlx::Postgres>>::decode(value)?;
                Ok(text.parse()?)
            }
        }
    };
}

pub(crate) use text_enum;

/// A stored value outside its set (only possible if the database was edited by hand).
#[derive(Debug, thiserror::Error)]
#[error("{value:?} is not a valid {kind}")]
pub struct UnknownValue {
    pub(crate) kind: &'static str,
    pub(crate) value: String,
}

text_enum! {
    /// What a note line became.
    ItemKind {
        Action => "action",
        Decision => "decision",
        Question => "question",
    }
}

text_enum! {
    /// Whether Docket can use a linked account.
    AccountStatus {
        /// Synced.
        Active => "active",
        /// The grant is dead (`invalid_grant`, an undecryptable token): sign in again.
        NeedsReconnect => "needs_reconnect",
        /// Calendar access was not granted.
        NeedsPermission => "needs_permission",
        /// The user removed it (tokens deleted, everything else kept).
        Disconnected => "disconnected",
        /// An identity that signs in and has no calendar (OpenID Connect): never synced.
        SignInOnly => "sign_in_only",
    }
}

text_enum! {
    /// A calendar event's status as the provider reports it.
    MeetingStatus {
        Confirmed => "confirmed",
        Tentative => "tentative",
        Cancelled => "cancelled",
    }
}

text_enum! {
    /// What an API token may do.
    TokenScope {
        /// Read everything the user can read; change nothing.
        Read => "read",
        /// Also change notes and action items.
        ReadWrite => "read_write",
    }
}

text_enum! {
    /// Where an import stands: its files recorded, being written, or all written.
    ImportStatus {
        Queued => "queued",
        Running => "running",
        Done => "done",
    }
}

text_enum! {
    /// What kind of file of an imported archive.
    ImportFileKind {
        /// A meeting's note from a Docket export (front matter with `note_id`, `start`, …).
        Meeting => "meeting",
        /// A standalone note from a Docket export (front matter with `docket_id` alone).
        Note => "note",
        /// A Markdown note from any other vault.
        Markdown => "markdown",
        /// A file the import does not take (skipped when recorded).
        Other => "other",
    }
}

text_enum! {
    /// What importing one file did.
    ImportOutcome {
        /// Written as its meeting's note (a meeting without one, or with an empty one).
        Matched => "matched",
        /// Written as a new standalone note.
        Standalone => "standalone",
        /// Already in Docket with the same text: nothing written.
        Unchanged => "unchanged",
        /// Not imported, with the reason.
        Skipped => "skipped",
    }
}

text_enum! {
    /// How an imported note found its meeting.
    MatchedBy {
        DocketId => "docket_id",
        ProviderEventId => "provider_event_id",
        IcalUid => "ical_uid",
        DateTitle => "date_title",
    }
}

text_enum! {
    /// Where an imported note's date came from.
    DateSource {
        FrontMatter => "front_matter",
        FileName => "file_name",
        /// The zip entry's modification time.
        Modified => "modified",
        /// Nothing said: the day of the import.
        Today => "today",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_value_round_trips_through_its_text() {
        for kind in ItemKind::ALL {
            assert_eq!(kind.as_str().parse::<ItemKind>().unwrap(), *kind);
        }
        for status in AccountStatus::ALL {
            let json = serde_json::to_string(status).unwrap();
            assert_eq!(
                serde_json::from_str::<AccountStatus>(&json).unwrap(),
                *status
            );
        }
        assert_eq!(MeetingStatus::Cancelled.to_string(), "cancelled");
        assert!("canceled".parse::<MeetingStatus>().is_err());
    }
}
