"""The offline demo: an evolving sample news site about the Valdai residence claim."""
