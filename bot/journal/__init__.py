"""Private reflections on daily prompts ("Reflect privately" and `/journal`)."""
