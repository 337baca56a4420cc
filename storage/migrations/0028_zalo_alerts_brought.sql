-- An alert the delivery engine skipped for Zalo's rules (the resident's window closed, or its
-- messages were used up, between the alert being written and its turn to go) is brought with
-- the resident's next message, like news missed outside the window (bot.zalo.held). This is
-- the newest outbox row of such an alert already brought to them, so each is brought once.
ALTER TABLE zalo_people ADD COLUMN alerts_brought INTEGER NOT NULL DEFAULT 0;
