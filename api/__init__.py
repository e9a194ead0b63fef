"""The Flask API: REST and WebSocket over the workers' Redis state."""
