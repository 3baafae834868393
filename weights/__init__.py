"""The trained networks drawcnn ships with (installed as the package ``drawcnn.weights``)."""
