-- The poll /sendpoll sent, brought to a Zalo resident with their next message.
--
-- /sendpoll writes the poll for every Zalo subscriber; the delivery engine sends it to those
-- inside Zalo's interaction window and skips the others ("window"). For them it waits: their
-- next message brings it, once. `poll_brought` is the poll last brought so (NULL: none), so
-- it is not brought again with every message after. /forget deletes the row with the rest.
ALTER TABLE zalo_people ADD COLUMN poll_brought INTEGER;
