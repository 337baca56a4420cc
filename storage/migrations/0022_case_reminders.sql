-- The staff's side of residents' reports (migration 0021): each deadline reminder is sent once,
-- and a restart does not repeat it. A column holds the deadline a reminder was sent about, so
-- a deadline staff move later brings a reminder of its own.
ALTER TABLE cases ADD COLUMN reminded_for TEXT;      -- the assignee was reminded of this deadline
ALTER TABLE cases ADD COLUMN overdue_told_for TEXT;  -- the owners were told this one had passed

-- The figures: cases received in a month, answered in a month.
CREATE INDEX cases_created ON cases (created_at);
CREATE INDEX cases_answered ON cases (answered_at);
