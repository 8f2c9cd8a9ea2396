-- Schema 11: a newcomer gets our sender key as it stood when the roster admitted it.
--
-- A join no longer rotates anyone's sender key. Each member instead hands the newcomer its key's
-- chain state of that moment; the chain only ratchets forward, so the newcomer opens what is sent
-- from then on and nothing before (doc/security.md, Channels). The state is captured when the
-- roster is applied and kept here until it is queued, because the 1:1 session it travels over may
-- come later, and by then the chain has moved on past messages the newcomer must read.
ALTER TABLE channel_members ADD COLUMN key_offer BLOB;  -- NULL: the key from iteration 0 (own_key)
