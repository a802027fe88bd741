"""The web surfaces: the Gradio chat."""
