"""Real-browser checks: Debian's Chromium, driven by Playwright, against notebooks served by Voila."""
