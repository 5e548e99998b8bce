"""Mail channel: intake (the one place an email becomes an inquiry), IMAP, outbox, web form, mail API."""
