"""inferplan: budget-optimal LLM inference.

Profile a model on a calibration set, fit accuracy-versus-samples curves, plan how
many samples to draw at which temperatures and when to stop, then run the plan.
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
