"""weike's built-in plugins: each module is one capability, registered like any external plugin."""
