-- Sign-in with any OpenID Connect provider (OIDC_ISSUER). Such an identity is an account of
-- provider 'oidc' whose subject is the issuer and the `sub` claim joined by one space (an
-- issuer is a URL, which holds no space): the same `sub` from another issuer is another
-- account, and so another user. It only signs in; it has no calendar (status 'sign_in_only'),
-- so sync never claims it, and its user links Google or Microsoft on the settings page.
--
-- The provider set is written out whole, CalDAV and ICS included (migration 0017 adds those
-- accounts), so that both migrations leave the same constraint whichever is applied last.
alter table accounts drop constraint accounts_provider_check;
alter table accounts add constraint accounts_provider_check
    check (provider in ('google', 'microsoft', 'oidc', 'caldav', 'ics'));

alter table accounts drop constraint accounts_status_check;
alter table accounts add constraint accounts_status_check
    check (status in ('active', 'needs_reconnect', 'needs_permission', 'disconnected', 'sign_in_only'));
