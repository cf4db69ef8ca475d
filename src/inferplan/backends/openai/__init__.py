"""backends/openai"""
