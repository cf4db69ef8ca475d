"""``inferplan serve``: an OpenAI-compatible HTTP endpoint that answers every request with a plan."""
