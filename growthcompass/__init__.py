"""Growth Compass: settings and the shared database infrastructure."""
