-- CalDAV accounts and ICS subscriptions (issue 12, parts 2-4).
--
-- The provider check is dropped and added again with the whole set of providers, so that this
-- migration and 0016 (OpenID Connect sign-in) agree whichever of the two is applied last.
alter table accounts drop constraint accounts_provider_check;
alter table accounts add constraint accounts_provider_check
    check (provider in ('google', 'microsoft', 'oidc', 'caldav', 'ics'));

-- A CalDAV account's server address, username and app password, and a subscription's URL
-- (which often embeds a secret), are sealed in account_tokens' access columns like OAuth
-- tokens, never expiring ('infinity') and with no refresh token: key rotation, disconnection
-- and account deletion then treat them exactly as they treat tokens.
comment on column account_tokens.access_ciphertext is
    'OAuth access token; for caldav and ics accounts, the sealed connection details (JSON)';
