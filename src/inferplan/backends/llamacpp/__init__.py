"""backends/llamacpp"""
