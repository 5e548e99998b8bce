"""Mail intake: parsing (pure), threading keys (pure), file sources and IMAP intake.

`parse.parse_message` turns raw RFC 822 bytes into plain data with no ORM; the services in
`helpdesk.services.mail` store and thread it."""
