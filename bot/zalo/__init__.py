"""The Zalo front end: the commune's Official Account, over the same services as Telegram.

`messages` holds the values the parts share (an event from the webhook, a message to send);
`webhook` checks and parses Zalo's signed events, `front` turns each into the conversation's
replies sent inside the interaction window, `api` sends a message (`ZaloClient`, `ZaloError`
with its kinds in `errors`), `tokens` keeps the access token fresh and the single-use refresh
token safe, `oa` holds them together as `Services.zalo`. See docs/architecture.md, "Adding a
front end".
"""
