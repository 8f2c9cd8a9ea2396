-- Schema 9: a fingerprint is the identity; a name is only what people call it.
--
-- Before, a Hello from any new key that used a contact's name marked that contact "changed"
-- (trust 2) and blocked it: a stranger could cut anyone off by taking their name. A contact's
-- key cannot change under its fingerprint, so "changed" goes. A new identity that uses a name
-- a contact already has is a namesake of that contact: a separate, unverified contact that
-- never captures the name (resolving "bob" finds the first bob) and never inherits trust.
-- Replacing a contact by a new key (bob reinstalled) is an explicit step (`sotto replace`),
-- after the new key's safety number was confirmed; the old contact then becomes the namesake.
ALTER TABLE contacts ADD COLUMN namesake_of TEXT;  -- fingerprint of the contact it shares a name with

-- What was "changed" was decided by a stranger's Hello: back to unverified, and the user
-- compares safety numbers again. The identities that took a name stay as the contacts they are.
UPDATE contacts SET trust = 0, offered_fingerprint = NULL, offered_key = NULL WHERE trust = 2;
