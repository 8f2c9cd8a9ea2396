-- Schema 10: a channel's id is bound to its admin, and a channel can wait as an invitation.
--
-- id = SHA-256("sotto channel id v1" | admin identity key | id_nonce), first 16 bytes: every
-- roster carries the nonce, so a member cannot present a roster of the real channel with itself
-- as admin (src/core/channel_roster.h). Channels made before this schema have random ids and
-- no nonce; their members refuse further roster changes, so such a channel is made again.
ALTER TABLE channels ADD COLUMN id_nonce BLOB;
-- state 4: invited — a roster from an admin we have not verified, waiting for the user to
-- accept (`sotto channel accept`) or decline it; nothing is sent to the channel meanwhile.
