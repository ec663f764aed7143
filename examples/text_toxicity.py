"""Which words, alone and together, make a comment toxic? (needs `pip install --no-deps toxic-comment-classifier`)

PYTHONPATH=src python examples/text_toxicity.py
"""

from spectrex import explain_text

text = "you are not an idiot, you are a wonderful person"
result = explain_text(text, "toxicity", method="auto", holdout=500)
print(f"held-out R² {result.metadata['faithfulness']:.3f} with {result.metadata['queries']} queries")
for term in result.top(8):
    print(f"{term.value:+8.3f}  {' × '.join(term.labels)}")
