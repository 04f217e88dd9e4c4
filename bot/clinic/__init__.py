"""The clinic workspace: accounts and clinics, sign-in sessions, the triage queue, summaries,
decisions and My Statistics. Plain Python; bot/clinic/web.py mounts the pages on bot.web."""
