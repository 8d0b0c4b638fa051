"""The reporting side: reads tracked outputs, never imports training code."""
