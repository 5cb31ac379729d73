"""tudui: the small helper package every lesson of this course imports.

小土堆课程的公共工具包: paths, devices, seeding, command-line flags, TensorBoard
writers, friendly errors, data sets, the course's model and the training engine.
Each lesson keeps what it teaches and imports the rest from here.
"""

__all__ = ["cli", "data", "device", "engine", "errors", "fast", "hymenoptera", "inspect_model",
           "models", "paths", "recipes", "scratch", "seeding", "tb"]
