"""Channel adapters: plain Python, no ORM."""
