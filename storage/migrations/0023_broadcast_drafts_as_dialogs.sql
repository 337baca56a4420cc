-- An announcement being written is held like every dialog, in `dialogs` (kind 'broadcast'):
-- which step it is at and the audience chosen so far. Its `broadcasts` row stays its record
-- and is simply 'writing' until it is sent, scheduled or dropped. A draft open during the
-- upgrade is carried over, so the staff member's next message or tap goes on with it.
INSERT OR REPLACE INTO dialogs (channel, chat_id, user_id, kind, state, updated_at)
SELECT 'telegram', chat_id, created_by, 'broadcast',
       json_object(
           'broadcast_id', broadcast_id,
           'step', state,
           'categories', json('[' || categories || ']'),
           'channel', json(CASE channel WHEN 1 THEN 'true' ELSE 'false' END),
           'panel', CASE WHEN state IN ('choosing', 'timing') THEN panel_message_id END,
           'album', NULL
       ),
       updated_at
FROM broadcasts
WHERE state IN ('writing', 'choosing', 'timing')
ORDER BY broadcast_id;

UPDATE broadcasts SET state = 'writing' WHERE state IN ('choosing', 'timing');
