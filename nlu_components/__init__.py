"""Custom Rasa NLU components (config.yml names them by import path). Like ``actions/``, an adapter
layer: Rasa imports live here, and no business rule does."""
