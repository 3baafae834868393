"""Icons and sample images bundled with the app."""
