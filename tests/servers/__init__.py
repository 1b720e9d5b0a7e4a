"""Real network servers on 127.0.0.1 that tests and the bench start and stop."""
