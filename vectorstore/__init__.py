"""Storage and search of passages: Chroma, a Chinese lexical index, and their fusion."""
