"""Running the bot as a service: metrics, health, backups, the run lock, restore and doctor.

Each module is one concern with a narrow seam to the rest: `metrics` and `health` read the
services, `server` serves them over HTTP, `backups` is a job, `runlock` marks the running bot,
`restore` and `doctor` are commands of their own.
"""
