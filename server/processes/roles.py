"""The roles ``stx serve ROLE`` runs, in the order the supervisor starts them."""

ROLES = ("core", "gateway", "projector", "surveillance", "feed", "rest")
