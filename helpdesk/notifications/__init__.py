"""In-app notifications for desk staff (badge, list, optional mail copy). Writes are in
`services`, reads in `selectors`; the triggers are one-line calls from the services that
see the event (assignment, mail intake, escalations, outbox). docs/desk-notifications.md."""
