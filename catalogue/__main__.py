"""``python -m catalogue``: print the traceability table and write catalogue/TRACEABILITY.md."""

from catalogue import TRACEABILITY, traceability_markdown

if __name__ == "__main__":
    text = traceability_markdown()
    TRACEABILITY.write_text(text)
    print(text, end="")
