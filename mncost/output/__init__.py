"""What a user sees and keeps: terminal tables, csv and json, reports, figures, and the one safe file writer."""
